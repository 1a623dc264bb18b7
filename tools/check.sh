#!/usr/bin/env bash
# tools/check.sh (`make check`): every test of rust_trace.
#
#   host: rustfmt and clippy on the module (CLIPPY=1, with and without the
#         microbenchmark), no panic path in the probes, cargo fmt, clippy
#         and tests of the decoder, the KTAP/dmesg checker's own tests;
#   guest: the kselftests in QEMU guests, each boot's dmesg checked for
#         BUG/WARNING/lockdep/atomic-sleep/KASAN reports: first on the base
#         kernel with 2 and 4 CPUs, then on the debug kernel (lockdep,
#         atomic-sleep checks, DEBUG_PREEMPT, KASAN, kmemleak, allocation
#         profiling) with 2 CPUs.
#
# env: FLAVORS="base debug" (the kernels to test on, in order; DEBUG=1 is
#      FLAVORS=debug); SMP_LIST="2 4" (base guests), DEBUG_SMP_LIST="2"
#      (debug guests); RUST_TRACE_INJECT=fail|warn|hang shows that a failing test, a
#      kernel WARNING and a hung guest each fail the run; RUST_TRACE_SOAK=1
#      (`make soak`) runs the long tests' soak rounds (selftests/lib.sh,
#      rust_trace_rounds) under longer timeouts.
# Ends with "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$RUST_TRACE_ROOT"
start=$(date +%s)
PASS=0; FAIL=0; SKIP=0
# Every FAIL line again at the end: CI shows only the log's tail.
FAILS=build/check-fails.txt
ok()   { PASS=$((PASS + 1)); echo "PASS [host] $*"; }
bad()  { FAIL=$((FAIL + 1)); echo "FAIL [host] $*" | tee -a "$FAILS"; }
check() { local what=$1; shift; if "$@" > build/last.log 2>&1; then ok "$what"; else bad "$what"; sed 's/^/    /' build/last.log | tail -30; fi; }

validate_all() { local c; for c in "$@"; do build/rtdecode validate "$c" || return 1; done; }

if [ "${DEBUG:-0}" = 1 ]; then FLAVORS=${FLAVORS:-debug}; fi
FLAVORS=${FLAVORS:-base debug}
mkdir -p build
: > "$FAILS"

# host_checks KDIR: the checks that need no guest (once, on the first kernel).
host_checks() {
  local KDIR=$1
  check "module: rustfmt clean" make -s KDIR="$KDIR" rustfmt-check
  clippy_module() {
    touch rust_trace.rs
    make KDIR="$KDIR" CLIPPY=1 "$@" modules 2>&1 | tee build/clippy.log >/dev/null
    ! grep -E "^(warning|error)" build/clippy.log
  }
  check "module: make CLIPPY=1 has no warning" clippy_module
  check "module: make CLIPPY=1 MICROBENCH=1 has no warning" clippy_module MICROBENCH=1
  touch rust_trace.rs
  make -s KDIR="$KDIR" modules
  # The probes run with the runqueue lock held: no panic path may be in them
  # (a panic there is a BUG), nor in the module's functions they call (the
  # write path keeps its rare cases out of line). The debug kernel's Rust
  # debug assertions add some on purpose, so this is checked on the base
  # build.
  no_panic_in_probes() {
    objdump -dr --no-show-raw-insn build/rust_trace.ko | python3 -c '
import re, sys
funcs, cur, sec, starts = {}, None, None, {}
for line in sys.stdin:
    m = re.match(r"^Disassembly of section (\S+):$", line)
    if m:
        sec = m.group(1)
        continue
    m = re.match(r"^([0-9a-f]+) <(.*)>:$", line)
    if m:
        cur = m.group(2)
        funcs[cur] = []
        starts[(sec, int(m.group(1), 16))] = cur
    elif cur:
        funcs[cur].append(line)
roots = [f for f in funcs if re.search(r"6probes\d+probe_\w+$", f) or f.endswith("probe_waking")]
bad, seen, todo = 0, set(), list(roots)
while todo:
    f = todo.pop()
    if f in seen:
        continue
    seen.add(f)
    for line in funcs.get(f, []):
        if "core9panicking" in line:
            print(f"{f} (reached from a probe) calls a panic: {line.strip()}")
            bad = 1
        # Nor a call to the Rust library out of line (core, alloc, the
        # kernel crate: vmlinux has them), whose panic paths this cannot
        # see (a slice copy has one).
        m = re.search(r"R_X86_64_PLT32\s+(_R\S*?(4core|5alloc|6kernel)\S*)-0x4", line)
        if m and m.group(1) not in funcs:
            print(f"{f} (reached from a probe) calls the Rust library: {m.group(1)}")
            bad = 1
        # Direct calls within a section, and calls by relocation.
        m = re.search(r"call +[0-9a-f]+ <([^>+]+)>", line) or re.search(r"R_X86_64_PLT32\s+(\S+)-0x4", line)
        if m and m.group(1) in funcs:
            todo.append(m.group(1))
        # A call into another section of the module by the section and
        # an offset (a #[cold] function in .text.unlikely.): the function
        # that starts there, or a failure, never a call left unchecked.
        m = re.search(r"R_X86_64_PLT32\s+(\.\S+?)([+-]0x[0-9a-f]+)$", line.strip())
        if m:
            target = starts.get((m.group(1), int(m.group(2), 16) + 4))
            if target:
                todo.append(target)
            else:
                print(f"{f} (reached from a probe) calls into {m.group(1)}{m.group(2)}, where no function starts")
                bad = 1
    # Tail calls: a jump to the start of a function, unless relocated (a
    # return thunk: objdump then shows the next function as the target).
    lines = funcs.get(f, [])
    for i, line in enumerate(lines):
        m = re.search(r"\sjmp +[0-9a-f]+ <([^>+]+)>", line)
        relocated = i + 1 < len(lines) and "R_X86_64" in lines[i + 1]
        if m and not relocated and m.group(1) in funcs:
            todo.append(m.group(1))
print(f"{len(roots)} probes, {len(seen)} functions checked")
sys.exit(bad if len(roots) >= 9 else 1)
'
  }
  if [ "$RUST_TRACE_FLAVOR" = base ]; then
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
  check "ktap checker: its own tests" python3 tools/testing/test_ktap.py
}

# guests KDIR SMP...: the kselftests in one guest per CPU count.
guests() {
  local KDIR=$1 smp; shift
  for smp in "$@"; do
    out="build/guest-$RUST_TRACE_FLAVOR-smp$smp"
    echo "guest: booting $RUST_TRACE_FLAVOR kernel with $smp CPUs (log: $out/serial.log)"
    local timeout=$([ "$RUST_TRACE_FLAVOR" = debug ] && echo 3600 || echo 1200)
    [ "${RUST_TRACE_SOAK:-0}" = 1 ] && timeout=$((timeout * 6))
    APPEND_EXTRA="${RUST_TRACE_INJECT:+rust_trace_inject=$RUST_TRACE_INJECT} rust_trace_soak=${RUST_TRACE_SOAK:-0}" SMP=$smp KDIR="$KDIR" \
      GUEST_TIMEOUT=${GUEST_TIMEOUT:-$timeout} tools/boot-guest.sh "$out" tools/guest/check-payload.sh \
      build/kselftest:/kselftest build/rust_trace.ko:/lib/modules/rust_trace.ko \
      build/rust_trace-microbench.ko:/lib/modules/rust_trace-microbench.ko \
      > "$out.log" 2>&1
    grc=$?
    grep -E "^  guest\| (ok|not ok) |^  guest\| # (not ok|ok) " "$out.log" | sed 's/^  guest| /  /' | head -200
    if [ "$grc" != 0 ]; then
      FAIL=$((FAIL + 1)); echo "FAIL [guest $RUST_TRACE_FLAVOR smp=$smp] $(tail -1 "$out.log")" | tee -a "$FAILS"
      continue
    fi
    res=$(python3 tools/testing/ktap.py "$out/results/console.log" "$out/results/dmesg.txt" "guest $RUST_TRACE_FLAVOR smp=$smp")
    echo "$res" | grep -v '^ktap:'
    echo "$res" | grep '^FAIL' >> "$FAILS"
    line=$(echo "$res" | tail -1)
    p=$(echo "$line" | sed 's/ktap: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped/\1/')
    f=$(echo "$line" | sed 's/ktap: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped/\2/')
    s=$(echo "$line" | sed 's/ktap: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped/\3/')
    echo "guest $RUST_TRACE_FLAVOR smp=$smp: $p passed, $f failed, $s skipped (dmesg: $out/results/dmesg.txt)"
    PASS=$((PASS + p)); FAIL=$((FAIL + f)); SKIP=$((SKIP + s))
    # The captures the guest took, decoded again on the host.
    caps=$(ls "$out"/results/*.rtt 2>/dev/null)
    if [ -n "$caps" ]; then
      # shellcheck disable=SC2086
      check "guest $RUST_TRACE_FLAVOR smp=$smp captures validate on the host" validate_all $caps
      # shellcheck disable=SC2086
      check "guest $RUST_TRACE_FLAVOR smp=$smp captures: Perfetto's schema decodes the export" "$RUST_TRACE_VENV/bin/python" tools/testing/test_perfetto.py build/rtdecode $caps
    else
      bad "guest $RUST_TRACE_FLAVOR smp=$smp returned no capture"
    fi
  done
}

first=1
for flavor in $FLAVORS; do
  export DEBUG=$([ "$flavor" = debug ] && echo 1 || echo 0)
  RUST_TRACE_FLAVOR=$flavor
  fstart=$(date +%s)
  echo "check: $flavor kernel"
  if ! KDIR=$(tools/build.sh | tail -1) || [ ! -d "$KDIR" ]; then
    bad "$flavor: build failed"; continue
  fi
  if [ "$first" = 1 ]; then host_checks "$KDIR"; first=0; fi
  if [ "$flavor" = debug ]; then
    # shellcheck disable=SC2086
    guests "$KDIR" ${DEBUG_SMP_LIST:-2}
  else
    # shellcheck disable=SC2086
    guests "$KDIR" ${SMP_LIST:-2 4}
  fi
  echo "check: $flavor kernel done in $(( $(date +%s) - fstart )) s"
done

echo "check: $FLAVORS, $(( $(date +%s) - start )) s"
if [ -s "$FAILS" ]; then echo "check: the failures:"; sed 's/^/  /' "$FAILS"; fi
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" = 0 ]
