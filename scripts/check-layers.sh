#!/bin/sh
# check-layers.sh - the library's layers hold (README, "Architecture"):
#
#   cli/                     the command: the public API (kvmrun.h) only
#   loader/, x86/board.c     the public API's top: images; the machine and its devices
#   devices/                 one file per device; may use x86/ and core/
#   debug/                   the gdb stub's protocol; may use x86/gdb.h and core/
#   x86/ (but board.c)       CPU modes, GDT, CPUID, page tables, exceptions, translation
#   core/                    KVM plumbing: fds, slots, bus, run loop, sandbox; names no device
#
# Arrows only point down: a file includes headers of its own layer or lower
# ones. Also: no core file names a device, the board or x86 code; no library
# message names a command-line flag; internal.h stays gone. Exits 1 with a
# line per violation.
cd "$(dirname "$0")/.." || exit 2
bad=0
fail() {
	echo "check-layers: $*"
	bad=1
}

# The project headers a file includes ("dir/name.h"), one per line.
includes() {
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"
}

# check FILE ALLOWED-PATTERN: every project include of FILE matches the pattern.
check() {
	for inc in $(includes "$1"); do
		echo "$inc" | grep -Eq "^($2)$" || fail "$1 includes \"$inc\" (a higher layer)"
	done
}

for f in src/core/*.c src/core/*.h; do
	check "$f" 'kvmrun\.h|kvmrun_abi\.h|syscall_names\.h|seccomp_filter\.h|core/[a-z0-9_]+\.h'
	# Devices, the board, x86 or loader code by name (comments aside).
	if sed 's://.*$::; s:/\*.*\*/::g' "$f" | grep -v '^[[:space:]]*\*' |
		grep -Eq '\bkr_(console|hypercall|exception|board|x86|cpuid|gdt|pt(32|64)?|page_tables|memmap|sregs|load)_?[a-z0-9_]*\b|KR_EFER_|KR_PTE_'; then
		fail "$f names a device, the board or x86 code:"
		sed 's://.*$::; s:/\*.*\*/::g' "$f" | grep -v '^[[:space:]]*\*' |
			grep -nE '\bkr_(console|hypercall|exception|board|x86|cpuid|gdt|pt(32|64)?|page_tables|memmap|sregs|load)_?[a-z0-9_]*\b|KR_EFER_|KR_PTE_' | sed 's/^/    /'
	fi
done
for f in src/x86/*.c src/x86/*.h; do
	case $f in
	src/x86/board.c | src/x86/board.h) check "$f" 'kvmrun\.h|kvmrun_abi\.h|core/[a-z0-9_]+\.h|x86/[a-z0-9_]+\.h|devices/[a-z0-9_]+\.h' ;;
	*) check "$f" 'kvmrun\.h|kvmrun_abi\.h|core/[a-z0-9_]+\.h|x86/[a-z0-9_]+\.h' ;;
	esac
done
for f in src/devices/*.c src/devices/*.h; do
	check "$f" 'kvmrun\.h|kvmrun_abi\.h|core/[a-z0-9_]+\.h|x86/(x86|translate)\.h|devices/[a-z0-9_]+\.h'
done
# The gdb stub: the protocol in debug/, the x86 register set and debug registers in x86/gdb.h.
for f in src/debug/*.c src/debug/*.h; do
	check "$f" 'kvmrun\.h|kvmrun_abi\.h|core/[a-z0-9_]+\.h|x86/gdb\.h|debug/[a-z0-9_]+\.h'
done
for f in src/loader/*.c src/loader/*.h; do
	# x86/board.h: the board is the loaders' own layer (a multiboot kernel gets the PC devices)
	# x86/snapshot.h: kr_vm_call puts its own writes back after a reset, keeps translations per snapshot
	check "$f" 'kvmrun\.h|kvmrun_abi\.h|core/[a-z0-9_]+\.h|x86/(x86|memmap|board|snapshot)\.h|loader/[a-z0-9_]+\.h'
done
# The command sees the library only through its public header.
for f in src/cli/*.c src/cli/*.h; do
	check "$f" 'kvmrun\.h|kvmrun_abi\.h|[a-z0-9_]+\.h'
	includes "$f" | grep -q / && fail "$f includes a library-internal header"
done

# A library message names what the caller set (cfg.mode), never a flag of the command.
grep -nE '"[^"]*--[a-z][a-z-]*' src/core/*.c src/x86/*.c src/devices/*.c src/loader/*.c |
	while IFS= read -r line; do
		echo "check-layers: a library message names a command-line flag: $line"
	done | grep . && bad=1

[ -e src/internal.h ] && fail "src/internal.h is back: give each module its own header"
grep -ln '"internal.h"' src/*/*.[ch] 2>/dev/null | while read -r f; do
	echo "check-layers: $f includes internal.h"
done | grep . && bad=1

if [ "$bad" -eq 0 ]; then
	echo "check-layers: ok"
fi
exit "$bad"
