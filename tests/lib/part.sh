# SPDX-License-Identifier: MIT
# part.sh - sourced by tests/run-all.sh (bash) and tests/kvm/suite.sh (busybox
# sh): run one part of the suite and account for it so that nothing is lost.
#
#   run_part NAME EXPECTED COMMAND [ARG]...
#
# COMMAND is a test runner that prints "SUITE: P passed, F failed" (with
# ", D deferred" when some of its tests must run elsewhere) as its summary.
# Its output streams through (a hang must show where it happened). Then one
# line "result NAME: P passed, F failed, D deferred" says what counts, where
# these add failures:
#   - no summary line (the runner crashed, a sanitizer stopped it): 1 failed;
#   - a non-zero exit status although the summary says 0 failed;
#   - EXPECTED (the number of tests the runner declares, from its --list) is
#     not P + F + D: a filter, a crash after the summary, a lost test.
# Returns non-zero if the part failed.

# A step that is no test runner (a build, valgrind) counts as one test.
run_step() {
	step_name=$1
	shift
	step_out=$(mktemp)
	if "$@" >"$step_out" 2>&1; then
		echo "ok   $step_name"
		echo "result $step_name: 1 passed, 0 failed, 0 deferred"
		rm -f "$step_out"
		return 0
	fi
	tail -n 40 "$step_out"
	echo "FAIL $step_name"
	echo "result $step_name: 0 passed, 1 failed, 0 deferred"
	rm -f "$step_out"
	return 1
}

run_part() {
	part_name=$1 part_expected=$2
	shift 2
	part_out=$(mktemp)
	{
		"$@" 2>&1
		echo "$?" >"$part_out.status"
	} | tee "$part_out"
	part_status=$(cat "$part_out.status" 2>/dev/null || echo 255)
	summary=$(grep -E '^[a-z][a-z0-9-]*: [0-9]+ passed, [0-9]+ failed(, [0-9]+ deferred)?$' \
		"$part_out" | tail -n 1)
	rm -f "$part_out" "$part_out.status"
	p=0 f=0 d=0
	if [ -z "$summary" ]; then
		echo "FAIL $part_name: ended with status $part_status before printing its summary"
		f=1
	else
		p=$(echo "$summary" | sed 's/^[^:]*: \([0-9]*\) passed.*/\1/')
		f=$(echo "$summary" | sed 's/.* \([0-9]*\) failed.*/\1/')
		case $summary in
		*deferred) d=$(echo "$summary" | sed 's/.* \([0-9]*\) deferred$/\1/') ;;
		esac
		if [ "$part_status" -ne 0 ] && [ "$f" -eq 0 ]; then
			echo "FAIL $part_name: exited with status $part_status, yet its summary says 0 failed"
			f=1
		fi
		if [ -n "$part_expected" ] && [ $((p + f + d)) -ne "$part_expected" ]; then
			echo "FAIL $part_name: accounted for $((p + f + d)) tests of the $part_expected it declares"
			f=$((f + 1))
		fi
	fi
	echo "result $part_name: $p passed, $f failed, $d deferred"
	[ "$f" -eq 0 ]
}
