#!/bin/sh
# SPDX-License-Identifier: MIT
# run-tests.sh - run the example guests under kvmrun on a real /dev/kvm.
#
#   sh tests/kvm/run-tests.sh
#   scripts/kvm-testbed --payload "$PWD" -- sh tests/kvm/run-tests.sh   (no /dev/kvm here)
#
# Environment:
#   KVMRUN       the kvmrun binary (default: build/kvmrun of this tree)
#   GUESTS       the built example guests (default: build/guests of this tree; `make guests`)
#   TEST_FILTER  run only the tests whose name contains this string
#   KVMRUN_TEST_ONLY   a file: run exactly the tests named there, one per line
#   KVMRUN_DEFER_FILE  a file: a test that needs what this KVM back end lacks
#                (NEEDS, from the `lacks:` line of `kvmrun info`) is appended
#                there, for tests/kvm/suite.sh to run in the QEMU test bed;
#                without it such a test fails: there is nowhere else to run it
#
#   sh tests/kvm/run-tests.sh --list   prints every test's name
#
# Plain POSIX sh using busybox applets only (the test bed has busybox and
# nothing else): timeout, grep, sed, cmp, cat, mktemp, dd.
# Each test runs `timeout 30 kvmrun ARGS` and checks the exit status, the
# exact standard output (the guest's) and strings in standard error
# (kvmrun's). Prints `ok   kvm/NAME` or `FAIL kvm/NAME: why` with what was
# captured, then `kvm: N passed, N failed`; exits 1 if any failed.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KVMRUN=${KVMRUN:-$ROOT/build/kvmrun}
GUESTS=${GUESTS:-$ROOT/build/guests}
TEST_FILTER=${TEST_FILTER:-}
KVMRUN_TEST_ONLY=${KVMRUN_TEST_ONLY:-}
KVMRUN_DEFER_FILE=${KVMRUN_DEFER_FILE:-}
TIMEOUT=30
LIST=
[ "${1-}" = --list ] && LIST=1

# kvmrun's own exit statuses (src/cli/cli.h)
TIMEOUT_STATUS=124
VMM_ERROR=125
GUEST_CRASH=126

passed=0
failed=0
deferred=0

T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

if [ -n "$KVMRUN_TEST_ONLY" ] && [ ! -r "$KVMRUN_TEST_ONLY" ]; then
	echo "FAIL kvm: KVMRUN_TEST_ONLY=$KVMRUN_TEST_ONLY cannot be read"
	echo "kvm: 0 passed, 1 failed"
	exit 1
fi
: >"$T/seen"
if [ ! -x "$KVMRUN" ]; then
	echo "kvm: no kvmrun at $KVMRUN (run make, or set KVMRUN)"
	exit 1
fi
if [ ! -f "$GUESTS/hello.elf" ]; then
	echo "kvm: no guests in $GUESTS (run make guests, or set GUESTS)"
	exit 1
fi
[ -n "$LIST" ] || [ -e /dev/kvm ] || echo "# note: there is no /dev/kvm here: expect every guest to fail"

# What this KVM back end cannot do (`kvmrun info`, "lacks: paged32 1g-pages ...").
LACKS=
[ -n "$LIST" ] || LACKS=" $("$KVMRUN" info 2>/dev/null | sed -n 's/^lacks://p') "
lacks() {
	case $LACKS in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# needs_met NAME FEATURE...: whether this back end has them all. If not, test
# NAME is deferred (to the test bed, with KVMRUN_DEFER_FILE) or failed.
needs_met() {
	nm_name=$1
	shift
	for need in "$@"; do
		lacks "$need" || continue
		if [ -n "$KVMRUN_DEFER_FILE" ]; then
			deferred=$((deferred + 1))
			echo "$nm_name" >>"$KVMRUN_DEFER_FILE"
			echo "defer kvm/$nm_name: needs $need, which this KVM back end lacks"
		else
			failed=$((failed + 1))
			echo "FAIL kvm/$nm_name: needs $need, which this KVM back end lacks, and there is no other KVM to run it on"
		fi
		return 1
	done
	return 0
}

# report NAME WHY: test NAME passed (WHY empty) or failed, showing what
# $T/out and $T/err captured (NUL bytes as '.').
report() {
	if [ -z "$2" ]; then
		passed=$((passed + 1))
		echo "ok   kvm/$1"
		return 0
	fi
	failed=$((failed + 1))
	echo "FAIL kvm/$1: $2"
	[ -f "$T/out" ] && tail -c 4000 "$T/out" | tr '\000' . | sed 's/^/    stdout| /'
	[ -f "$T/err" ] && tr '\000' . <"$T/err" | sed 's/^/    stderr| /'
	return 0
}

# Options for the next call of t, reset by it:
#   NORM   a sed expression applied to stdout before comparing it
#   CHECK  a function called with no arguments after the run ($T/out and
#          $T/err hold what was captured); it prints why it fails, or nothing
#   NEEDS  back-end features the test needs (names from `kvmrun info`)
#   BEFORE a function called just before kvmrun starts (a debugger to attach)
NORM=
CHECK=
NEEDS=
BEFORE=

# selected NAME: whether test NAME runs now (--list prints it instead; a
# TEST_FILTER or a KVMRUN_TEST_ONLY list may leave it out). Every test calls it.
selected() {
	if [ -n "$LIST" ]; then
		echo "$1"
		return 1
	fi
	case $1 in
	*"$TEST_FILTER"*) ;;
	*) return 1 ;;
	esac
	if [ -n "$KVMRUN_TEST_ONLY" ]; then
		grep -qxF -e "$1" "$KVMRUN_TEST_ONLY" || return 1
		echo "$1" >>"$T/seen"
	fi
	return 0
}

# t NAME STATUS STDOUT [STDERR-STRING]... -- KVMRUN-ARGUMENT...
#   STATUS '*' leaves the status to CHECK (a hang still fails).
#   STDOUT is compared exactly, after printf %b ('\n' is a newline);
#   '*' skips the comparison. Each STDERR-STRING must occur in stderr.
t() {
	name=$1 want_status=$2 want_out=$3
	shift 3
	pats=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		pats="$pats$1
"
		shift
	done
	[ "${1-}" = -- ] && shift
	norm=$NORM check=$CHECK needs=$NEEDS before=$BEFORE
	NORM='' CHECK='' NEEDS='' BEFORE=''

	selected "$name" || return 0
	# shellcheck disable=SC2086 # a list of words
	needs_met "$name" $needs || return 0

	[ -z "$before" ] || $before
	# KILL, so that a hang (137) never passes for kvmrun's own timeout status (124)
	timeout -s KILL "$TIMEOUT" "$KVMRUN" "$@" >"$T/out" 2>"$T/err" </dev/null
	status=$?

	why=
	if [ "$status" -eq 137 ] && [ "$want_status" = '*' ]; then
		why="hung: killed after $TIMEOUT s"
	elif [ "$want_status" != '*' ] && [ "$status" -ne "$want_status" ]; then
		case $status in
		137) why="hung: killed after $TIMEOUT s" ;;
		*) why="exit status $status, expected $want_status" ;;
		esac
	fi
	if [ -z "$why" ] && [ "$want_out" != '*' ]; then
		printf '%b' "$want_out" >"$T/want"
		if [ -n "$norm" ]; then
			sed "$norm" "$T/out" >"$T/out.norm"
		else
			cat "$T/out" >"$T/out.norm"
		fi
		cmp -s "$T/want" "$T/out.norm" || why="stdout differs from the expected"
	fi
	if [ -z "$why" ] && [ -n "$pats" ]; then
		old_ifs=$IFS
		IFS='
'
		set -f
		for p in $pats; do
			if ! grep -qF -e "$p" "$T/err"; then
				why="stderr lacks \"$p\""
				break
			fi
		done
		set +f
		IFS=$old_ifs
	fi
	if [ -z "$why" ] && [ "$want_status" != '*' ] && [ "$want_status" -ge "$VMM_ERROR" ] &&
		[ ! -s "$T/err" ]; then
		why="exit status $status but no message on stderr"
	fi
	if [ -z "$why" ] && [ -n "$check" ]; then
		why=$($check)
	fi

	if [ -z "$why" ]; then
		passed=$((passed + 1))
		echo "ok   kvm/$name"
		return 0
	fi
	failed=$((failed + 1))
	echo "FAIL kvm/$name: $why"
	echo "    command: kvmrun $*"
	if [ "$want_out" != '*' ] && [ -f "$T/want" ] && ! cmp -s "$T/want" "$T/out.norm" 2>/dev/null; then
		sed 's/^/    want stdout| /' "$T/want"
	fi
	# NUL bytes (from a bad buffer) shown as '.', so the lines stay readable
	tr '\000' . <"$T/out" | sed 's/^/    stdout| /'
	tr '\000' . <"$T/err" | sed 's/^/    stderr| /'
	rm -f "$T/want" "$T/out.norm"
	return 0
}

# The value of NAME=0x... in stderr (the first one), e.g. reg rip.
reg() {
	sed -n "s/.*$1=\\(0x[0-9a-fA-F]*\\).*/\\1/p" "$T/err" | sed -n 1p
}

# --regs after HLT in long mode: RIP right after the hlt in the image,
# long mode active in EFER and CR0.
check_regs() {
	rip=$(reg rip) efer=$(reg efer) cr0=$(reg cr0) rsp=$(reg rsp)
	[ -n "$rip" ] || { echo "no rip=0x... in stderr"; return; }
	[ -n "$efer" ] || { echo "no efer=0x... in stderr"; return; }
	[ -n "$cr0" ] || { echo "no cr0=0x... in stderr"; return; }
	[ -n "$rsp" ] || { echo "no rsp=0x... in stderr"; return; }
	# hlt.elf's code is [0x100000, 0x101000); RIP is past the hlt, so > 0x100000
	if [ $((rip)) -le $((0x100000)) ] || [ $((rip)) -ge $((0x101000)) ]; then
		echo "rip=$rip is not inside hlt.elf's code (0x100000, 0x101000)"
		return
	fi
	[ $((efer & 0x500)) -eq $((0x500)) ] || { echo "efer=$efer lacks LME|LMA (0x500)"; return; }
	[ $((cr0 & 0x80000001)) -eq $((0x80000001)) ] || { echo "cr0=$cr0 lacks PG|PE"; return; }
	# the stack is near the top of the default 32 MiB of RAM
	if [ $((rsp)) -ge $((0x2000000)) ] || [ $((rsp)) -lt $((0x1ff0000)) ]; then
		echo "rsp=$rsp is not near the top of 32 MiB of RAM"
	fi
}

check_info() {
	grep -q 'API version 12' "$T/out" || echo "stdout lacks \"API version 12\""
	grep -q 'seccomp sandbox: active' "$T/out" || echo "stdout lacks \"seccomp sandbox: active\""
	grep -q '^back end: kvm_[a-z]*, [a-z]' "$T/out" || echo "stdout does not name the back end"
	grep -q '^features: real protected' "$T/out" || echo "stdout lacks the features line"
	grep -q '^lacks:' "$T/out" || echo "stdout lacks the lacks: line"
}

# A mode runs exactly where `kvmrun info` says it does, and is refused before
# the guest starts (125, naming the bit the back end dropped) where it does not.
check_mode_as_info_says() {
	if lacks paged32; then
		[ "$status" -eq "$VMM_ERROR" ] || echo "exit status $status: info lacks paged32, expected $VMM_ERROR"
		grep -q 'drops cr0.PG, so it cannot run 32-bit paging' "$T/err" ||
			echo "stderr does not say that the back end drops CR0.PG"
		[ ! -s "$T/out" ] || echo "the guest printed something: it must not have started"
	else
		[ "$status" -eq 5 ] || echo "exit status $status: info has paged32, expected 5"
		grep -qx 'paged32 mode' "$T/out" || echo "the paged32 guest did not print its line"
	fi
}

# The crash report names #UD at the address the guest printed before the ud2.
check_ud_address() {
	addr=$(sed -n 's/^ud2 at \(0x[0-9a-f]*\)$/\1/p' "$T/out")
	[ -n "$addr" ] || { echo "the guest did not print its ud2 address"; return; }
	grep -q "^exception #UD (invalid opcode) (vector 6), error code 0x0, at rip=$addr " "$T/err" ||
		echo "the report does not name #UD at rip=$addr"
	grep -q "^bytes at rip: 0f 0b" "$T/err" || echo "the bytes at rip are not ud2 (0f 0b)"
}

# --dump wrote JSON with the exception, the registers (all seven segments, as
# the text report has them), the descriptor tables and both page walks.
check_dump() {
	for want in '"reason":"exception"' '"vector":14' '"cr2":"0x7fefffffff8"' \
		'"es":{"selector":' '"gs":{"selector":' '"tr":{"selector":' '"idt":{"base":' \
		'"rsp":"0x7ff00000000"' '"walk_rip":{' '"walk_rsp":{' '"fail_reason":"not present"' \
		'"efer_bits":["LME","LMA","NXE"]'; do
		grep -qF "$want" "$T/dump.json" || { echo "dump lacks $want"; return; }
	done
}

# The exits of a guest without timers or interrupts are deterministic: the
# trace, host times removed, must match the golden file line by line. The RIP
# of a port-I/O exit is the back end's: at the OUT on hardware and nested KVM,
# already past it on kvm_pvm (lacks rip-at-out), so each has its golden file.
GOLDEN=${GOLDEN:-$ROOT/tests/kvm/golden}
check_golden_trace() {
	golden=real.trace
	lacks rip-at-out && golden=real.rip-past-out.trace
	sed -e 's/,"ns":[0-9]*//' "$T/trace.json" >"$T/trace.norm"
	cmp -s "$GOLDEN/$golden" "$T/trace.norm" || {
		echo "trace differs from tests/kvm/golden/$golden:"
		diff "$GOLDEN/$golden" "$T/trace.norm" | head -n 20
	}
	grep -q '"ns":[0-9]' "$T/trace.json" || echo "trace lacks host times"
}

# The output limit cuts the flood at exactly the limit.
check_4096_bytes() {
	size=$(wc -c <"$T/out")
	[ "$size" -eq 4096 ] || echo "stdout has $size bytes, expected 4096"
}

G=$GUESTS

# ---- every example guest in its mode ----------------------------------------
t hello-elf 0 'Hello from a kvmrun guest!\n' -- run "$G/hello.elf"
t hello-bin 0 'Hello from a kvmrun guest!\n' -- run "$G/hello.bin"
LONG_OUT='long mode\nram: 32 MiB\nprimes below 100: 2 3 5 7 11 13 17 19 23 29 31 37 41 43 47 53 59 61 67 71 73 79 83 89 97\ncrc32("123456789") = 0xcbf43926\n'
t long-elf 6 "$LONG_OUT" -- run "$G/long.elf"
t long-bin 6 "$LONG_OUT" -- run "$G/long.bin"
t long-bin-entry 6 "$LONG_OUT" -- run --load 0x100000 --entry 0x100000 "$G/long.bin"
t long-mem-64m 6 "$(printf '%s' "$LONG_OUT" | sed 's/ram: 32 MiB/ram: 64 MiB/')" -- run --mem 64M "$G/long.elf"
t real 3 'real mode\nhypercall from real mode\n' -- run --mode real "$G/real.bin"
t protected 4 'protected mode\n' -- run --mode protected "$G/protected.bin"
t protected-elf32 4 'protected mode\n' -- run --mode protected "$G/protected-elf32.elf"
NEEDS=paged32
t paged32 5 'paged32 mode\n' -- run --mode paged32 "$G/paged32.bin"
t pagecross 0 'crossing a page boundary: ok\n' -- run "$G/pagecross.elf"
NORM='s/^main at 0xffffffff801[0-9a-f]\{5\}$/main at ADDR/'
t higherhalf 0 'main at ADDR\nhigher half\n' -- run "$G/higherhalf.elf"
t hlt 0 'halting\n' -- run "$G/hlt.elf"
t repouts 0 'rep outsb: ok\n' -- run "$G/repouts.elf"

# ---- --regs and --translate ---------------------------------------------------
CHECK=check_regs
t regs-after-hlt 0 'halting\n' 'rip=0x' 'rsp=0x' 'rflags=0x' 'cr0=0x' 'cr3=0x' 'cr4=0x' 'efer=0x' \
	-- run --regs "$G/hlt.elf"
t translate-identity 0 'Hello from a kvmrun guest!\n' 'translate 0x100000 -> 0x100000 valid=1' \
	-- run --translate 0x100000 "$G/hello.elf"
NORM='s/^main at 0xffffffff801[0-9a-f]\{5\}$/main at ADDR/'
t translate-higherhalf 0 'main at ADDR\nhigher half\n' \
	'translate 0xffffffff80100000 -> 0x100000 valid=1' \
	'translate 0xffffffff80101000 -> 0x101000 valid=1' \
	'translate 0x100000 -> 0x100000 valid=1' \
	-- run --translate 0xffffffff80100000 --translate 0xffffffff80101000 \
	--translate 0x100000 "$G/higherhalf.elf"
t translate-pagecross 0 'crossing a page boundary: ok\n' \
	'translate 0x40000ff8 -> 0x300ff8 valid=1' 'translate 0x40001000 -> 0x280000 valid=1' \
	-- run --translate 0x40000ff8 --translate 0x40001000 "$G/pagecross.elf"
t translate-unmapped 0 'Hello from a kvmrun guest!\n' 'translate 0x7ff00000000: not mapped' \
	-- run --translate 0x7ff00000000 "$G/hello.elf"
t translate-noncanonical 0 'Hello from a kvmrun guest!\n' \
	'translate 0x8000000000000000: not mapped' \
	-- run --translate 0x8000000000000000 "$G/hello.elf"
NEEDS=paged32
t translate-paged32 5 'paged32 mode\n' 'translate 0x100000 -> 0x100000 valid=1' \
	-- run --mode paged32 --translate 0x100000 "$G/paged32.bin"

# ---- KVM_TRANSLATE against the software page walker, over every mapped page -----
t cross-check-hello 0 'Hello from a kvmrun guest!\n' ' disagreements' ', 0 disagreements' \
	-- run --cross-check "$G/hello.elf"
t cross-check-long 6 "$LONG_OUT" ', 0 disagreements' -- run --cross-check "$G/long.elf"
t cross-check-real 3 'real mode\nhypercall from real mode\n' ', 0 disagreements' \
	-- run --mode real --cross-check "$G/real.bin"
t cross-check-protected 4 'protected mode\n' ', 0 disagreements' \
	-- run --mode protected --cross-check "$G/protected.bin"
NEEDS=paged32
t cross-check-paged32 5 'paged32 mode\n' ', 0 disagreements' \
	-- run --mode paged32 --cross-check "$G/paged32.bin"
t cross-check-pagecross 0 'crossing a page boundary: ok\n' ', 0 disagreements' \
	-- run --cross-check "$G/pagecross.elf"
NORM='s/^main at 0xffffffff801[0-9a-f]\{5\}$/main at ADDR/'
t cross-check-higherhalf 0 'main at ADDR\nhigher half\n' ', 0 disagreements' \
	'translate 0xffffffff80100000 -> 0x100000 valid=1 writeable=1 usermode=0; walk (4-level): -> 0x100000, 4 KiB page, read-only' \
	'translate 0x7ff00000000: not mapped; walk (4-level): fails at level 4: not present' \
	-- run --cross-check --translate 0xffffffff80100000 --translate 0x7ff00000000 "$G/higherhalf.elf"

# ---- guests that crash or break the ABI: 126 and a message ---------------------
t crash-triple-fault $GUEST_CRASH '' 'KVM_EXIT_SHUTDOWN' -- run "$G/triple.elf"
t crash-bad-port $GUEST_CRASH '' 'port 0x1234' -- run "$G/badport.elf"
t crash-mmio $GUEST_CRASH '' 'MMIO' '0xd0000000' -- run "$G/mmio.elf"
t crash-hypercall-unmapped $GUEST_CRASH '' 'hypercall' '0x7ff00000000' -- run "$G/badptr.elf"
t crash-hypercall-huge-length $GUEST_CRASH '' 'hypercall' '0xffffffff' -- run "$G/hugelen.elf"
t crash-hypercall-noncanonical $GUEST_CRASH '' 'hypercall' '0x8000000000000000' \
	-- run "$G/noncanon.elf"
t crash-hypercall-unknown $GUEST_CRASH '' 'hypercall' '99' -- run "$G/badhc.elf"
t crash-hypercall-byte-write $GUEST_CRASH '' 'hypercall port' -- run "$G/hcsize.elf"

NEEDS=real-mode-shutdown
t crash-triple-fault-real $GUEST_CRASH '' 'KVM_EXIT_SHUTDOWN' -- run --mode real "$G/triple-real.bin"
t crash-triple-fault-protected $GUEST_CRASH '' 'KVM_EXIT_SHUTDOWN' \
	-- run --mode protected "$G/triple32.bin"
NEEDS=paged32
t crash-triple-fault-paged32 $GUEST_CRASH '' 'KVM_EXIT_SHUTDOWN' \
	-- run --mode paged32 "$G/triple32.bin"

# ---- crash forensics: which exception, where, with registers and page walks -----
CHECK=check_ud_address
t forensics-ud-long $GUEST_CRASH '*' 'guest exception #UD' 'page walk of rip' 'page walk of rsp' \
	'efer=0xd00 [LME LMA NXE]' -- run "$G/ud.elf"
t forensics-jump-unmapped $GUEST_CRASH '' 'exception #PF (page fault) (vector 14), error code 0x10, at rip=0x7ff00000000' \
	'cr2=0x7ff00000000' 'bytes at rip: (not mapped)' 'fails at level 4: not present' \
	-- run "$G/jumpunmapped.elf"
CHECK=check_dump
t forensics-bad-stack-dump $GUEST_CRASH '' 'exception #PF' 'rsp=0x7ff00000000 cr2=0x7fefffffff8' \
	-- run --dump "$T/dump.json" "$G/badstack.elf"
t forensics-ud-protected $GUEST_CRASH '' 'exception #UD (invalid opcode) (vector 6), error code 0x0, at rip=0x100000 cs=0x18' \
	'bytes at rip: 0f 0b f4' -- run --mode protected "$G/ud32.bin"
NEEDS=paged32
t forensics-ud-paged32 $GUEST_CRASH '' 'exception #UD (invalid opcode) (vector 6), error code 0x0, at rip=0x100000 cs=0x18' \
	'(32-bit paging)' -- run --mode paged32 "$G/ud32.bin"
t forensics-triple-fault-report $GUEST_CRASH '' '--- crash report: shutdown' 'cr0=' \
	-- run "$G/triple.elf"

# ---- exit trace and statistics ----------------------------------------------------
CHECK=check_golden_trace
t trace-golden-real 3 'real mode\nhypercall from real mode\n' \
	-- run --mode real --trace "$T/trace.json" "$G/real.bin"
t stats 0 'Hello from a kvmrun guest!\n' 'KVM_EXIT_IO' 'total' 'host time us' \
	-- run --stats "$G/hello.elf"
t bad-trace-file $VMM_ERROR '' 'no-such-dir' -- run --trace /no-such-dir/t.json "$G/hello.elf"

# ---- hostile guests: the host survives, says why, and exits as documented -----
t hostile-spin-timeout $TIMEOUT_STATUS '' 'timeout of 1000 ms' -- run --timeout 1s "$G/spin.elf"
t hostile-spin-timeout-ms $TIMEOUT_STATUS '' 'timeout of 300 ms' -- run --timeout 300ms "$G/spin.elf"
CHECK=check_4096_bytes
t hostile-flood-output-limit $GUEST_CRASH '*' 'limit of 4096 bytes' \
	-- run --max-output 4K "$G/flood.elf"
t hostile-flood-timeout $TIMEOUT_STATUS '*' 'timeout of 1000 ms' \
	-- run --timeout 1s --max-output 0 "$G/flood.elf"
# Garbage in CR3: a triple fault on most hosts; nested SVM refuses the entry.
t hostile-bad-cr3 $GUEST_CRASH '' 'guest stopped' -- run "$G/badcr3.elf"
t no-seccomp 0 'Hello from a kvmrun guest!\n' -- run --no-seccomp "$G/hello.elf"
t bad-timeout $VMM_ERROR '' '--timeout' -- run --timeout 5x "$G/hello.elf"
t bad-timeout-zero $VMM_ERROR '' '--timeout' -- run --timeout 0 "$G/hello.elf"

# ---- bad input: 125 and a message, the guest never runs -----------------------
: >"$T/empty.bin"
dd if="$G/hello.elf" of="$T/truncated.elf" bs=40 count=1 2>/dev/null
dd if=/dev/zero of="$T/big.bin" bs=1024 count=3072 2>/dev/null
t bad-missing-file $VMM_ERROR '' 'no-such-guest.elf' 'No such file or directory' -- run "$T/no-such-guest.elf"
t bad-empty-file $VMM_ERROR '' 'empty' 'is empty (0 bytes)' -- run "$T/empty.bin"
t bad-truncated-elf $VMM_ERROR '' 'ELF' 'too short for a 64-bit ELF header' -- run "$T/truncated.elf"
t bad-elf64-protected $VMM_ERROR '' 'ELF' 'ELFCLASS64' 'needs long mode, but the VM is in protected mode' -- run --mode protected "$G/hello.elf"
t bad-elf32-long $VMM_ERROR '' 'ELF' 'ELFCLASS32' 'needs protected or paged32 mode, but the VM is in long mode' \
	-- run "$G/protected-elf32.elf"
t bad-elf-with-load $VMM_ERROR '' 'ELF' 'is for raw images' -- run --load 0x200000 "$G/hello.elf"
t bad-mem-too-small $VMM_ERROR '' 'memory size' 'is outside [2 MiB' -- run --mem 1M "$G/hello.elf"
t bad-mem-too-big $VMM_ERROR '' 'memory size' 'is outside [2 MiB' -- run --mem 1024G "$G/hello.elf"
t bad-mem-garbage $VMM_ERROR '' '--mem' 'banana' 'expected a size' -- run --mem banana "$G/hello.elf"
t bad-mem-unaligned $VMM_ERROR '' 'memory size' 'not a multiple of 4 KiB' -- run --mem 4194305 "$G/hello.elf"
t bad-mode $VMM_ERROR '' 'bogus' 'expected real, protected, paged32 or long' -- run --mode bogus "$G/hello.elf"
t bad-option $VMM_ERROR '' 'frobnicate' -- run --frobnicate "$G/hello.elf"
t bad-no-guest $VMM_ERROR '' 'GUEST' -- run
t bad-command $VMM_ERROR '' 'frobnicate' -- frobnicate
t bad-raw-past-ram $VMM_ERROR '' 'past the end' 'runs past the end of guest RAM' -- run --mem 2M --load 0x1fff00 "$G/hello.bin"
t bad-raw-too-big $VMM_ERROR '' 'big.bin' 'larger than guest RAM' -- run --mem 2M "$T/big.bin"
t bad-raw-system-area $VMM_ERROR '' 'system area' "overlaps kvmrun's system area" -- run --load 0x10000 "$G/hello.bin"
t bad-real-above-1m $VMM_ERROR '' '1 MiB' 'do not fit below 1 MiB' -- run --mode real --load 0x100000 "$G/real.bin"

# ---- multiboot kernels and the PC devices ----------------------------------------
# mbguest.elf (C, ELF32) checks its boot information, fw_cfg and its module and
# exits through isa-debug-exit with v = 0: status 1. mbaout.bin loads by the
# header's address fields and exits with v = 2: status 5. Malformed headers
# are made from mbaout.bin by overwriting header words (the checksum covers
# only magic and flags).
t multiboot-guest 1 "multiboot: cmdline=$G/mbguest.elf hello there\nmultiboot: ram=64 MiB module=$G/mbguest.cfg\nmultiboot: GREETING=hello from a multiboot module\n" \
	-- run --mem 64M --append "hello there" --module "$G/mbguest.cfg" "$G/mbguest.elf"
t multiboot-guest-default-mem 1 "multiboot: cmdline=$G/mbguest.elf\nmultiboot: ram=32 MiB module=$G/mbguest.cfg\nmultiboot: GREETING=hello from a multiboot module\n" \
	-- run --module "$G/mbguest.cfg" "$G/mbguest.elf"
t multiboot-guest-without-module 19 'mbguest: check failed: one module\n' -- run "$G/mbguest.elf"
t multiboot-aout-kludge 5 'multiboot a.out kludge\n' -- run "$G/mbaout.bin"
t multiboot-mode-protected 5 'multiboot a.out kludge\n' -- run --mode protected "$G/mbaout.bin"
t multiboot-kbd-reset 0 '' 'guest requested a reset (0xfe to the keyboard controller, port 0x64)' \
	-- run --append action=reset "$G/mbguest.elf"
t multiboot-debug-exit-above-123 $GUEST_CRASH '' 'isa-debug-exit port 0xf4: exit status 125' 'must be 0..123' \
	-- run --append action=exit62 "$G/mbguest.elf"
# The CMOS clock gives the host's date (UTC): the guest's year is the host's (or,
# at New Year, the next).
check_rtc_year() {
	y=$(date -u +%Y)
	grep -Eq "^mbguest: rtc ($y|$((y + 1)))-[01][0-9]-[0-3][0-9]\$" "$T/out" ||
		echo "the guest's CMOS date is not in the host's year $y: $(cat "$T/out")"
}
CHECK=check_rtc_year
t multiboot-rtc-host-year 1 '*' -- run --append action=rtc "$G/mbguest.elf"

# ---- multiboot with several CPUs: the MP table, INIT/SIPI -----------------------
# mbsmp.elf finds the CPUs in the MP table (checked against fw_cfg's NB_CPUS),
# starts each AP with INIT and STARTUP IPIs through its local APIC; each AP
# goes from real to protected mode, counts itself and records its APIC id.
t multiboot-smp-1-cpu 1 'mbsmp: cpus=1 started=0\n' -- run "$G/mbsmp.elf"
t multiboot-smp-2-cpus 1 'mbsmp: cpus=2 started=1\n' -- run --cpus 2 "$G/mbsmp.elf"
t multiboot-smp-4-cpus 1 'mbsmp: cpus=4 started=3\n' -- run --cpus 4 "$G/mbsmp.elf"

# patch FILE OFFSET OCTAL-BYTES: a copy of mbaout.bin with bytes replaced, as $T/FILE
patch() {
	cp "$G/mbaout.bin" "$T/$1"
	printf "$3" | dd of="$T/$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
patch mb-checksum.bin 8 '\000\000\000\000'
patch mb-video.bin 4 '\006\000\001\000\370\117\121\344'
patch mb-low.bin 12 '\000\000\010\000\000\000\010\000'
patch mb-load-end.bin 20 '\000\000\020\000'
patch mb-entry.bin 28 '\000\000\060\000'
dd if="$G/mbaout.bin" of="$T/mb-truncated.bin" bs=10 count=1 2>/dev/null
t multiboot-bad-checksum $VMM_ERROR '' 'multiboot: header at offset 0x0: bad checksum 0x00000000' -- run "$T/mb-checksum.bin"
t multiboot-bad-video-mode $VMM_ERROR '' 'require a video mode (bit 2)' -- run "$T/mb-video.bin"
t multiboot-bad-below-1m $VMM_ERROR '' 'load_addr 0x80000 is below 1 MiB' -- run "$T/mb-low.bin"
t multiboot-bad-load-end $VMM_ERROR '' 'load_end_addr 0x100000 is not above load_addr 0x200000' -- run "$T/mb-load-end.bin"
t multiboot-bad-entry $VMM_ERROR '' 'entry_addr 0x300000 is outside the loaded text and data' -- run "$T/mb-entry.bin"
t multiboot-bad-truncated $VMM_ERROR '' 'header at offset 0x0 is truncated' -- run "$T/mb-truncated.bin"
t multiboot-bad-mode-paged32 $VMM_ERROR '' 'starts in 32-bit protected mode without paging, but the VM is in paged32 mode' \
	-- run --mode paged32 "$G/mbaout.bin"
t multiboot-bad-mode-long $VMM_ERROR '' 'is a multiboot kernel, which starts in protected mode' -- run --mode long "$G/mbaout.bin"
t multiboot-bad-missing-module $VMM_ERROR '' 'multiboot: module' 'no-such-module' -- run --module "$T/no-such-module" "$G/mbguest.elf"
t multiboot-bad-module-not-multiboot $VMM_ERROR '' '--append and --module are for multiboot kernels' \
	-- run --module "$G/mbguest.cfg" "$G/hello.elf"

# ---- W^X and page 0 in long mode: segment permissions, data is NX, NULL faults ----
# The guest prints "NAME at 0x..." before it faults there; the report must name
# #PF with this error code and CR2 = that address (and RIP too for a fetch).
PF_CODE= PF_FETCH=
check_pf_at() {
	addr=$(sed -n 's/^[a-z]* at \(0x[0-9a-f]*\)$/\1/p' "$T/out")
	[ -n "$addr" ] || { echo "the guest did not print the address it faults at"; return; }
	line="exception #PF (page fault) (vector 14), error code $PF_CODE, at rip="
	grep -qF "$line" "$T/err" || { echo "the report lacks \"$line\""; return; }
	grep -q "^exception #PF .* cr2=$addr\$" "$T/err" || { echo "the report lacks cr2=$addr"; return; }
	if [ -n "$PF_FETCH" ]; then
		grep -q "^exception #PF .* at rip=$addr " "$T/err" || echo "the report lacks rip=$addr"
	fi
}
CHECK=check_pf_at PF_CODE=0x3 PF_FETCH=
t wx-write-rodata $GUEST_CRASH '*' 'guest exception #PF' -- run "$G/wrrodata.elf"
CHECK=check_pf_at PF_CODE=0x11 PF_FETCH=1
t wx-execute-data $GUEST_CRASH '*' 'guest exception #PF' -- run "$G/execdata.elf"
CHECK=check_pf_at PF_CODE=0x11 PF_FETCH=1
t wx-execute-stack $GUEST_CRASH '*' 'guest exception #PF' -- run "$G/execstack.elf"
t wx-null-write $GUEST_CRASH 'writing through NULL\n' \
	'exception #PF (page fault) (vector 14), error code 0x2, at rip=' ' cr2=0x0' \
	'page walk of rsp' -- run "$G/nullptr.elf"
t wx-null-write-map-page0 0 'writing through NULL\npage 0 is mapped\n' -- run --map-page0 "$G/nullptr.elf"

# --translate shows each segment's pages with the segment's permissions: hello.elf
# has text at 0x100000 (R+X), rodata at 0x101000 (R); the stack is RW and NX.
WANT_LINES=
check_lines() {
	old_ifs=$IFS
	IFS='
'
	for l in $WANT_LINES; do
		grep -qxF -e "$l" "$T/err" || { echo "stderr lacks the line \"$l\""; break; }
	done
	IFS=$old_ifs
}
CHECK=check_lines WANT_LINES='translate 0x100000 -> 0x100000 valid=1 writeable=1 usermode=0; walk (4-level): -> 0x100000, 4 KiB page, read-only
translate 0x101000 -> 0x101000 valid=1 writeable=1 usermode=0; walk (4-level): -> 0x101000, 4 KiB page, read-only, no-execute
translate 0x1fff000 -> 0x1fff000 valid=1 writeable=1 usermode=0; walk (4-level): -> 0x1fff000, 2048 KiB page, writable, no-execute
translate 0x0: not mapped; walk (4-level): fails at level 1: not present'
t wx-translate-permissions 0 'Hello from a kvmrun guest!\n' -- run --translate 0x100000 \
	--translate 0x101000 --translate 0x1fff000 --translate 0 "$G/hello.elf"
# A raw image has no flags: its pages are RWX; the RAM after it is data.
CHECK=check_lines WANT_LINES='translate 0x100000 -> 0x100000 valid=1 writeable=1 usermode=0; walk (4-level): -> 0x100000, 4 KiB page, writable
translate 0x200000 -> 0x200000 valid=1 writeable=1 usermode=0; walk (4-level): -> 0x200000, 2048 KiB page, writable, no-execute'
t wx-translate-raw 0 'Hello from a kvmrun guest!\n' -- run --translate 0x100000 \
	--translate 0x200000 "$G/hello.bin"
CHECK=check_lines WANT_LINES='translate 0x0 -> 0x0 valid=1 writeable=1 usermode=0; walk (4-level): -> 0x0, 4 KiB page, writable, no-execute'
t wx-translate-map-page0 0 'Hello from a kvmrun guest!\n' -- run --map-page0 --translate 0 "$G/hello.elf"

# ---- output as it comes, exit statuses, input checks --------------------------
# Each check names the reason kvmrun gives, not only the input echoed back.

# The guest's output while it runs: start kvmrun in the background, wait (at
# most 10 s) until printspin's output is all there while kvmrun still runs,
# then stop it with signal $2 and check status 128+N and the whole output.
live() {
	name=$1 sig=$2 want_status=$3
	selected "$name" || return 0
	# The background shell opens these itself, later: no earlier test's output may be seen.
	rm -f "$T/out" "$T/err"
	"$KVMRUN" run --timeout 60s "$G/printspin.elf" >"$T/out" 2>"$T/err" </dev/null &
	pid=$!
	why= i=0
	while ! grep -q 'write, no newline' "$T/out" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			why="kvmrun ended before the guest's output appeared"
			break
		fi
		i=$((i + 1))
		if [ "$i" -gt 100 ]; then
			why="the guest's output did not appear within 10 s while it ran"
			break
		fi
		sleep 0.1
	done
	kill -s "$sig" "$pid" 2>/dev/null
	# bounded: a kvmrun that does not stop is killed after 20 s (status 137)
	( sleep 20; kill -s KILL "$pid" 2>/dev/null ) &
	guard=$!
	wait "$pid"
	status=$?
	kill "$guard" 2>/dev/null
	wait "$guard" 2>/dev/null
	printf 'port line\nwrite, no newline' >"$T/want"
	if [ -z "$why" ] && [ "$status" -ne "$want_status" ]; then
		why="exit status $status, expected $want_status"
	fi
	if [ -z "$why" ] && ! cmp -s "$T/want" "$T/out"; then
		why="stdout is not the guest's whole output"
	fi
	if [ -z "$why" ] && ! grep -qF "kvmrun: guest stopped: kvmrun received SIG$sig" "$T/err"; then
		why="stderr lacks \"kvmrun: guest stopped: kvmrun received SIG$sig\""
	fi
	report "$name" "$why"
}
live output-live-sigint INT 130
live output-live-sigterm TERM 143
live output-live-sighup HUP 129
# Written before the stop, and still all there after it.
t output-timeout $TIMEOUT_STATUS 'port line\nwrite, no newline' 'timeout of 1000 ms' \
	-- run --timeout 1s "$G/printspin.elf"

# A raw long-mode guest that exits with status $1: mov edi, $1; mov eax, 2
# (EXIT); mov dx, 0x500; out dx, eax; hlt.
exit_guest() {
	b() { printf '\\%03o' $(( ($1 >> $2) & 255 )); }
	printf "\\277$(b $1 0)$(b $1 8)$(b $1 16)$(b $1 24)\\270\\002\\000\\000\\000\\146\\272\\000\\005\\357\\364"
}
for s in 0 1 123 124 125 126 256 300 4294967295; do
	exit_guest "$s" >"$T/exit$s.bin"
done
t exit-status-0 0 '' -- run "$T/exit0.bin"
t exit-status-1 1 '' -- run "$T/exit1.bin"
t exit-status-123 123 '' -- run "$T/exit123.bin"
for s in 124 125 126 256 300 4294967295; do
	t "exit-status-$s-is-an-abi-error" $GUEST_CRASH '' \
		"kvmrun: the guest broke the ABI: guest exited with status $s " \
		'a guest exit status must be 0..123' -- run "$T/exit$s.bin"
done

# A closed pipe: no silent death by SIGPIPE (141), but a message and 125.
if selected sigpipe; then
	{ timeout -s KILL "$TIMEOUT" "$KVMRUN" run --timeout 20s --max-output 0 "$G/flood.elf" \
		2>"$T/err" </dev/null; echo $? >"$T/status"; } | head -c 10 >/dev/null
	status=$(cat "$T/status")
	why=
	if [ "$status" -ne "$VMM_ERROR" ] ||
		! grep -qF 'console: write of ' "$T/err" || ! grep -qF 'Broken pipe' "$T/err"; then
		why="exit status $status, expected $VMM_ERROR with \"console: write of\" and \"Broken pipe\""
	fi
	rm -f "$T/out"
	report sigpipe "$why"
fi

# Raw images: the entry must lie inside the image, as ELF's must lie in a segment.
t check-raw-entry-past-image $VMM_ERROR '' \
	'raw image: entry 0x200000 is outside the image loaded at [0x100000, 0x' \
	-- run --entry 0x200000 "$G/hello.bin"
t check-raw-entry-below-image $VMM_ERROR '' 'raw image: entry 0xfffff is outside the image' \
	-- run --entry 0xfffff "$G/hello.bin"
t check-raw-entry-outside-ram $VMM_ERROR '' 'raw image: entry 0x7ff00000000 is outside the image' \
	-- run --entry 0x7ff00000000 "$G/hello.bin"

# Options: our prefix and what is wrong, for short and long options.
t check-option-unknown-long $VMM_ERROR '' "kvmrun run: unknown or ambiguous option '--frobnicate'" \
	-- run --frobnicate "$G/hello.elf"
t check-option-unknown-short $VMM_ERROR '' "kvmrun run: unknown option '-x'" -- run -x "$G/hello.elf"
# In the middle of a cluster, after a long option: the short one is at fault.
t check-option-unknown-in-cluster $VMM_ERROR '' "kvmrun run: unknown option '-x'" \
	-- run --regs -xr "$G/hello.elf"
t check-option-missing-value-long $VMM_ERROR '' "kvmrun run: option '--timeout' needs a value" \
	-- run --timeout
t check-option-missing-value-short $VMM_ERROR '' "kvmrun run: option '-m' needs a value" -- run -m
t check-option-takes-no-value $VMM_ERROR '' "kvmrun run: option '--regs' takes no value" \
	-- run --regs=1 "$G/hello.elf"
t check-dump-missing-folder $VMM_ERROR '' \
	"kvmrun run: --dump: cannot create '/no-such-dir/d.json': No such file or directory" \
	-- run --dump /no-such-dir/d.json "$G/hello.elf"
t check-trace-missing-folder $VMM_ERROR '' "kvmrun run: --trace: cannot create '/no-such-dir/t.json'" \
	-- run --trace /no-such-dir/t.json "$G/hello.elf"

# --timeout: a plain number is seconds, fractions are fine, 0 is not a timeout.
for v in 0 0s 0ms 0.0 0.000000000s; do
	t "check-timeout-zero-$v" $VMM_ERROR '' "kvmrun run: --timeout '$v': expected a timeout that is positive" \
		-- run --timeout "$v" "$G/hello.elf"
done
for v in 1. .5 1.5x 1e3 0.0000000001 -1 ' 1'; do
	t "check-timeout-syntax-$v" $VMM_ERROR '' "kvmrun run: --timeout '$v': expected a duration such as" \
		-- run --timeout "$v" "$G/hello.elf"
done
t check-timeout-fraction-of-seconds $TIMEOUT_STATUS '' 'timeout of 1500 ms' \
	-- run --timeout 1.5s "$G/spin.elf"
t check-timeout-plain-fraction $TIMEOUT_STATUS '' 'timeout of 500 ms' \
	-- run --timeout 0.5 "$G/spin.elf"
t check-timeout-plain-seconds $TIMEOUT_STATUS '' 'timeout of 1000 ms' -- run --timeout 1 "$G/spin.elf"
t check-timeout-fraction-of-ms $TIMEOUT_STATUS '' 'timeout of 300 ms' \
	-- run --timeout 300.5ms "$G/spin.elf"

# `kvmrun run --help` is the whole help of run, not a synopsis.
check_run_help() {
	for want in 'Usage: kvmrun run' '--mode MODE' '--timeout DUR' 'a plain number is seconds' \
		'--cross-check' '--dump FILE' 'Exit status:' '0..123' '128+N'; do
		grep -qF -e "$want" "$T/out" || { echo "stdout lacks \"$want\""; return; }
	done
}
CHECK=check_run_help
t check-run-help 0 '*' -- run --help
CHECK=check_run_help
t check-run-help-short 0 '*' -- run -h

# ---- the installed library, from a program built outside the tree -------------------
# make builds BUILD/outside: `make install` into a folder, then in a temp folder
# a guest with the installed SDK and tests/install/outside.c with
# `pkg-config --cflags --libs kvmrun` (tests/install/build-outside.sh). Run
# here: it loads libkvmrun.so.0 from the installed libdir and runs the guest.
OUTSIDE=${OUTSIDE:-$ROOT/build/outside}
if selected installed-library-runs-a-guest; then
	why=
	if [ ! -x "$OUTSIDE/outside" ]; then
		why="no $OUTSIDE/outside: run make (or set OUTSIDE)"
	else
		timeout -s KILL "$TIMEOUT" "$OUTSIDE/outside" "$OUTSIDE/hello.elf" >"$T/out" 2>"$T/err" </dev/null
		status=$?
		printf 'Hello from a kvmrun guest!\n' >"$T/want"
		if [ "$status" -ne 0 ]; then
			why="exit status $status, expected 0"
		elif ! cmp -s "$T/want" "$T/out"; then
			why="stdout is not the guest's greeting"
		elif ! grep -q '^libkvmrun \([0-9]*\.[0-9]*\.[0-9]*\) (header \1)$' "$T/err"; then
			why="stderr does not show kr_version() equal to the header's KR_VERSION"
		else
			for want in 'missing file: KR_E_SYSCALL' 'stopped: exit, status 0'; do
				grep -qF -e "$want" "$T/err" || { why="stderr lacks \"$want\""; break; }
			done
		fi
	fi
	report installed-library-runs-a-guest "$why"
fi

# ---- kvmrun info ------------------------------------------------------------------
CHECK=check_info
t info 0 '*' -- info
# The expected status is checked by check_mode_as_info_says (125 or 5).
CHECK=check_mode_as_info_says
t mode-runs-where-info-says '*' '*' -- run --mode paged32 "$G/paged32.bin"

# ---- --timeout keeps time ------------------------------------------------------------
# Not only that the guest stops, but when: a timer armed at a thousandth of the
# timeout (or never disarmed, or never armed) would pass every test above. The
# bounds are generous: at least 3/4 of the timeout, and far less than the 30 s
# kill. The clock is /proc/uptime, in hundredths of a second (busybox date has
# no %N).
uptime_cs() {
	sed -n 's/^\([0-9]*\)\.\([0-9][0-9]\).*/\1\2/p' /proc/uptime | sed 's/^0*\([0-9]\)/\1/'
}
# elapsed MIN MAX: hundredths of a second since STARTED, within [MIN, MAX)
elapsed() {
	took=$(($(uptime_cs) - STARTED))
	if [ "$took" -lt "$1" ] || [ "$took" -ge "$2" ]; then
		echo "took $took hundredths of a second, expected at least $1 and less than $2"
	fi
}
check_2s() { elapsed 150 2000; }
STARTED=$(uptime_cs)
CHECK=check_2s
t timeout-takes-its-time $TIMEOUT_STATUS '' 'timeout' -- run --timeout 2s "$G/spin.elf"
# A timeout that does not expire changes nothing: the guest's own status and output.
t timeout-short-guest-exits-0 0 'Hello from a kvmrun guest!\n' -- run --timeout 5s "$G/hello.elf"

# ---- the command table: help, each command's --help, unknown commands ------------
# `kvmrun help` lists every command with its line of help.
check_help_lists() {
	grep -qF -e 'Usage: kvmrun COMMAND' "$T/out" || { echo "stdout lacks the usage line"; return; }
	for cmd in 'run [OPTIONS] GUEST' info 'help [COMMAND]' version; do
		grep -qF -e "  $cmd  " "$T/out" || { echo "stdout lacks the line of '$cmd'"; return; }
	done
}
# same_as ARG...: stdout is exactly what `kvmrun ARG...` prints, and it is not empty.
same_as() {
	[ -s "$T/out" ] || { echo "stdout is empty"; return; }
	"$KVMRUN" "$@" >"$T/other" 2>&1 </dev/null
	cmp -s "$T/out" "$T/other" || echo "stdout differs from that of kvmrun $*"
}
same_as_help() { same_as help; }
same_as_run_help() { same_as run --help; }
same_as_info_help() { same_as info --help; }
same_as_version() { same_as --version; }
check_info_help() {
	for want in 'Usage: kvmrun info' 'lacks: ...' 'Exit status:'; do
		grep -qF -e "$want" "$T/out" || { echo "stdout lacks \"$want\""; return; }
	done
}
CHECK=check_help_lists
t cli-help-lists-commands 0 '*' -- help
CHECK=same_as_help
t cli-help-option-is-help 0 '*' -- --help
CHECK=same_as_help
t cli-help-short-option-is-help 0 '*' -- -h
CHECK=same_as_run_help
t cli-help-run-is-run-help 0 '*' -- help run
CHECK=check_info_help
t cli-info-help 0 '*' -- info --help
CHECK=same_as_info_help
t cli-help-info-is-info-help 0 '*' -- help info
t cli-help-help 0 'Usage: kvmrun help [COMMAND]\nList the commands, or print what COMMAND takes.\n' \
	-- help --help
CHECK=same_as_version
t cli-version-is-version-option 0 '*' -- version
t cli-no-command $VMM_ERROR '' 'Usage: kvmrun COMMAND' '  run [OPTIONS] GUEST' --
t cli-unknown-command-lists-them $VMM_ERROR '' \
	"kvmrun: unknown command 'frobnicate'; the commands are run, boot, restore, info, help and version" \
	-- frobnicate
t cli-help-unknown-command $VMM_ERROR '' \
	"kvmrun help: no command 'frobnicate'; the commands are run, boot, restore, info, help and version" \
	-- help frobnicate
t cli-help-two-commands $VMM_ERROR '' 'kvmrun help: takes at most one COMMAND' -- help run info
t cli-info-no-arguments $VMM_ERROR '' 'kvmrun info: takes no arguments (try kvmrun info --help)' \
	-- info extra
t cli-version-no-arguments $VMM_ERROR '' 'kvmrun version: takes no arguments' -- version extra

# ---- kvmrun boot: Linux on the PC platform -----------------------------------
# The test bed's Debian kernel (copied to build/linux/vmlinuz by make) with an
# initramfs made here from the static busybox: /init prints a marker, reads a
# line from the serial console, echoes it, prints the year from date and
# hwclock (the CMOS clock) and the processors in /proc/cpuinfo, and reboots.
# It boots with 2 vCPUs: Linux finds them in the MP table (no ACPI) and
# starts the second with INIT/SIPI (reboot=t: a triple
# fault, status 0). The line is fed on kvmrun's stdin only once the marker is
# out: the 8250 driver empties the receive FIFO when it starts the port.
LINUX_KERNEL=${KVMRUN_LINUX_KERNEL:-$(dirname "$KVMRUN")/linux/vmlinuz}
linux_initrd() {
	sh "$ROOT/tests/lib/linux-initrd.sh" "$T/ird" "$T/initrd.gz"
}
linux_boot() {
	name=$1
	selected "$name" || return 0
	needs_met "$name" fast-guest-code || return 0
	why=
	if [ ! -f "$LINUX_KERNEL" ]; then
		why="no kernel at $LINUX_KERNEL (make copies the test bed's; scripts/kvm-testbed setup)"
	elif ! linux_initrd; then
		why="could not build the initramfs"
	else
		rm -f "$T/in" "$T/out" "$T/err"
		y0=$(date -u +%Y)
		mkfifo "$T/in"
		: >"$T/out"
		# The feeder: waits for the marker (at most 240 s), then sends the line.
		(i=0; while ! grep -q KVMRUN-LINUX-UP "$T/out" && [ $i -lt 1200 ]; do
			sleep 0.2; i=$((i + 1)); done; echo "hello-from-the-host") >"$T/in" &
		feeder=$!
		timeout -s KILL 300 "$KVMRUN" boot --kernel "$LINUX_KERNEL" --initrd "$T/initrd.gz" \
			--append "console=ttyS0 reboot=t quiet" --mem 256M --cpus 2 --timeout 240s \
			<"$T/in" >"$T/out" 2>"$T/err"
		status=$?
		kill "$feeder" 2>/dev/null
		wait "$feeder" 2>/dev/null
		if [ "$status" -ne 0 ]; then
			why="exit status $status, expected 0 (a reboot)"
		elif ! grep -q KVMRUN-LINUX-UP "$T/out"; then
			why="no marker on the console"
		elif ! grep -q "KVMRUN-ECHO:hello-from-the-host" "$T/out"; then
			why="the line read from the serial console was not echoed"
		elif ! grep -q "the guest rebooted" "$T/err"; then
			why="kvmrun did not report a reboot"
		# The CMOS clock gives the guest the host's time: its year, read at boot
		# (date) and from /dev/rtc0 (hwclock), is the host's (or the next: New Year).
		elif ! grep -Eq "KVMRUN-DATE:($y0|$((y0 + 1)))" "$T/out"; then
			why="the guest's date is not in the host's year $y0: $(grep KVMRUN-DATE "$T/out")"
		elif ! grep -Eq "KVMRUN-HWCLOCK:.* ($y0|$((y0 + 1)))" "$T/out"; then
			why="the guest's hwclock is not in the host's year $y0: $(grep KVMRUN-HWCLOCK "$T/out")"
		# Two vCPUs: Linux found both in the MP table and started the second.
		elif ! grep -q "KVMRUN-CPUS:2" "$T/out"; then
			why="the guest does not report 2 processors in /proc/cpuinfo: $(grep KVMRUN-CPUS "$T/out")"
		fi
	fi
	report "$name" "$why"
}
# Declared only where KVMRUN_LINUX_BOOT is not 0 (tests/kvm/suite.sh: once per
# make test): each Linux boot in the nested QEMU test bed risks its rare hang.
[ "${KVMRUN_LINUX_BOOT:-1}" = 0 ] || linux_boot linux-boot-marker-echo-reboot


# ---- the guest SDK: printf, heap, assert, two C files, port widths --
t sdk-printf-heap-assert 99 '-5 42 3000000000 beef BEEF k str % [  -12] [7   ] [-0003]
-9000000000 18446744073709551615 123456789ab 0x1000
-5
list sum -5050
heap reuses freed memory: yes
about to fail an assertion
panic at guest/examples/sdkdemo.c:36: assertion failed: list_sum(0) == 1\n' \
	-- run "$G/sdkdemo.elf"
t sdk-outw-is-16-bit $GUEST_CRASH '16-bit write next\n' \
	'unhandled port I/O: write of 2 bytes to port 0x600' -- run "$G/sdkports.elf"

# ---- the benchmark (bench/): a smoke run ----------------------------
# build/bench with tiny round counts: it runs every case on this KVM, both
# kvmrun and the bare-ioctl baseline, and writes valid JSON naming the back
# end. Its numbers are not checked (timing).
bench_smoke() {
	name=bench-smoke
	selected "$name" || return 0
	bdir=$(dirname "$KVMRUN")
	why=
	if [ ! -x "$bdir/bench" ] || [ ! -x "$bdir/bench-bare" ]; then
		why="no $bdir/bench or $bdir/bench-bare (run make)"
	else
		rm -f "$T/bench.json"
		timeout -s KILL 120 "$bdir/bench" --rounds 2 --exits 20 --ops 3 --proc-rounds 2 \
			--kvmrun "$KVMRUN" --bare "$bdir/bench-bare" --guests "$G" --json "$T/bench.json" \
			>"$T/out" 2>"$T/err" </dev/null
		status=$?
		if [ "$status" -ne 0 ]; then
			why="exit status $status"
		elif ! "$bdir/bench" --validate-json "$T/bench.json" >>"$T/out" 2>>"$T/err"; then
			why="$T/bench.json is not valid JSON"
		else
			for key in '"backend": "kvm' '"name": "create"' '"name": "destroy"' \
				'"name": "pio"' '"name": "pio-4k"' '"name": "mmio"' '"name": "hypercall"' '"name": "hlt"' \
				'"ratio_cpu": ' '"extra_rss_kib": ' '"name": "kvmrun run"'; do
				grep -qF -e "$key" "$T/bench.json" || { why="the JSON lacks $key"; break; }
			done
			grep -q '^hypercall  *[0-9.]* ' "$T/out" || why="the table lacks the hypercall row"
			# reset, snapshot, restore, call: measured, each with its baseline or without
			# (one case a line in the JSON)
			for row in 'reset true' 'reset-clean true' 'snapshot false' 'restore true' \
				'call true' 'call-reset true'; do
				key="\"name\": \"${row% *}\", \"what\": "
				grep -F -e "$key" "$T/bench.json" |
					grep -qF -e "\"measured\": true, \"baseline\": ${row#* }" ||
					{ why="the JSON lacks a measured ${row% *} row (baseline ${row#* })"; break; }
				grep -q "^${row% *}  *[0-9.]* " "$T/out" || { why="the table lacks the ${row% *} row"; break; }
			done
		fi
	fi
	report "$name" "$why"
}
bench_smoke

# ---- calls into the guest (bench/callpool.c): a smoke run -------------
# Two VMs serve 200 requests by kr_vm_call, reset before each; every result is
# checked by callpool itself. Its calls per second are printed, not checked.
callpool_smoke() {
	name=callpool-smoke
	selected "$name" || return 0
	bdir=$(dirname "$KVMRUN")
	why=
	if [ ! -x "$bdir/callpool" ]; then
		why="no $bdir/callpool (run make)"
	else
		timeout -s KILL 120 "$bdir/callpool" --guest "$G/calc.elf" --threads 2 \
			--requests 200 >"$T/out" 2>"$T/err" </dev/null
		status=$?
		if [ "$status" -ne 0 ]; then
			why="exit status $status: $(head -c 300 "$T/err")"
		elif ! grep -q '^callpool: 200 of 200 requests' "$T/out" ||
			! grep -q 'calls/s' "$T/out"; then
			why="unexpected output: $(head -c 300 "$T/out")"
		fi
	fi
	report "$name" "$why"
}
callpool_smoke

# ---- snapshots: run --snapshot, restore (snapshot section) ----------------------
check_snapshot_written() {
	[ "$(head -c 8 "$T/run.snap" 2>/dev/null)" = KVMRSNAP ] || echo "no snapshot in $T/run.snap"
	rm -f "$T/run.snap"
}
SNAP_BEFORE='before 1 acc=0xda\nbefore 2 acc=0x1a68\nbefore 3 acc=0x3329b\nsnapshot\n'
SNAP_AFTER='after 4 acc=0x6320c9\nafter 5 acc=0xc00f85c\nafter 6 acc=0x1741e132a\npattern ok\n'
CHECK=check_snapshot_written
t snapshot-run-writes-a-file 42 "$SNAP_BEFORE$SNAP_AFTER" \
	-- run --snapshot "$T/run.snap" "$G/snapcount.elf"
# The files the tests below restore, made here so that each test runs alone too.
if [ -z "$LIST" ]; then
	timeout $TIMEOUT "$KVMRUN" run --snapshot "$T/count.snap" "$G/snapcount.elf" >/dev/null 2>&1
	timeout $TIMEOUT "$KVMRUN" run --snapshot-at stop --snapshot "$T/hlt.snap" "$G/hlt.elf" \
		>/dev/null 2>&1
fi
t snapshot-restore-goes-on-from-it 42 "$SNAP_AFTER" -- restore "$T/count.snap"
t snapshot-restore-twice-same-result 42 "$SNAP_AFTER" -- restore "$T/count.snap"
t snapshot-hypercall-without-snapshot-is-a-no-op 42 "$SNAP_BEFORE$SNAP_AFTER" \
	-- run "$G/snapcount.elf"
CHECK=check_snapshot_written
t snapshot-at-stop 0 'halting\n' -- run --snapshot-at stop --snapshot "$T/run.snap" "$G/hlt.elf"
t snapshot-restore-after-hlt 99 'hlt: resumed after hlt\n' -- restore "$T/hlt.snap"
t snapshot-at-bad-value $VMM_ERROR '' "--snapshot-at 'never': expected hypercall or stop" \
	-- run --snapshot-at never --snapshot "$T/x.snap" "$G/hlt.elf"
# Spoilt copies: cut short, a byte of the last page flipped, the magic, the version.
if [ -z "$LIST" ] && [ -f "$T/count.snap" ]; then
	size=$(wc -c <"$T/count.snap")
	head -c $((size - 1)) "$T/count.snap" >"$T/trunc.snap"
	for f in corrupt magic version; do cp "$T/count.snap" "$T/$f.snap"; done
	printf 'Z' | dd of="$T/corrupt.snap" bs=1 seek=$((size - 100)) conv=notrunc 2>/dev/null
	printf 'X' | dd of="$T/magic.snap" bs=1 seek=0 conv=notrunc 2>/dev/null
	printf '\003' | dd of="$T/version.snap" bs=1 seek=8 conv=notrunc 2>/dev/null
	: >"$T/empty.snap"
fi
t snapshot-refuses-truncated $VMM_ERROR '' 'snapshot: truncated' -- restore "$T/trunc.snap"
t snapshot-refuses-corrupt $VMM_ERROR '' 'checksum mismatch' 'the file is corrupt' \
	-- restore "$T/corrupt.snap"
t snapshot-refuses-bad-magic $VMM_ERROR '' 'bad magic: not a kvmrun snapshot' \
	-- restore "$T/magic.snap"
t snapshot-refuses-other-version $VMM_ERROR '' 'version 3, but this kvmrun reads versions 1 to 2' \
	-- restore "$T/version.snap"
t snapshot-refuses-empty $VMM_ERROR '' 'is empty' -- restore "$T/empty.snap"
t snapshot-refuses-missing $VMM_ERROR '' 'No such file' -- restore "$T/none.snap"
t snapshot-restore-needs-a-file $VMM_ERROR '' 'kvmrun restore: expected one snapshot FILE' -- restore

# ---- snapshots of the PC platform (mbsnap.elf) ------------------------------------
# A multiboot kernel gets the PC platform (in-kernel PICs, I/O APIC, LAPIC, PIT; COM1
# on IRQ 4; the CMOS clock, i8042, fw_cfg). mbsnap leaves state in each, asks for a
# snapshot and reads it all back; restored, it must read the same ("FAIL what: got,
# want" lines and status 2v+1 otherwise), every time.
CHECK=check_snapshot_written
t snapshot-pc-run-writes-a-file 1 'mbsnap: programmed\nmbsnap: ok\n' \
	-- run --snapshot "$T/run.snap" --snapshot-at hypercall "$G/mbsnap.elf"
if [ -z "$LIST" ]; then
	timeout $TIMEOUT "$KVMRUN" run --snapshot "$T/pc.snap" "$G/mbsnap.elf" >/dev/null 2>&1
fi
t snapshot-pc-restore-reads-every-device-back 1 'mbsnap: ok\n' -- restore "$T/pc.snap"
t snapshot-pc-restore-twice-same-result 1 'mbsnap: ok\n' -- restore "$T/pc.snap"

# ---- gdb (kvmrun run --gdb) ---------------------------------------------------
# gdb in batch mode attaches to kvmrun, which waits for it before the first
# instruction; the guest's status and output must come through intact. In the
# QEMU test bed, gdb is the one tests/run-all.sh copies in (KVMRUN_GDB).
GDB=${KVMRUN_GDB:-gdb}
GDB_SOCK=$T/gdb.sock
GDB_CMDS= GDB_TARGET= GDB_FILE=
# gdb_attach: (BEFORE) gdb with $GDB_CMDS (one command per line) in the
# background, once kvmrun's socket is there; its output in $T/gdb.out.
gdb_attach() {
	rm -f "$T/gdb.out" "$T/gdb.pid" "$GDB_SOCK"
	(
		i=0
		case $GDB_TARGET in
		/*) while [ ! -S "$GDB_TARGET" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done ;;
		esac
		set --
		while IFS= read -r line; do
			set -- "$@" -ex "$line"
		done <<EOF
$GDB_CMDS
EOF
		# No timeout wrapper: $! must be gdb itself, for the SIGINT of a Ctrl-C (coreutils'
		# timeout would pass it on twice, and gdb gives up at the second). gdb ends when
		# kvmrun does, which t bounds.
		exec "$GDB" -nx -batch -ex "target remote $GDB_TARGET" "$@" $GDB_FILE >"$T/gdb.out" 2>&1
	) &
	echo $! >"$T/gdb.pid"
}
# gdb_attach_then_interrupt: (BEFORE) gdb_attach, and once the guest (printspin)
# has printed all it prints before it spins, SIGINT to gdb: its Ctrl-C, which
# it sends to kvmrun as 0x03.
gdb_attach_then_interrupt() {
	gdb_attach
	(
		i=0
		while ! grep -q 'no newline' "$T/out" 2>/dev/null && [ $i -lt 600 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -INT "$(cat "$T/gdb.pid")"
	) &
}
# gdb_saw PATTERN...: (in a CHECK) gdb ended and printed each fixed string.
gdb_saw() {
	wait "$(cat "$T/gdb.pid")" 2>/dev/null
	for want in "$@"; do
		grep -qF -e "$want" "$T/gdb.out" || {
			echo "gdb did not print '$want'; it printed:"
			sed 's/^/    /' "$T/gdb.out"
			return
		}
	done
}
check_gdb_session() {
	gdb_saw 'Breakpoint 1, sum_to (n=5) at' '$1 = 5' '$2 = 0' 'exited with code 067]'
}
check_gdb_memory() {
	gdb_saw 'rip            0x' 'cr0            0x80' '$1 = 5' 'exited with code 034]'
}
check_gdb_32bit() {
	gdb_saw 'eip            0x100000' '(currently "i386")' \
		'exited with code 04]'
}
check_gdb_watch() {
	gdb_saw 'atchpoint 2: total' 'New value = 1' 'exited with code 017]'
}
check_gdb_interrupt() {
	gdb_saw 'Program received signal SIGINT, Interrupt.' 'printspin.c:' 'rip            0x'
}
check_gdb_detach() {
	gdb_saw '[Inferior 1 (Remote target) detached]'
}

TIMEOUT_WAS=$TIMEOUT
TIMEOUT=150
# Break at a function, read an argument, step, read a local, change the
# argument: the sum of 1..10 (55) instead of 1..5 comes back as the status.
GDB_TARGET=$GDB_SOCK GDB_FILE=$G/gdbdemo.elf
GDB_CMDS='break sum_to
continue
print n
next
next
print total
set var n = 10
continue'
NEEDS='gdb gdb-singlestep' BEFORE=gdb_attach CHECK=check_gdb_session
t gdb-break-step-set 55 'sum 55\n' -- run --gdb "unix:$GDB_SOCK" "$G/gdbdemo.elf"

# Over TCP: registers incl. the control registers, memory read and written by
# virtual address (a global), and continue without breakpoints.
GDB_PORT=$((20000 + $$ % 20000))
GDB_TARGET=127.0.0.1:$GDB_PORT
GDB_CMDS='info registers rip cr0
print limit
set var limit = 7
continue'
NEEDS=gdb BEFORE=gdb_attach CHECK=check_gdb_memory
t gdb-tcp-memory 28 'sum 28\n' -- run --gdb "$GDB_PORT" "$G/gdbdemo.elf"

# A 32-bit guest gets the i386 register set.
GDB_TARGET=$GDB_SOCK GDB_FILE=
GDB_CMDS='info registers eip
show architecture
continue'
NEEDS=gdb BEFORE=gdb_attach CHECK=check_gdb_32bit
t gdb-32bit-registers 4 'protected mode\n' -- run --mode protected --gdb "unix:$GDB_SOCK" \
	"$G/protected.bin"

# Detached, the guest runs on to its end.
GDB_FILE=$G/gdbdemo.elf
GDB_CMDS='detach'
NEEDS=gdb BEFORE=gdb_attach CHECK=check_gdb_detach
t gdb-detach-runs-on 15 'sum 15\n' -- run --gdb "unix:$GDB_SOCK" "$G/gdbdemo.elf"

# Ctrl-C stops a guest that spins; kill ends it (gdb's kill: status 0).
GDB_FILE=$G/printspin.elf
GDB_CMDS='continue
info registers rip
kill'
NEEDS=gdb BEFORE=gdb_attach_then_interrupt CHECK=check_gdb_interrupt
t gdb-ctrl-c-interrupts 0 'port line\nwrite, no newline' -- run --gdb "unix:$GDB_SOCK" \
	"$G/printspin.elf"

# A watchpoint: neither kvm_pvm nor the test bed's nested SVM honour data
# breakpoints in the debug registers (gdb-watchpoints), so the stub declines
# Z2 and gdb, told so, watches by single-stepping: a software watchpoint.
GDB_FILE=$G/gdbdemo.elf
GDB_CMDS='set can-use-hw-watchpoints 0
break sum_to
continue
watch total
continue
delete
continue'
NEEDS='gdb gdb-singlestep' BEFORE=gdb_attach CHECK=check_gdb_watch
t gdb-watchpoint 15 'sum 15\n' -- run --gdb "unix:$GDB_SOCK" "$G/gdbdemo.elf"
TIMEOUT=$TIMEOUT_WAS

t gdb-bad-address $VMM_ERROR '' \
	"kvmrun run: --gdb 'host:port': expected a TCP port (1..65535) or unix:PATH" \
	-- run --gdb host:port "$G/gdbdemo.elf"


# ---- several vCPUs (run --cpus N): APs started by the guest -------------------
t smp-count-1 1 'smpcount: 1 of 1 vCPUs counted\n' -- run --timeout 20 "$G/smpcount.elf"
t smp-count-2 2 'smpcount: 2 of 2 vCPUs counted\n' -- run --cpus 2 --timeout 20 "$G/smpcount.elf"
t smp-count-4 4 'smpcount: 4 of 4 vCPUs counted\n' -- run --cpus 4 --timeout 20 "$G/smpcount.elf"
t smp-count-no-seccomp 2 'smpcount: 2 of 2 vCPUs counted\n' \
	-- run --cpus 2 --no-seccomp --timeout 20 "$G/smpcount.elf"
# An AP crashes while vCPU 0 spins: the run ends at once (not at the timeout), for vCPU 1.
t smp-ap-crash-ends-the-run $GUEST_CRASH 'smpcrash: starting vCPU 1\n' \
	'vCPU 1: guest exception #PF (page fault)' 'crash report' \
	-- run --cpus 2 --timeout 20 "$G/smpcrash.elf"
# vCPU 1 spins while vCPU 0 exits: the EXIT status, at once.
t smp-bsp-exit-with-a-spinning-ap 7 'smpexit: vCPU 1 spins, vCPU 0 exits\n' \
	-- run --cpus 2 --timeout 20 "$G/smpexit.elf"
# The exit observer (--trace) runs on every vCPU's thread: records of both, one per line.
check_smp_trace() {
	grep -q '"vcpu":0' "$T/smp.trace" || echo "no exit of vCPU 0 in the trace"
	grep -q '"vcpu":1' "$T/smp.trace" || echo "no exit of vCPU 1 in the trace"
	grep -v '^{.*}$' "$T/smp.trace" | head -1 | sed 's/^/a line that is no JSON object: /'
}
CHECK=check_smp_trace
t smp-trace-names-the-vcpus 2 'smpcount: 2 of 2 vCPUs counted\n' \
	-- run --cpus 2 --timeout 20 --trace "$T/smp.trace" "$G/smpcount.elf"
t smp-start-cpu-beyond-the-vcpus $GUEST_CRASH 'smpcrash: starting vCPU 1\n' \
	'KVMRUN_HC_START_CPU: vCPU 1 does not exist (the VM has 1: 0..0)' \
	-- run --timeout 20 "$G/smpcrash.elf"
t smp-cpus-0-refused $VMM_ERROR '' "kvmrun run: --cpus '0': expected a vCPU count from 1 to 64" \
	-- run --cpus 0 "$G/smpcount.elf"
t smp-cpus-too-many-refused $VMM_ERROR '' "kvmrun run: --cpus '65': expected a vCPU count from 1 to 64" \
	-- run --cpus 65 "$G/smpcount.elf"
t smp-cpus-not-a-number-refused $VMM_ERROR '' "kvmrun run: --cpus 'two': expected a vCPU count" \
	-- run --cpus two "$G/smpcount.elf"
t smp-boot-cpus-0-refused $VMM_ERROR '' "kvmrun boot: --cpus '0': expected a vCPU count from 1 to 64" \
	-- boot --cpus 0 --kernel "$G/hello.elf"
t smp-snapshot-refused $VMM_ERROR '' 'kvmrun run: --snapshot works with one vCPU only, not --cpus 2' \
	-- run --cpus 2 --snapshot "$T/smp.snap" "$G/smpcount.elf"
check_smp_help() {
	grep -q -e '--cpus N' "$T/out" || echo "run --help lacks --cpus N"
}
CHECK=check_smp_help
t smp-help-lists-cpus 0 '*' -- run --help

# ---- 32-bit C guests from guest.mk (32/NAME.elf, 32/NAME.bin) ------------------
# The SDK's crt0-32, printf (64-bit numbers without libgcc), heap and WRITE
# hypercall in protected mode, as an ELF32 and as a raw image; 32-bit paging
# where the back end has it; long mode refuses an ELF32.
SDK32_OUT='hello from a 32-bit C guest\nlong 32 bits, pointer 32 bits\n-9000000000 18446744073709551615 123456789abcdef -5\nram 32 MiB, heap above the image: yes\nheap sum 85344\n'
t sdk32-protected-elf 32 "$SDK32_OUT" -- run --mode protected "$G/32/hello32.elf"
t sdk32-protected-bin 32 "$SDK32_OUT" -- run --mode protected "$G/32/hello32.bin"
NEEDS=paged32
t sdk32-paged32-elf 32 "$SDK32_OUT" -- run --mode paged32 "$G/32/hello32.elf"
# ... and built outside the tree with the installed SDK (tests/install/build-outside.sh)
t sdk32-installed-sdk 32 "$SDK32_OUT" -- run --mode protected "${OUTSIDE:-$ROOT/build/outside}/hello32.elf"
t sdk32-long-mode-refuses-elf32 $VMM_ERROR '' 'a 32-bit ELF (ELFCLASS32) needs protected or paged32 mode' \
	-- run --mode long "$G/32/hello32.elf"

# ---- gdb with several vCPUs: each vCPU a thread ----------------------------------
# gdbsmp: vCPU 0 starts vCPU 1 in ap_work(7, 1) and exits with what it leaves.
# vCPU 0 is in main's wait loop, or still in kr_start_cpu (inlined into
# main: #1 main) when vCPU 1 gets to the breakpoint: either way not ap_work.
check_gdb_smp_threads() {
	gdb_saw 'Thread 2 hit Breakpoint 1, ap_work (arg=7, cpu=1) at' \
		'1    Thread 1 (vCPU 0, running)' '* 2    Thread 2 (vCPU 1, running) ap_work' \
		'$1 = 1' '$2 = 49' '[Switching to thread 1 (Thread 1)]' 'exited with code 0145]'
	grep -Eq '^#[01] .*main \(ram_size=' "$T/gdb.out" || echo "thread 1's bt shows no main"
	grep -Eq '^rip +0x[0-9a-f]+ +0x[0-9a-f]+ <(main|kr_start_cpu)\+' "$T/gdb.out" ||
		echo "thread 1's rip is not vCPU 0's: $(grep '^rip' "$T/gdb.out")"
}
check_gdb_smp_not_started() {
	gdb_saw 'Thread 1 hit Breakpoint 1, main (' '2    Thread 2 (vCPU 1, not started)' \
		'Remote failure reply: E04' 'exited with code 062]'
}
TIMEOUT_WAS=$TIMEOUT
TIMEOUT=150
# A breakpoint in the AP's function stops with the AP's thread current; its
# locals are read and set there (square 49 -> 100: status 101, not 50); then
# thread 1's backtrace and registers are vCPU 0's, in main.
GDB_TARGET=$GDB_SOCK GDB_FILE=$G/gdbsmp.elf
GDB_CMDS='break ap_work
continue
info threads
print cpu
next
print square
set var square = 100
thread 1
bt
info registers rip
continue'
NEEDS='gdb gdb-singlestep' BEFORE=gdb_attach CHECK=check_gdb_smp_threads
t gdb-smp-threads 101 'gdbsmp 101\n' -- run --cpus 2 --gdb "unix:$GDB_SOCK" "$G/gdbsmp.elf"

# Before vCPU 0 starts it, vCPU 1 is listed as "not started", and a step of
# it alone is refused (E04: it would never end); the guest then runs as usual.
GDB_CMDS='break main
continue
info threads
thread 2
stepi
thread 1
continue'
NEEDS='gdb gdb-singlestep' BEFORE=gdb_attach CHECK=check_gdb_smp_not_started
t gdb-smp-ap-not-started 50 'gdbsmp 50\n' -- run --cpus 2 --gdb "unix:$GDB_SOCK" "$G/gdbsmp.elf"
TIMEOUT=$TIMEOUT_WAS


[ -n "$LIST" ] && exit 0
# A name in the KVMRUN_TEST_ONLY list that is no test: a failure, or a typo would pass.
if [ -n "$KVMRUN_TEST_ONLY" ]; then
	while read -r name; do
		[ -n "$name" ] || continue
		grep -qxF -e "$name" "$T/seen" && continue
		failed=$((failed + 1))
		echo "FAIL kvm/$name: no such test"
	done <"$KVMRUN_TEST_ONLY"
fi
if [ "$deferred" -gt 0 ]; then
	echo "kvm: $passed passed, $failed failed, $deferred deferred"
else
	echo "kvm: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
