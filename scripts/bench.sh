#!/usr/bin/env bash
# scripts/bench.sh (`make bench`): rust_trace side by side with ftrace in one
# guest boot under QEMU's -icount shift=0,sleep=off, where the guest clock
# advances one nanosecond per guest instruction: times are instruction
# counts of the whole guest, repeatable to a fraction of a percent, not
# bare-metal nanoseconds. The ratios between tracers are the result.
#
# env: REPS (repetitions of each run, default 5), SMP (default 2).
# Writes bench/results.json and prints the table.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$RT_ROOT"
KDIR=$(scripts/build-all.sh | tail -1)
mkdir -p build/bench
make -s -C bench OUTPUT="$RT_ROOT/build/bench"
out=build/bench-guest
echo "bench: booting the guest with -icount (REPS=${REPS:-5}); this takes a few minutes"
ICOUNT=1 SMP=${SMP:-2} KDIR="$KDIR" GUEST_TIMEOUT=${GUEST_TIMEOUT:-3600} \
  APPEND_EXTRA="rt_bench_reps=${REPS:-5}" scripts/guest.sh "$out" guest/bench.sh \
  build/kselftest:/kselftest build/bench/rt_bench:/bench/rt_bench \
  "$KDIR/kernel/trace/ring_buffer_benchmark.ko:/bench/ring_buffer_benchmark.ko" \
  build/rust_trace.ko:/lib/modules/rust_trace.ko \
  build/rust_trace-bench.ko:/lib/modules/rust_trace-bench.ko > "$out.log" 2>&1 || {
    tail -20 "$out.log"; exit 1; }
grep -h '^BENCH\|^bench:\|^MICRO\|^RBBENCH' "$out/results/console.log" > build/bench/raw.txt
python3 scripts/bench_report.py build/bench/raw.txt bench/results.json
