#!/usr/bin/env bash
# scripts/check.sh (`make check`): every test of rust_trace.
#
#   host: rustfmt and clippy on the module (CLIPPY=1), cargo fmt, clippy and
#         tests of the decoder, the KTAP/dmesg checker's own tests;
#   guest: the kselftests in a QEMU guest with SMP=2 and SMP=4 CPUs (the
#         list in $SMP_LIST), each boot's dmesg checked for BUG/WARNING/
#         lockdep/atomic-sleep reports.
#
# env: DEBUG=1 runs on the debug kernel (lockdep, atomic-sleep checks,
#      KASAN); SMP_LIST="2 4"; RT_INJECT=fail|warn|hang shows that a
#      failing test, a kernel WARNING and a hung guest each fail the run.
# Ends with "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$RT_ROOT"
start=$(date +%s)
PASS=0; FAIL=0; SKIP=0
ok()   { PASS=$((PASS + 1)); echo "PASS [host] $*"; }
bad()  { FAIL=$((FAIL + 1)); echo "FAIL [host] $*"; }
check() { local what=$1; shift; if "$@" > build/last.log 2>&1; then ok "$what"; else bad "$what"; sed 's/^/    /' build/last.log | tail -30; fi; }

validate_all() { local c; for c in "$@"; do build/rtdecode validate "$c" || return 1; done; }

mkdir -p build
if ! KDIR=$(scripts/build-all.sh | tail -1) || [ ! -d "$KDIR" ]; then
  echo "FAIL [host] build failed"; echo "0 passed, 1 failed"; exit 1
fi

# --- host checks
check "module: rustfmt clean" make -s KDIR="$KDIR" rustfmt-check
clippy_module() {
  touch rust_trace.rs
  make KDIR="$KDIR" CLIPPY=1 modules 2>&1 | tee build/clippy.log >/dev/null
  ! grep -E "^(warning|error)" build/clippy.log
}
check "module: make CLIPPY=1 has no warning" clippy_module
clippy_bench() {
  touch rust_trace.rs
  make KDIR="$KDIR" CLIPPY=1 BENCH=1 modules 2>&1 | tee build/clippy.log >/dev/null
  ! grep -E "^(warning|error)" build/clippy.log
}
check "module: make CLIPPY=1 BENCH=1 has no warning" clippy_bench
touch rust_trace.rs
make -s KDIR="$KDIR" modules
# The probes run with the runqueue lock held: no panic path may be in them
# (a panic there is a BUG). The debug kernel's Rust debug assertions add
# some on purpose, so this is checked on the base build.
no_panic_in_probes() {
  local f bad=0
  for f in probe_switch probe_wakeup probe_wakeup_new probe_fork probe_exit probe_exec probe_migrate probe_rename; do
    n=$(objdump -dr --no-show-raw-insn build/rust_trace.ko |
      awk -v f="$f" '$0 ~ f"E?>:$" {p=1} p {print} /^$/ {if (p) exit}' | grep -c 'core9panicking' || true)
    [ "$n" = 0 ] || { echo "$f calls a panic in $n places"; bad=1; }
  done
  return $bad
}
if [ "$RT_FLAVOR" = base ]; then
  check "module: no panic path in the probes (objdump)" no_panic_in_probes
fi
check "decoder: cargo fmt clean" sh -c "cd samples/rtdecode && cargo fmt --check"
check "decoder: cargo clippy -D warnings" sh -c "cd samples/rtdecode && cargo clippy -q --locked --all-targets -- -D warnings"
cargo_tests() {
  (cd samples/rtdecode && cargo test -q --locked 2>&1) | tee build/cargo-test.log
}
cargo_tests > /dev/null
if grep -q "^test result: ok" build/cargo-test.log && ! grep -q "^test result: FAILED\|error" build/cargo-test.log; then
  n=$(grep "^test result:" build/cargo-test.log | sed 's/.* \([0-9]*\) passed.*/\1/' | paste -sd+ | bc)
  PASS=$((PASS + n)); echo "PASS [host] decoder: cargo test ($n tests)"
else
  bad "decoder: cargo test"; tail -40 build/cargo-test.log
fi
check "ktap checker: its own tests" python3 scripts/test_ktap.py

# --- guest
for smp in ${SMP_LIST:-2 4}; do
  out="build/guest-$RT_FLAVOR-smp$smp"
  echo "guest: booting $RT_FLAVOR kernel with $smp CPUs (log: $out/serial.log)"
  APPEND_EXTRA=${RT_INJECT:+rt_inject=$RT_INJECT} SMP=$smp KDIR="$KDIR" \
    GUEST_TIMEOUT=${GUEST_TIMEOUT:-$([ "$RT_FLAVOR" = debug ] && echo 3600 || echo 1200)} scripts/guest.sh "$out" guest/run-tests.sh \
    build/kselftest:/kselftest build/rust_trace.ko:/lib/modules/rust_trace.ko \
    build/rust_trace-bench.ko:/lib/modules/rust_trace-bench.ko \
    > "$out.log" 2>&1
  grc=$?
  grep -E "^  guest\| (ok|not ok) |^  guest\| # (not ok|ok) " "$out.log" | sed 's/^  guest| /  /' | head -200
  if [ "$grc" != 0 ]; then
    FAIL=$((FAIL + 1)); echo "FAIL [guest smp=$smp] $(tail -1 "$out.log")"
    continue
  fi
  res=$(python3 scripts/ktap.py "$out/results/console.log" "$out/results/dmesg.txt" "guest smp=$smp")
  echo "$res" | grep -v '^ktap:'
  line=$(echo "$res" | tail -1)
  p=$(echo "$line" | sed 's/ktap: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped/\1/')
  f=$(echo "$line" | sed 's/ktap: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped/\2/')
  s=$(echo "$line" | sed 's/ktap: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped/\3/')
  echo "guest smp=$smp: $p passed, $f failed, $s skipped (dmesg: $out/results/dmesg.txt)"
  PASS=$((PASS + p)); FAIL=$((FAIL + f)); SKIP=$((SKIP + s))
  # The captures the guest took, decoded again on the host.
  caps=$(ls "$out"/results/*.rtt 2>/dev/null)
  if [ -n "$caps" ]; then
    # shellcheck disable=SC2086
    check "guest smp=$smp captures validate on the host" validate_all $caps
    # shellcheck disable=SC2086
    check "guest smp=$smp captures: Perfetto's schema decodes the export" "$RT_VENV/bin/python" scripts/test_perfetto.py build/rtdecode $caps
  else
    bad "guest smp=$smp returned no capture"
  fi
done

echo "check: $RT_FLAVOR kernel, $(( $(date +%s) - start )) s"
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" = 0 ]
