# tools/env.sh: shared settings for rust_trace scripts (sourced, not run).
#
# RUST_TRACE_CACHE  where kernels and tools are cached (outside the repository)
# DEBUG=1           use the debug kernel (lockdep, atomic-sleep checks, KASAN)
# SMP=N             guest CPUs (default 2)

RUST_TRACE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUST_TRACE_CACHE="${RUST_TRACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rust_trace}"
RUST_TRACE_BINDGEN_VER="0.73.2"
RUST_TRACE_BINDGEN="$RUST_TRACE_CACHE/bindgen-$RUST_TRACE_BINDGEN_VER/bin/bindgen"
RUST_TRACE_PERFETTO_VER="0.59.1"   # PyPI perfetto: its compiled trace proto checks our export
RUST_TRACE_VENV="$RUST_TRACE_CACHE/venv-perfetto-$RUST_TRACE_PERFETTO_VER"
RUST_TRACE_KSRC_TARBALL="/usr/src/linux-source-6.12.tar.xz"
RUST_TRACE_FLAVOR=$([ "${DEBUG:-0}" = 1 ] && echo debug || echo base)

# The make variables every kernel and module make call needs (absolute paths:
# without them RUST_IS_AVAILABLE is false and CONFIG_RUST is silently dropped).
RUST_TRACE_MAKEVARS=(LLVM=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
             HOSTRUSTC=/usr/bin/rustc BINDGEN="$RUST_TRACE_BINDGEN")

# Cache key of a kernel build: source package version, config fragments,
# compiler versions. A change of any of them builds a new kernel.
rust_trace_kernel_key() {
  {
    dpkg-query -W -f='${Version}\n' linux-source-6.12 rustc-web clang 2>/dev/null
    echo "$RUST_TRACE_BINDGEN_VER"
    cat "$RUST_TRACE_ROOT/tools/kconfig/base.config" "$RUST_TRACE_ROOT/selftests/config"
    [ "$RUST_TRACE_FLAVOR" = debug ] && cat "$RUST_TRACE_ROOT/tools/kconfig/debug.config"
  } | sha256sum | cut -c1-12
}

# Directory of the built kernel for the current flavour (KDIR for modules).
rust_trace_kdir() { echo "$RUST_TRACE_CACHE/build-$RUST_TRACE_FLAVOR-$(rust_trace_kernel_key)"; }
