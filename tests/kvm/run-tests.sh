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
TIMEOUT=30

# kvmrun's own exit statuses (src/cli/cli.h)
TIMEOUT_STATUS=124
VMM_ERROR=125
GUEST_CRASH=126

passed=0
failed=0

T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

if [ ! -x "$KVMRUN" ]; then
	echo "kvm: no kvmrun at $KVMRUN (run make, or set KVMRUN)"
	exit 1
fi
if [ ! -f "$GUESTS/hello.elf" ]; then
	echo "kvm: no guests in $GUESTS (run make guests, or set GUESTS)"
	exit 1
fi
[ -e /dev/kvm ] || echo "# note: there is no /dev/kvm here: expect every guest to fail"

# Options for the next call of t, reset by it:
#   NORM   a sed expression applied to stdout before comparing it
#   CHECK  a function called with no arguments after the run ($T/out and
#          $T/err hold what was captured); it prints why it fails, or nothing
NORM=
CHECK=

# t NAME STATUS STDOUT [STDERR-STRING]... -- KVMRUN-ARGUMENT...
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
	norm=$NORM check=$CHECK
	NORM='' CHECK=''

	case $name in
	*"$TEST_FILTER"*) ;;
	*) return 0 ;;
	esac

	# KILL, so that a hang (137) never passes for kvmrun's own timeout status (124)
	timeout -s KILL "$TIMEOUT" "$KVMRUN" "$@" >"$T/out" 2>"$T/err" </dev/null
	status=$?

	why=
	if [ "$status" -ne "$want_status" ]; then
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
	if [ -z "$why" ] && [ "$want_status" -ge "$VMM_ERROR" ] && [ ! -s "$T/err" ]; then
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
}

# The crash report names #UD at the address the guest printed before the ud2.
check_ud_address() {
	addr=$(sed -n 's/^ud2 at \(0x[0-9a-f]*\)$/\1/p' "$T/out")
	[ -n "$addr" ] || { echo "the guest did not print its ud2 address"; return; }
	grep -q "^exception #UD (invalid opcode) (vector 6), error code 0x0, at rip=$addr " "$T/err" ||
		echo "the report does not name #UD at rip=$addr"
	grep -q "^bytes at rip: 0f 0b" "$T/err" || echo "the bytes at rip are not ud2 (0f 0b)"
}

# --dump wrote JSON with the exception, the registers and both page walks.
check_dump() {
	for want in '"reason":"exception"' '"vector":14' '"cr2":"0x7fefffffff8"' \
		'"rsp":"0x7ff00000000"' '"walk_rip":{' '"walk_rsp":{' '"fail_reason":"not present"' \
		'"efer_bits":["LME","LMA","NXE"]'; do
		grep -qF "$want" "$T/dump.json" || { echo "dump lacks $want"; return; }
	done
}

# The exits of a guest without timers or interrupts are deterministic: the
# trace, host times removed, must match the golden file line by line.
GOLDEN=${GOLDEN:-$ROOT/tests/kvm/golden}
check_golden_trace() {
	sed -e 's/,"ns":[0-9]*//' "$T/trace.json" >"$T/trace.norm"
	cmp -s "$GOLDEN/real.trace" "$T/trace.norm" || {
		echo "trace differs from tests/kvm/golden/real.trace:"
		diff "$GOLDEN/real.trace" "$T/trace.norm" | head -n 20
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

t crash-triple-fault-real $GUEST_CRASH '' 'KVM_EXIT_SHUTDOWN' -- run --mode real "$G/triple-real.bin"
t crash-triple-fault-protected $GUEST_CRASH '' 'KVM_EXIT_SHUTDOWN' \
	-- run --mode protected "$G/triple32.bin"
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
t bad-elf64-protected $VMM_ERROR '' 'ELF' 'ELFCLASS64' 'needs --mode long' -- run --mode protected "$G/hello.elf"
t bad-elf32-long $VMM_ERROR '' 'ELF' 'ELFCLASS32' 'needs --mode protected or --mode paged32' \
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

# ---- kvmrun info ------------------------------------------------------------------
CHECK=check_info
t info 0 '*' -- info

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

echo "kvm: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
