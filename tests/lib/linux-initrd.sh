#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/lib/linux-initrd.sh WORKDIR OUT.gz - the busybox initramfs of the Linux
# boot test (tests/kvm/run-tests.sh) and of make bench-boot (bench/boot.sh),
# one for both so that the benchmark boots what the test checks. Its /init
# prints KVMRUN-LINUX-UP, reads a line from the console and echoes it, prints
# the year from date and hwclock and the number of processors, and reboots.
# Uses the host's /bin/busybox (busybox-static); WORKDIR is filled, OUT written.
set -u
[ $# -eq 2 ] || { echo "usage: linux-initrd.sh WORKDIR OUT.gz" >&2; exit 2; }
D=$1
mkdir -p "$D/bin" "$D/dev" "$D/proc" || exit 1
cp /bin/busybox "$D/bin/busybox" || exit 1
cat >"$D/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs dev /dev 2>/dev/null
echo KVMRUN-LINUX-UP
read -r line
echo "KVMRUN-ECHO:$line"
echo "KVMRUN-DATE:$(/bin/busybox date -u +%Y)"
echo "KVMRUN-HWCLOCK:$(/bin/busybox hwclock -r -u 2>&1)"
/bin/busybox mount -t proc proc /proc
echo "KVMRUN-CPUS:$(/bin/busybox grep -c ^processor /proc/cpuinfo)"
/bin/busybox reboot -f
INIT
chmod 755 "$D/init" || exit 1
(cd "$D" && /bin/busybox find . | /bin/busybox cpio -o -H newc 2>/dev/null) |
	/bin/busybox gzip >"$2"
