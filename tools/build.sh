#!/usr/bin/env bash
# tools/build.sh: everything the guest needs, into build/:
#   build/rust_trace.ko, build/rtdecode (static), build/kselftest/ (installed
#   kselftests with run_kselftest.sh). Prints the KDIR on the last line.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$RUST_TRACE_ROOT"
"$RUST_TRACE_ROOT/tools/setup.sh"
KDIR=$("$RUST_TRACE_ROOT/tools/build-kernel.sh")
KSRC="$KDIR/source"
mkdir -p build

echo "build: module against $KDIR" >&2
make -s KDIR="$KDIR" modules >&2
cp rust_trace.ko build/
# The benchmark build (make MICROBENCH=1) in a copy of the sources, so that
# neither build undoes the other's objects.
echo "build: module with the microbenchmark (MICROBENCH=1)" >&2
mkdir -p build/module-microbench
rsync -a --include='*.rs' --include='*.c' --include='*.h' --include=Kbuild --include=Makefile \
  --include=uapi/ --exclude='*' ./ build/module-microbench/
make -s -C build/module-microbench KDIR="$KDIR" BINDGEN="$RUST_TRACE_BINDGEN" MICROBENCH=1 modules >&2
cp build/module-microbench/rust_trace.ko build/rust_trace-microbench.ko

echo "build: rtdecode (static)" >&2
(cd samples/rtdecode &&
  RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release --locked \
    --target x86_64-unknown-linux-gnu >&2)
cp samples/rtdecode/target/x86_64-unknown-linux-gnu/release/rtdecode build/

echo "build: kselftests" >&2
rm -rf build/kselftest build/selftests && mkdir -p build/kselftest/kselftest build/selftests
make -s -C selftests KDIR="$KDIR" OUTPUT="$RUST_TRACE_ROOT/build/selftests" >&2
make -s -C selftests KDIR="$KDIR" OUTPUT="$RUST_TRACE_ROOT/build/selftests" \
  INSTALL_PATH="$RUST_TRACE_ROOT/build/kselftest/rust_trace" install >&2
cp "$KSRC/tools/testing/selftests/run_kselftest.sh" build/kselftest/
cp "$KSRC"/tools/testing/selftests/kselftest/{runner.sh,ktap_helpers.sh,prefix.pl} build/kselftest/kselftest/
make -s -C selftests KDIR="$KDIR" OUTPUT="$RUST_TRACE_ROOT/build/selftests" COLLECTION=rust_trace \
  emit_tests > build/kselftest/kselftest-list.txt
cp build/rtdecode build/kselftest/rust_trace/
echo "$KDIR"
