#!/usr/bin/env bash
# run-all.sh - `make test`: build, unit tests, KVM tests, one total at the end.
#
# The unit tests run natively. The KVM tests run where a /dev/kvm is: directly
# when this machine has a usable one, otherwise in the QEMU test bed
# (scripts/kvm-testbed). In CI, or with KVMRUN_TESTBED_SMOKE=1, a smoke part
# also goes through the test bed even when /dev/kvm is here, so both paths
# stay green. Both the normal and the ASan+UBSan builds are tested.
set -uo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
JOBS=$(nproc 2>/dev/null || echo 2)

note() { printf '\n== %s ==\n' "$*"; }

# One run of the KVM suite: its tests count themselves; the run itself counts
# as one more test, failed if it did not end cleanly (a hang, a test bed
# failure, a part that died), so a lost half of the suite cannot go unnoticed.
kvm_run() {
	local rc=0
	scripts/kvm-testbed "$@" || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "kvm-run: 1 passed, 0 failed"
	else
		echo "FAIL kvm-run: the KVM test run ended with status $rc"
		echo "kvm-run: 0 passed, 1 failed"
	fi
}

# A step that is not a test runner still counts: one test, passed or failed.
step() {
	local name=$1
	shift
	if "$@" >"$log/step.out" 2>&1; then
		echo "ok   $name"
		echo "$name: 1 passed, 0 failed"
	else
		tail -n 40 "$log/step.out"
		echo "FAIL $name"
		echo "$name: 0 passed, 1 failed"
	fi
}

{
	note "build"
	step build make -j"$JOBS" all
	step build-san make -j"$JOBS" SAN=1 lib tests build-san/kvmrun

	note "unit tests"
	build/unit-tests || true
	build-san/unit-tests || true
	note "unit tests under valgrind"
	step valgrind valgrind -q --error-exitcode=1 --leak-check=full build/unit-tests

	note "fuzzers (libFuzzer, ASan + UBSan): the corpora, then a short run each"
	make -s fuzz-smoke || true

	note "KVM tests"
	payload=(--payload "$PWD/build" --payload "$PWD/build-san" --payload "$PWD/tests")
	# kvmrun info opens /dev/kvm and checks API 12 and the capabilities kvmrun needs.
	if [ "${KVMRUN_TESTBED:-}" != emulated ] && build/kvmrun info >/dev/null 2>&1; then
		echo "(directly on this machine's /dev/kvm)"
		kvm_run --native --timeout 1200 -- sh tests/kvm/suite.sh build build-san
		if [ "${CI:-}" = true ] || [ "${KVMRUN_TESTBED_SMOKE:-}" = 1 ]; then
			note "KVM smoke tests through the QEMU test bed"
			kvm_run --emulated --timeout 900 "${payload[@]}" -- sh tests/kvm/suite.sh build
		fi
	else
		echo "(in the QEMU test bed: no usable /dev/kvm here)"
		kvm_run --emulated --timeout 1500 "${payload[@]}" -- sh tests/kvm/suite.sh build build-san
	fi
} 2>&1 | tee "$log/all.out"

# The suites' summary lines ("NAME: N passed, N failed") add up to the total.
read -r passed failed < <(awk '/^[a-z-]+: [0-9]+ passed, [0-9]+ failed$/ { p += $2; f += $4 }
	END { print p + 0, f + 0 }' "$log/all.out")
# Each part must have reported: one that never started is a failure, not a pass.
for part in unit kvm-lib kvm fuzz; do
	if ! grep -q "^$part: " "$log/all.out"; then
		echo "FAIL $part: these tests did not run (see above)"
		failed=$((failed + 1))
	fi
done
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
