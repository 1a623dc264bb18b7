#!/usr/bin/env bash
# scripts/build-all.sh: everything the guest needs, into build/:
#   build/rust_trace.ko, build/rtdecode (static), build/kselftest/ (installed
#   kselftests with run_kselftest.sh). Prints the KDIR on the last line.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$RT_ROOT"
"$RT_ROOT/scripts/setup.sh"
KDIR=$("$RT_ROOT/scripts/build-kernel.sh")
KSRC="$KDIR/source"
mkdir -p build

echo "build: module against $KDIR" >&2
make -s KDIR="$KDIR" modules >&2
cp rust_trace.ko build/
# The benchmark build (make BENCH=1) in a copy of the sources, so that
# neither build undoes the other's objects.
echo "build: module with the microbenchmark (BENCH=1)" >&2
mkdir -p build/module-bench
rsync -a --include='*.rs' --include='*.c' --include='*.h' --include=Kbuild --include=Makefile \
  --exclude='*' ./ build/module-bench/
make -s -C build/module-bench KDIR="$KDIR" BINDGEN="$RT_BINDGEN" BENCH=1 modules >&2
cp build/module-bench/rust_trace.ko build/rust_trace-bench.ko

echo "build: rtdecode (static)" >&2
(cd samples/rtdecode &&
  RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release --locked \
    --target x86_64-unknown-linux-gnu >&2)
cp samples/rtdecode/target/x86_64-unknown-linux-gnu/release/rtdecode build/

echo "build: kselftests" >&2
rm -rf build/kselftest build/selftests && mkdir -p build/kselftest/kselftest build/selftests
make -s -C selftests KDIR="$KDIR" OUTPUT="$RT_ROOT/build/selftests" >&2
make -s -C selftests KDIR="$KDIR" OUTPUT="$RT_ROOT/build/selftests" \
  INSTALL_PATH="$RT_ROOT/build/kselftest/rust_trace" install >&2
cp "$KSRC/tools/testing/selftests/run_kselftest.sh" build/kselftest/
cp "$KSRC"/tools/testing/selftests/kselftest/{runner.sh,ktap_helpers.sh,prefix.pl} build/kselftest/kselftest/
make -s -C selftests KDIR="$KDIR" OUTPUT="$RT_ROOT/build/selftests" COLLECTION=rust_trace \
  emit_tests > build/kselftest/kselftest-list.txt
cp build/rtdecode build/kselftest/rust_trace/
echo "$KDIR"
