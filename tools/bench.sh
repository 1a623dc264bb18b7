#!/usr/bin/env bash
# tools/bench.sh (`make bench`): rust_trace side by side with ftrace in one
# guest boot under QEMU's -icount shift=0,sleep=off, where the guest clock
# advances one nanosecond per guest instruction: times are instruction
# counts of the whole guest, repeatable to a fraction of a percent, not
# bare-metal nanoseconds. The ratios between tracers are the result.
#
# env: REPS (repetitions of each run, default 7), SMPS (guest CPU counts,
# one guest each, default "2 4": the cost per event must not grow with
# them), WORKLOADS (default "pingpong forkstorm threadstorm") and TRACERS
# (default all: none ftrace rust_trace rust_trace_pid rust_trace_cgroup
# rust_trace_events rust_trace_flight rust_trace_trigger): fewer, with a
# larger REPS, narrow an error bar in the same time; RESULTS (default
# tools/bench/results.json). Writes RESULTS and prints the table.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$RUST_TRACE_ROOT"
KDIR=$(tools/build.sh | tail -1)
mkdir -p build/bench
make -s -C tools/bench OUTPUT="$RUST_TRACE_ROOT/build/bench"
raws=()
for smp in ${SMPS:-2 4}; do
  out=build/bench-guest-smp$smp
  echo "bench: booting the guest with $smp CPUs and -icount (REPS=${REPS:-7}); this takes a few minutes"
  ICOUNT=1 SMP=$smp KDIR="$KDIR" GUEST_TIMEOUT=${GUEST_TIMEOUT:-3600} \
    APPEND_EXTRA="rust_trace_bench_reps=${REPS:-7} rust_trace_bench_workloads=$(echo ${WORKLOADS:-pingpong forkstorm threadstorm} | tr ' ' ,)${TRACERS:+ rust_trace_bench_tracers=$(echo $TRACERS | tr ' ' ,)}" \
    tools/boot-guest.sh "$out" tools/guest/bench-payload.sh \
    build/kselftest:/kselftest build/bench/rust_trace_bench:/bench/rust_trace_bench \
    "$KDIR/kernel/trace/ring_buffer_benchmark.ko:/bench/ring_buffer_benchmark.ko" \
    build/rust_trace.ko:/lib/modules/rust_trace.ko \
    build/rust_trace-microbench.ko:/lib/modules/rust_trace-microbench.ko > "$out.log" 2>&1 || {
      tail -20 "$out.log"; exit 1; }
  grep -h '^BENCH\|^bench:\|^MICRO\|^RBBENCH\|^SNAPCOST' "$out/results/console.log" > build/bench/raw-smp$smp.txt
  raws+=(build/bench/raw-smp$smp.txt)
done
python3 tools/bench/report.py "${RESULTS:-tools/bench/results.json}" "${raws[@]}"
