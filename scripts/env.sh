# scripts/env.sh: shared settings for rust_trace scripts (sourced, not run).
#
# RUST_TRACE_CACHE  where kernels and tools are cached (outside the repository)
# DEBUG=1           use the debug kernel (lockdep, atomic-sleep checks, KASAN)
# SMP=N             guest CPUs (default 2)

RT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RT_CACHE="${RUST_TRACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rust_trace}"
RT_BINDGEN_VER="0.73.2"
RT_BINDGEN="$RT_CACHE/bindgen-$RT_BINDGEN_VER/bin/bindgen"
RT_PERFETTO_VER="0.59.1"   # PyPI perfetto: its compiled trace proto checks our export
RT_VENV="$RT_CACHE/venv-perfetto-$RT_PERFETTO_VER"
RT_KSRC_TARBALL="/usr/src/linux-source-6.12.tar.xz"
RT_FLAVOR=$([ "${DEBUG:-0}" = 1 ] && echo debug || echo base)

# The make variables every kernel and module make call needs (absolute paths:
# without them RUST_IS_AVAILABLE is false and CONFIG_RUST is silently dropped).
RT_MAKEVARS=(LLVM=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
             HOSTRUSTC=/usr/bin/rustc BINDGEN="$RT_BINDGEN")

# Cache key of a kernel build: source package version, config fragments,
# compiler versions. A change of any of them builds a new kernel.
rt_kernel_key() {
  {
    dpkg-query -W -f='${Version}\n' linux-source-6.12 rustc-web clang 2>/dev/null
    echo "$RT_BINDGEN_VER"
    cat "$RT_ROOT/kconfig/base.config" "$RT_ROOT/selftests/config"
    [ "$RT_FLAVOR" = debug ] && cat "$RT_ROOT/kconfig/debug.config"
  } | sha256sum | cut -c1-12
}

# Directory of the built kernel for the current flavour (KDIR for modules).
rt_kdir() { echo "$RT_CACHE/build-$RT_FLAVOR-$(rt_kernel_key)"; }
