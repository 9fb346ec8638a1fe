#!/usr/bin/env bash
# bench-exit-path.sh [BASE_REV] - what the exit observer costs when it is off.
#
# Builds kvmrun at BASE_REV (default: the commit before exit observers came)
# beside this tree's, then, in one boot of the test bed (or natively), runs a
# guest that makes 20000 port-I/O exits with each binary, interleaved, and
# reports the best CPU time (user + sys) of each and their ratio. Also the
# cost of --trace for comparison. Wall time moves 1.5x between identical
# runs here, so CPU time and best-of-N are what is compared.
set -euo pipefail
cd "$(dirname "$0")/.."
base_rev=${1:-$(git log --format=%H -1 -S'kr_vm_observe_exits' -- include/kvmrun.h)~1}
runs=${RUNS:-7}
work=$(mktemp -d /var/tmp/kvmrun-bench.XXXXXX)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

make -s -j2 all >/dev/null
git worktree add --detach "$work/base" "$base_rev" >/dev/null 2>&1
# One commit of the history includes mk/fuzz.mk without tracking it.
if [ ! -e "$work/base/mk/fuzz.mk" ] && grep -q '^include mk/fuzz.mk' "$work/base/Makefile"; then
	mkdir -p "$work/base/mk" && cp mk/fuzz.mk "$work/base/mk/"
fi
make -s -C "$work/base" -j2 build/kvmrun >/dev/null
mkdir -p "$work/bin"
cp "$work/base/build/kvmrun" "$work/bin/kvmrun-base"
cp build/kvmrun "$work/bin/kvmrun-new"
cp build/guests/flood.elf "$work/bin/"

cat >"$work/bin/bench.sh" <<'INNER'
#!/bin/bash
# Best CPU time (ms) of $runs runs of each variant, interleaved.
cd "$(dirname "$0")"
runs=$1
TIMEFORMAT='%3U %3S'
declare -A best
for ((i = 0; i < runs; i++)); do
	for v in base new trace; do
		bin=./kvmrun-new
		extra=()
		[ $v = base ] && bin=./kvmrun-base
		[ $v = trace ] && extra=(--trace /dev/null)
		t=$( { time "$bin" run --max-output 20000 "${extra[@]}" flood.elf >/dev/null 2>&1; } 2>&1 )
		ms=$(awk '{ printf "%d", ($1 + $2) * 1000 }' <<<"$t")
		if [ -z "${best[$v]:-}" ] || [ "$ms" -lt "${best[$v]}" ]; then best[$v]=$ms; fi
	done
done
echo "20000 exits, best CPU time of $runs runs: base ${best[base]} ms, observer off ${best[new]} ms, --trace ${best[trace]} ms"
awk -v b="${best[base]}" -v n="${best[new]}" -v t="${best[trace]}" \
	'BEGIN { printf "ratio off/base = %.3f, trace/off = %.3f\n", n / b, t / n }'
INNER
chmod +x "$work/bin/bench.sh"
scripts/kvm-testbed --timeout 900 --payload "$work/bin" -- "$work/bin/bench.sh" "$runs"
