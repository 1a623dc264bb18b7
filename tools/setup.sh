#!/usr/bin/env bash
# tools/setup.sh: install everything rust_trace needs on Debian 12, idempotently.
#
# - Debian packages: the 6.12 kernel source, Debian's rustc 1.96 with its
#   library source (the kernel needs `core` source; rustup toolchains here have
#   none), clang/lld/llvm, the kernel build tools, QEMU and busybox-static.
# - bindgen-cli from crates.io at a pinned version (Debian's 0.60 is below the
#   6.12 minimum of 0.65.1), installed into the cache directory.
#
# When everything is present it prints one line and does nothing else.
set -euo pipefail
# Versions and paths (cache, bindgen, venv) are set once, in env.sh.
source "$(dirname "$0")/env.sh"

RUST_VER_PREFIX="1.96."            # rustc-web / rust-web-src series the kernel is built with
CACHE=$RUST_TRACE_CACHE
BINDGEN_VER=$RUST_TRACE_BINDGEN_VER
BINDGEN=$RUST_TRACE_BINDGEN
PERFETTO_VER=$RUST_TRACE_PERFETTO_VER
VENV=$RUST_TRACE_VENV

PKGS=(linux-source-6.12 clang lld llvm libclang-dev bc flex bison libelf-dev
      libssl-dev cpio xz-utils qemu-system-x86 busybox-static kmod
      python3 python3-venv rsync)
RUST_PKGS=(rustc-web rust-web-src rust-web-clippy rustfmt-web)

missing=()
for p in "${PKGS[@]}" "${RUST_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
rust_ok=1
if ! /usr/bin/rustc --version 2>/dev/null | grep -q "^rustc ${RUST_VER_PREFIX}"; then rust_ok=0; fi
# The library source must be the same version as the compiler.
if [ "$rust_ok" = 1 ]; then
  v1=$(dpkg-query -W -f='${Version}' rustc-web 2>/dev/null || true)
  v2=$(dpkg-query -W -f='${Version}' rust-web-src 2>/dev/null || true)
  [ -n "$v1" ] && [ "$v1" = "$v2" ] || rust_ok=0
fi

if [ ${#missing[@]} -eq 0 ] && [ "$rust_ok" = 1 ] && [ -x "$BINDGEN" ] && [ -x "$VENV/bin/python" ]; then
  echo "setup: all present ($(/usr/bin/rustc --version | cut -d' ' -f2), bindgen $BINDGEN_VER, linux-source-6.12)"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -ne 0 ] || [ "$rust_ok" = 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]:-} (rust $rust_ok)"
  apt-get update -qq
  # Pin the Rust packages to one exact version of the 1.96 series, all alike.
  rv=$(apt-cache madison rustc-web | awk -v p="$RUST_VER_PREFIX" '$3 ~ "^"p {print $3; exit}')
  if [ -z "$rv" ]; then
    echo "setup: no rustc-web ${RUST_VER_PREFIX}x in apt" >&2; exit 1
  fi
  pinned=()
  for p in "${RUST_PKGS[@]}"; do pinned+=("$p=$rv"); done
  apt-get install -y -qq --no-install-recommends "${PKGS[@]}" "${pinned[@]}" >/dev/null
fi

if [ ! -x "$BINDGEN" ]; then
  echo "setup: building bindgen-cli $BINDGEN_VER (about 2 minutes)"
  mkdir -p "$CACHE"
  # libclang from Debian's clang 14 is found through llvm-config.
  cargo install --locked --quiet --root "$CACHE/bindgen-$BINDGEN_VER" bindgen-cli --version "$BINDGEN_VER"
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: Python venv with perfetto $PERFETTO_VER (to check the Perfetto export)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "perfetto==$PERFETTO_VER" protobuf
fi
echo "setup: done ($(/usr/bin/rustc --version | cut -d' ' -f2), bindgen $("$BINDGEN" --version | cut -d' ' -f2))"
