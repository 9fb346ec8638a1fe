#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/boot.sh - boot-to-marker time and peak RSS of `kvmrun boot` against QEMU.
#
#   sh bench/boot.sh [BUILD-DIR]      (make bench-boot runs it in the test bed)
#
# The same kernel (BUILD/linux/vmlinuz, the test bed's Debian kernel) and the
# same busybox initramfs as the Linux test in tests/kvm/run-tests.sh: /init
# prints KVMRUN-LINUX-UP, reads a line, echoes it, prints the year and reboots. Each VMM is run
# by BUILD/bootwatch, which times fork to the marker line on the console
# (CLOCK_MONOTONIC) and reads the child's peak RSS from wait4. The two VMMs
# alternate, ROUNDS times each (default 5); the best (lowest) time of each
# counts, and its RSS is the largest seen. Prints a table, then the JSON
# between BENCH-BOOT-JSON-BEGIN and BENCH-BOOT-JSON-END lines (inside the test
# bed files written stay inside: make bench-boot cuts the JSON out of the
# output). Exit status 1 if any run failed to reach the marker or to exit 0.
#
# Both get 256 MiB, one vCPU (BENCH_BOOT_CPUS), the same command line (console=ttyS0 reboot=t
# quiet; QEMU's microvm also needs earlyprintk=ttyS0 for its early console, which
# changes nothing after quiet). QEMU: `-M microvm` with its ISA serial port and
# RTC (the Debian kernel's timer calibration wants the RTC), qboot as BIOS
# (/usr/share/qemu/bios-microvm.bin, the default), -cpu host as kvmrun passes
# KVM's supported CPUID, -no-reboot so that the guest's reboot ends it.
# Environment: ROUNDS, QEMU (default qemu-system-x86_64), KVMRUN_LINUX_KERNEL;
# BENCH_BOOT_APPEND (added to both command lines, e.g. "loglevel=7" to see where
# the time goes), BENCH_BOOT_SHOW=1 (print each console), BENCH_BOOT_CPUS (vCPUs
# of both, default 1).
set -u
B=${1:-build}
ROUNDS=${ROUNDS:-5}
CPUS=${BENCH_BOOT_CPUS:-1}
QEMU=${QEMU:-qemu-system-x86_64}
K=${KVMRUN_LINUX_KERNEL:-$B/linux/vmlinuz}
W=$B/bootwatch
T=$(mktemp -d /tmp/bench-boot.XXXXXX) || exit 2
trap 'rm -rf "$T"' EXIT
APPEND="console=ttyS0 reboot=t quiet${BENCH_BOOT_APPEND:+ $BENCH_BOOT_APPEND}"

for f in "$K" "$W" "$B/kvmrun"; do
	[ -e "$f" ] || { echo "bench-boot: no $f (run make)" >&2; exit 2; }
done
command -v "$QEMU" >/dev/null || { echo "bench-boot: no $QEMU" >&2; exit 2; }

# The initramfs: the Linux test's own (tests/lib/linux-initrd.sh).
sh "$(dirname "$0")/../tests/lib/linux-initrd.sh" "$T/ird" "$T/initrd.gz" || exit 2
I=$T/initrd.gz

run_kvmrun() {
	"$W" --timeout 120 --log "$T/console" -- "$B/kvmrun" boot --kernel "$K" --initrd "$I" \
		--append "$APPEND" --mem 256M --cpus "$CPUS" --timeout 110s
}
run_qemu() {
	"$W" --timeout 120 --log "$T/console" -- "$QEMU" -accel kvm \
		-M microvm,x-option-roms=off,isa-serial=on,rtc=on -cpu host -smp "$CPUS" -m 256M \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot \
		-kernel "$K" -initrd "$I" -append "$APPEND earlyprintk=ttyS0"
}

fail=0
# one VMM, one round: updates best_X, rss_X, runs_X
round() {
	vmm=$1
	# Printed before the run: should the test bed hang, the log says in which.
	printf '  %s: ' "$vmm"
	res=$(run_"$vmm" 2>"$T/err")
	rc=$?
	echo "$res"
	[ "${BENCH_BOOT_SHOW:-0}" = 1 ] && sed "s/^/    $vmm console| /" "$T/console"
	marker_ns= maxrss_kib= status=
	for kv in $res; do
		case $kv in
		marker_ns=*) marker_ns=${kv#*=} ;;
		maxrss_kib=*) maxrss_kib=${kv#*=} ;;
		status=*) status=${kv#*=} ;;
		esac
	done
	if [ "$rc" -ne 0 ] || [ -z "$marker_ns" ] || [ "$marker_ns" -lt 0 ] ||
		! grep -q "KVMRUN-ECHO:bench" "$T/console"; then
		echo "bench-boot: $vmm failed (bootwatch exit $rc, status ${status:-?})" >&2
		tail -c 2000 "$T/console" | sed 's/^/    console| /' >&2
		sed 's/^/    stderr| /' "$T/err" >&2
		fail=1
		return
	fi
	eval "b=\$best_$vmm; r=\$rss_$vmm"
	[ "$b" -lt 0 ] || [ "$marker_ns" -lt "$b" ] && b=$marker_ns
	[ "$maxrss_kib" -gt "$r" ] && r=$maxrss_kib
	eval "best_$vmm=$b; rss_$vmm=$r; runs_$vmm=\"\${runs_$vmm}\${runs_$vmm:+, }$marker_ns\""
}
# per VMM: best marker time (ns), largest peak RSS (KiB), every time
best_kvmrun=-1 best_qemu=-1 rss_kvmrun=0 rss_qemu=0 runs_kvmrun= runs_qemu=

echo "bench-boot: $ROUNDS rounds, kvmrun and QEMU alternating; kernel $K, running on Linux $(uname -r)"
i=1
while [ "$i" -le "$ROUNDS" ]; do
	echo "round $i"
	# Alternate which goes first, so neither always follows the other.
	if [ $((i % 2)) -eq 1 ]; then round kvmrun; round qemu; else round qemu; round kvmrun; fi
	i=$((i + 1))
done
[ "$best_kvmrun" -ge 0 ] && [ "$best_qemu" -ge 0 ] || { echo "bench-boot: no complete run" >&2; exit 1; }

backend=$("$B/kvmrun" info 2>/dev/null | sed -n 's/^back.end: *//p' | head -n 1)
qver=$("$QEMU" --version | head -n 1)
ms() { echo "$1" | awk '{ printf "%.1f", $1 / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
tr=$(ratio "$best_kvmrun" "$best_qemu")
rr=$(ratio "$rss_kvmrun" "$rss_qemu")
echo
printf '%-28s %14s %14s %10s\n' "boot to marker (best of $ROUNDS)" kvmrun QEMU kvmrun/QEMU
printf '%-28s %11s ms %11s ms %9sx\n' "time" "$(ms "$best_kvmrun")" "$(ms "$best_qemu")" "$tr"
printf '%-28s %10s KiB %10s KiB %9sx\n' "peak RSS" "$rss_kvmrun" "$rss_qemu" "$rr"
echo "QEMU: $qver, -M microvm; KVM back end: ${backend:-unknown}; $(date -u +%Y-%m-%d)"
echo BENCH-BOOT-JSON-BEGIN
cat <<JSON
{
  "benchmark": "boot-to-marker",
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "kernel": "$(uname -r)",
  "backend": "${backend:-unknown}",
  "rounds": $ROUNDS,
  "append": "$APPEND",
  "qemu_version": "$qver",
  "qemu_machine": "microvm,x-option-roms=off,isa-serial=on,rtc=on",
  "kvmrun": { "best_ns": $best_kvmrun, "runs_ns": [$runs_kvmrun], "peak_rss_kib": $rss_kvmrun },
  "qemu": { "best_ns": $best_qemu, "runs_ns": [$runs_qemu], "peak_rss_kib": $rss_qemu },
  "ratio_time": $tr,
  "ratio_rss": $rr
}
JSON
echo BENCH-BOOT-JSON-END
exit $fail
