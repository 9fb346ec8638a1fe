#!/usr/bin/env bash
# run.sh MODE NAME... - run the libFuzzer harnesses that `make fuzz-build` made
# (called by mk/fuzz.mk; FUZZ_BUILD, FUZZ_SECONDS, FUZZ_SMOKE_SECONDS come
# from there, FUZZ_ARGS adds libFuzzer flags).
#   smoke  every file of tests/fuzz/corpus/NAME once (regression), then
#          FUZZ_SMOKE_SECONDS of fuzzing on a scratch copy of it; prints
#          "ok   fuzz/NAME" or "FAIL fuzz/NAME", then "fuzz: N passed, N failed"
#   fuzz   FUZZ_SECONDS of fuzzing on build-fuzz/corpus/NAME (seeded from the
#          committed corpus, kept between runs); the same summary lines
#   merge  add the inputs of build-fuzz/corpus/NAME that reach new coverage
#          to tests/fuzz/corpus/NAME
# Crash inputs go to build-fuzz/artifacts/NAME-crash-*, logs to build-fuzz/logs/.
set -uo pipefail
cd "$(dirname "$0")/../.."

B=${FUZZ_BUILD:-build-fuzz}
mode=${1:?usage: run.sh smoke|fuzz|merge NAME...}
shift
read -r -a extra <<<"${FUZZ_ARGS:-}"
mkdir -p "$B/artifacts" "$B/logs"

# The largest input worth trying for each harness (see its header comment).
max_len() {
	case $1 in
	elf) echo 65536 ;;
	raw) echo 8192 ;;
	multiboot) echo 16384 ;;
	pagewalk) echo $((19 + 65536)) ;;
	hypercall) echo 1024 ;;
	bzimage) echo 65536 ;;
	gdb) echo 20000 ;;
	cli_numbers) echo 64 ;;
	snapshot) echo 65536 ;;
	*) echo 4096 ;;
	esac
}

# Run the fuzzer on corpus dir $3 for $2 seconds; log to $4. The run stops
# itself; `timeout` is the hard bound should it hang outside an input.
fuzz_for() {
	local name=$1 secs=$2 dir=$3 log=$4
	timeout -k 10 $((secs + 120)) "$B/fuzz_$name" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=4096 -max_len="$(max_len "$name")" -print_final_stats=1 \
		-artifact_prefix="$B/artifacts/$name-" "${extra[@]}" "$dir" >"$log" 2>&1
}

# One line of numbers from a libFuzzer log: the last status line and final stats.
stats() {
	local log=$1 line runs eps
	line=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	printf '     %s runs, %s exec/s, %s\n' "${runs:-?}" "${eps:-?}" \
		"$(sed -E 's/^#[0-9]+[[:space:]]+[A-Z]+[[:space:]]+//; s/ +lim:.*//; s/ +exec\/s:.*//' <<<"$line")"
}

passed=0
failed=0
report() {
	if [ "$2" -eq 0 ]; then
		echo "ok   fuzz/$1"
		passed=$((passed + 1))
	else
		echo "FAIL fuzz/$1"
		failed=$((failed + 1))
	fi
}

for name in "$@"; do
	bin=$B/fuzz_$name
	seeds=tests/fuzz/corpus/$name
	mkdir -p "$seeds"
	case $mode in
	smoke)
		log=$B/logs/$name.smoke.log
		rc=0
		# Regression: each committed input once (none of them may crash).
		shopt -s nullglob
		files=("$seeds"/*)
		shopt -u nullglob
		if [ ${#files[@]} -gt 0 ]; then
			timeout -k 10 300 "$bin" -timeout=10 -rss_limit_mb=4096 \
				-artifact_prefix="$B/artifacts/$name-" "${files[@]}" >"$log.regress" 2>&1 || rc=$?
		fi
		if [ "$rc" -ne 0 ]; then
			echo "     fuzz/$name: a committed input fails (${#files[@]} tried):"
			grep -E 'Running:|ERROR|invariant|SUMMARY' "$log.regress" | tail -n 6 | sed 's/^/       /'
		else
			rm -rf "$B/smoke-corpus/$name"
			mkdir -p "$B/smoke-corpus/$name"
			cp -R "$seeds"/. "$B/smoke-corpus/$name"/
			fuzz_for "$name" "${FUZZ_SMOKE_SECONDS:-10}" "$B/smoke-corpus/$name" "$log" || rc=$?
			if [ "$rc" -ne 0 ]; then
				tail -n 40 "$log" | sed 's/^/       /'
				ls -t "$B/artifacts/$name-"* 2>/dev/null | head -n 1 | sed 's/^/     input: /'
			else
				stats "$log"
			fi
		fi
		report "$name" "$rc"
		;;
	fuzz)
		log=$B/logs/$name.fuzz.log
		dir=$B/corpus/$name
		mkdir -p "$dir"
		cp -R -n "$seeds"/. "$dir"/ 2>/dev/null
		rc=0
		fuzz_for "$name" "${FUZZ_SECONDS:-300}" "$dir" "$log" || rc=$?
		if [ "$rc" -ne 0 ]; then
			tail -n 40 "$log" | sed 's/^/       /'
			ls -t "$B/artifacts/$name-"* 2>/dev/null | head -n 1 | sed 's/^/     input: /'
		else
			stats "$log"
		fi
		report "$name" "$rc"
		;;
	merge)
		before=$(find "$seeds" -type f | wc -l)
		"$bin" -merge=1 -max_len="$(max_len "$name")" -rss_limit_mb=4096 \
			"$seeds" "$B/corpus/$name" >"$B/logs/$name.merge.log" 2>&1 ||
			{ tail -n 20 "$B/logs/$name.merge.log"; exit 1; }
		echo "fuzz/$name: corpus $before -> $(find "$seeds" -type f | wc -l) files"
		;;
	*)
		echo "run.sh: unknown mode '$mode' (smoke, fuzz or merge)" >&2
		exit 2
		;;
	esac
done

if [ "$mode" != merge ]; then
	echo "fuzz: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
fi
