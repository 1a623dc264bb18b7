#!/usr/bin/env bash
# tools/bench-cgmove.sh: what moving a 5,000-thread process between two
# cgroups costs with rust_trace flight recording, in a guest of many CPUs
# under QEMU's -icount shift=0,sleep=off (times are guest instruction
# counts). The `cgroup_attach_task` probe runs once per thread with IRQs
# off; its cost must not grow with the number of CPUs. Not part of `make
# check`: a measurement, run by hand before changing the naming path.
#
# usage: tools/bench-cgmove.sh [MODULE.ko...]   (default: build/rust_trace.ko)
# env: SMP (guest CPUs, default 16), CGMOVE_THREADS (5000), CGMOVE_MOVES (5)
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$RUST_TRACE_ROOT"
KDIR=$(DEBUG=0 tools/kdir.sh)
out=build/bench-cgmove
mkdir -p "$out"
gcc -O2 -Wall -Wextra -static -o "$out/rust_trace_cgmove" tools/bench/rust_trace_cgmove.c -lpthread
mods=()
i=0
for m in "${@:-build/rust_trace.ko}"; do
  mods+=("$m:/lib/modules/rust_trace-$i.ko"); i=$((i + 1))
done
ICOUNT=1 SMP=${SMP:-16} MEM=${MEM:-2048} KDIR="$KDIR" GUEST_TIMEOUT=${GUEST_TIMEOUT:-3600} \
  APPEND_EXTRA="" tools/boot-guest.sh "$out/guest" tools/guest/cgmove-payload.sh \
  "$out/rust_trace_cgmove:/bench/rust_trace_cgmove" "${mods[@]}" > "$out/guest.log" 2>&1 || {
    tail -20 "$out/guest.log"; exit 1; }
grep -h '^bench:\|CGMOVE' "$out/guest/results/console.log"
