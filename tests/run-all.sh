#!/usr/bin/env bash
# run-all.sh - `make test`: build, unit tests, KVM tests, one total at the end.
#
# The unit tests run natively. The KVM tests run where a /dev/kvm is: directly
# when this machine has a usable one, otherwise in the QEMU test bed
# (scripts/kvm-testbed). A KVM test that needs what this machine's back end
# lacks (`kvmrun info`: 32-bit paging on kvm_pvm, 1 GiB pages...) is deferred
# and then run in the test bed within the same run, never skipped. In CI, or
# with KVMRUN_TESTBED_SMOKE=1, a smoke part also goes through the test bed
# even when /dev/kvm is here, so both paths stay green. Both the normal and
# the ASan+UBSan builds are tested, and the threading KVM tests with
# ThreadSanitizer (build-tsan, tests/kvm/tsan.sh).
#
# Every part is accounted for by tests/lib/part.sh: its runner's exit status,
# its summary, and the number of tests it declares (--list) must agree, so a
# crash, a sanitizer report or a filter cannot shrink the count unseen.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/part.sh

# make test runs everything: a filter would make the count a lie.
for var in TEST_FILTER KVMRUN_TEST_ONLY KVMRUN_DEFER_FILE FUZZ_NAMES; do
	if [ -n "${!var:-}" ]; then
		echo "run-all: $var is set; make test runs every test (unset it, or run that part by hand)" >&2
		exit 2
	fi
done

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
JOBS=$(nproc 2>/dev/null || echo 2)

note() { printf '\n== %s ==\n' "$*"; }

# One run through scripts/kvm-testbed: the suites inside count themselves;
# the run itself counts as one more test, failed if it did not end cleanly
# (a hang, a test bed failure), so a lost half of the suite cannot go unnoticed.
kvm_run() {
	local name=$1 rc=0
	shift
	scripts/kvm-testbed "$@" || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "result $name: 1 passed, 0 failed, 0 deferred"
	else
		echo "FAIL $name: the KVM test run ended with status $rc"
		echo "result $name: 0 passed, 1 failed, 0 deferred"
	fi
}

# The test bed's parts (QEMU, a kernel: scripts/setup does not fetch them)
# are installed before its first run; quick when they are there.
testbed_ready() {
	if ! KVMRUN_TESTBED=emulated scripts/kvm-testbed check >/dev/null 2>&1; then
		note "installing the QEMU test bed (scripts/kvm-testbed setup)"
		scripts/kvm-testbed setup
	fi
	# gdb for the --gdb tests, without Python (which the test bed lacks): see scripts/testbed-gdb.
	if [ -z "${KVMRUN_GDB:-}" ]; then
		gdb_dir=$(scripts/testbed-gdb) || return 1
		payload+=(--payload "$gdb_dir")
		export KVMRUN_GDB=$gdb_dir/usr/bin/gdb
	fi
	linux_kernel_copied
}

# The Linux boot test boots the test bed's kernel, which make copies into each
# build (the test bed gets the builds as payload); on a fresh machine the
# build ran before the test bed was there.
linux_kernel_copied() {
	make -s build/linux/vmlinuz && make -s SAN=1 build-san/linux/vmlinuz
}

builds=(build build-san)
deferred=build/deferred-kvm-tests
payload=(--payload "$PWD/build" --payload "$PWD/build-san" --payload "$PWD/tests")
nfuzz=$(ls tests/fuzz/fuzz_*.c | grep -vc 'fuzz_common.c$')

{
	note "build"
	run_step build make -j"$JOBS" all
	run_step build-san make -j"$JOBS" SAN=1 lib tests build-san/kvmrun
	run_step build-tsan make -j"$JOBS" TSAN=1 lib build-tsan/kvm-libtest
	run_step layers sh scripts/check-layers.sh

	note "unit tests"
	for b in "${builds[@]}"; do
		run_part "unit/$b" "$("$b/unit-tests" --list | grep -c .)" "$b/unit-tests"
	done
	note "unit tests under valgrind"
	run_step valgrind valgrind -q --error-exitcode=1 --leak-check=full build/unit-tests

	# The mutants list quotes the source: it must still apply (make mutants runs them).
	run_step mutants-apply python3 tests/mutants/run.py --check

	note "the library as others link it: exports, soname, make install, pkg-config"
	run_part install "$(sh tests/install/check.sh --list | grep -c .)" sh tests/install/check.sh build

	run_part testbed "$(python3 tests/testbed/run.py --list | grep -c .)" python3 tests/testbed/run.py

	note "fuzzers (libFuzzer, ASan + UBSan): the corpora, then a short run each"
	run_part fuzz "$nfuzz" make -s fuzz-smoke

	note "KVM tests"
	rm -rf "$deferred"
	# Where this back end runs Linux itself, the boot test needs the kernel here too.
	[ -f build/linux/vmlinuz ] && [ -f build-san/linux/vmlinuz ] || testbed_ready
	# kvmrun info opens /dev/kvm, checks API 12 and the capabilities kvmrun needs.
	if [ "${KVMRUN_TESTBED:-}" != emulated ] && build/kvmrun info >"$log/info" 2>&1; then
		echo "(directly on this machine's /dev/kvm: $(sed -n 's/^back end: //p' "$log/info"))"
		sed -n 's/^lacks:/(this back end lacks:/p' "$log/info" | sed 's/$/)/'
		kvm_run kvm-run/native --native --timeout 1200 -- \
			sh tests/kvm/suite.sh --defer "$PWD/$deferred" "${builds[@]}"
		note "the threading tests under ThreadSanitizer"
		sh tests/kvm/tsan.sh build-tsan
		if [ -n "$(cat "$deferred"/* 2>/dev/null)" ]; then
			note "KVM tests this back end cannot run, in the QEMU test bed"
			testbed_ready
			kvm_run kvm-run/deferred --emulated --timeout 900 "${payload[@]}" -- \
				sh tests/kvm/suite.sh --only "$PWD/$deferred" "${builds[@]}"
		fi
		if [ "${CI:-}" = true ] || [ "${KVMRUN_TESTBED_SMOKE:-}" = 1 ]; then
			note "KVM smoke tests through the QEMU test bed"
			testbed_ready
			kvm_run kvm-run/smoke --emulated --timeout 900 "${payload[@]}" -- \
				sh tests/kvm/suite.sh --smoke build
		fi
	else
		echo "(in the QEMU test bed: no usable /dev/kvm here)"
		testbed_ready
		kvm_run kvm-run/emulated --emulated --timeout 1500 "${payload[@]}" -- \
			sh tests/kvm/suite.sh "${builds[@]}"
		note "the threading tests under ThreadSanitizer, in the QEMU test bed"
		kvm_run kvm-run/tsan --emulated --timeout 600 --payload "$PWD/build-tsan" \
			--payload "$PWD/tests" -- sh tests/kvm/tsan.sh build-tsan
	fi
} 2>&1 | tee "$log/all.out"

# The parts' result lines add up to the total.
read -r passed failed < <(awk '/^result [^ ]+: [0-9]+ passed, [0-9]+ failed, [0-9]+ deferred$/ {
	p += $3; f += $5 } END { print p + 0, f + 0 }' "$log/all.out")

# Each part must have reported: one that never started is a failure, not a pass.
expect=(build build-san build-tsan layers unit/build unit/build-san valgrind mutants-apply install
	testbed fuzz kvm-lib-tsan/build-tsan/)
for b in "${builds[@]}"; do
	expect+=("kvm-lib/$b/" "kvm/$b/")
	# Each deferred test must have run in the test bed.
	for part in kvm-lib kvm; do
		[ -s "$deferred/$b.$part" ] && expect+=("$part/$b/emulated")
	done
done
for part in "${expect[@]}"; do
	if ! grep -q "^result $part" "$log/all.out"; then
		echo "FAIL $part: these tests did not run (see above)"
		failed=$((failed + 1))
	fi
done

# Where the KVM tests ran, by back end.
echo
echo "KVM tests by where they ran (passed + failed):"
awk '/^result kvm(-lib)?\/[^ ]+\/[a-z]+: / {
	split($2, a, "/"); sub(":", "", a[3]); n[a[3]] += $3 + $5 }
	END { for (w in n) printf "  %s: %d\n", w, n[w] }' "$log/all.out" | sort

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
