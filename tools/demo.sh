#!/usr/bin/env bash
# tools/demo.sh (`make demo`): set up, build, boot the guest, capture a
# real workload with `cat /dev/rust_trace > out`, bring `out` back to
# build/demo/out and show what it holds.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$RUST_TRACE_ROOT"
KDIR=$(tools/build.sh | tail -1)
out=build/demo
echo "demo: booting the guest (${SMP:-2} CPUs)"
KDIR="$KDIR" tools/boot-guest.sh "$out" tools/guest/demo-payload.sh \
  build/kselftest:/kselftest build/rust_trace.ko:/lib/modules/rust_trace.ko \
  | grep -E "guest\| (demo|written|cpu=|-rw)" || true
cp "$out/results/out" "$out/out"
dec=build/rtdecode
echo
echo "== $out/out: validation"
"$dec" validate "$out/out"
echo
echo "== first events (rtdecode report $out/out | head)"
"$dec" report "$out/out" | grep -m 12 rust_trace_p || true
echo
echo "== statistics (rtdecode stats $out/out)"
"$dec" stats --top 10 "$out/out"
echo
echo "== Perfetto export"
"$dec" perfetto "$out/out" -o "$out/out.pftrace"
"$dec" perfetto "$out/out" -o "$out/out.json" --format json
echo "open $out/out.pftrace in ui.perfetto.dev (or $out/out.json in chrome://tracing)"
