#!/bin/sh
# suite.sh - every test that needs /dev/kvm, for one or more builds.
# Runs natively or inside the QEMU test bed (busybox sh), from the project root.
# Usage: sh tests/kvm/suite.sh BUILD_DIR...   (e.g. build build-san)
# Each part prints its own "NAME: N passed, N failed" line; a part that dies
# before printing one is reported here as a failure, so nothing is lost.

failures=0

run_part() {
	name=$1
	shift
	out=$(mktemp)
	# Stream the output (a hang must show where it happened) and keep a copy.
	{ "$@" 2>&1; echo "$?" >"$out.status"; } | tee "$out"
	status=$(cat "$out.status")
	rm -f "$out.status"
	if ! grep -q "^$name: [0-9]* passed, [0-9]* failed\$" "$out"; then
		echo "FAIL $name: ended with status $status before printing its summary"
		echo "$name: 0 passed, 1 failed"
	fi
	[ "$status" -eq 0 ] || failures=$((failures + 1))
	rm -f "$out"
}

[ -e /dev/kvm ] || { echo "FAIL kvm: /dev/kvm is missing"; echo "kvm: 0 passed, 1 failed"; exit 1; }

for build in "$@"; do
	echo "== KVM tests with $build/ =="
	# The library's own tests; sanitizer reports end the process with an error.
	run_part kvm-lib timeout 300 "$build/kvm-libtest"
	# LeakSanitizer starts a thread at exit, which the seccomp filter (rightly)
	# kills; leaks are checked by the unit tests and valgrind instead.
	run_part kvm env ASAN_OPTIONS=detect_leaks=0 KVMRUN="$build/kvmrun" GUESTS=build/guests \
		sh tests/kvm/run-tests.sh
done
[ "$failures" -eq 0 ]
