#!/bin/sh
# tsan.sh - the KVM library's threading tests (test_threads.c: stops from any
# thread; test_smp.c: several vCPUs) built with ThreadSanitizer: a data race
# or lock-order report fails the test that caused it (halt_on_error, and the
# tests' children pass their stderr up). Runs natively or in the QEMU test
# bed (busybox sh), from the project root; needs /dev/kvm.
#
#   make TSAN=1 lib build-tsan/kvm-libtest
#   sh tests/kvm/tsan.sh [BUILD_DIR]    (default build-tsan)
#   sh tests/kvm/tsan.sh --list         the tests it runs
#
# Reports through tests/lib/part.sh: "result kvm-lib-tsan/BUILD/WHERE: ...".
. "$(dirname "$0")/../lib/part.sh"

list_only=
if [ "${1-}" = --list ]; then
	list_only=1
	shift
fi
build=${1:-build-tsan}
where=${KVMRUN_TESTBED_KIND:-native}

names=$(mktemp) || exit 1
trap 'rm -f "$names"' EXIT INT TERM
"$build/kvm-libtest" --list | grep -E '^(threads|smp)_' >"$names"
if [ -n "$list_only" ]; then
	cat "$names"
	exit 0
fi
echo "== the threading tests under ThreadSanitizer, $build/ ($where) =="
run_part "kvm-lib-tsan/$(basename "$build")/$where" "$(grep -c . "$names")" \
	env TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
	KVMRUN_TEST_ONLY="$names" timeout 300 "$build/kvm-libtest"
