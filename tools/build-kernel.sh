#!/usr/bin/env bash
# tools/build-kernel.sh: build (or reuse) the Rust-enabled guest kernel.
#
# Unpacks Debian's linux-source-6.12 once into the cache, then builds into
# $RUST_TRACE_CACHE/build-<flavour>-<key> with O=, where <key> hashes the source
# version, the config fragments and the toolchain versions. A finished build
# leaves a stamp file; with the stamp present this prints one line and exits.
# Prints the KDIR on the last line of stdout.
set -euo pipefail
source "$(dirname "$0")/env.sh"

KDIR=$(rust_trace_kdir)
if [ -f "$KDIR/.rt-built" ]; then
  echo "kernel: cached $KDIR" >&2
  echo "$KDIR"; exit 0
fi

ver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
SRC="$RUST_TRACE_CACHE/linux-source-$ver"
if [ ! -f "$SRC/.rt-unpacked" ]; then
  echo "kernel: unpacking linux-source $ver" >&2
  rm -rf "$SRC"; mkdir -p "$SRC"
  tar -xf "$RUST_TRACE_KSRC_TARBALL" -C "$SRC" --strip-components=1
  touch "$SRC/.rt-unpacked"
fi

mkdir -p "$KDIR"
mk() { make -s -C "$SRC" O="$KDIR" "${RUST_TRACE_MAKEVARS[@]}" "$@"; }

# The guest's needs, then what the selftests need (kselftest's `config`).
frags=("$RUST_TRACE_ROOT/tools/kconfig/base.config" "$RUST_TRACE_ROOT/selftests/config")
[ "$RUST_TRACE_FLAVOR" = debug ] && frags+=("$RUST_TRACE_ROOT/tools/kconfig/debug.config")

apply_fragments() {
  local f line opt val
  for f in "${frags[@]}"; do
    while IFS= read -r line; do
      case "$line" in ''|'#'*) continue;; esac
      opt=${line%%=*}; opt=${opt#CONFIG_}; val=${line#*=}
      case "$val" in
        y) "$SRC/scripts/config" --file "$KDIR/.config" --enable "$opt";;
        m) "$SRC/scripts/config" --file "$KDIR/.config" --module "$opt";;
        n) "$SRC/scripts/config" --file "$KDIR/.config" --disable "$opt";;
        *) "$SRC/scripts/config" --file "$KDIR/.config" --set-val "$opt" "$val";;
      esac
    done < "$f"
  done
}

echo "kernel: configuring $RUST_TRACE_FLAVOR in $KDIR" >&2
mk rustavailable >&2
mk tinyconfig >/dev/null
# Two passes: some options only appear once their parents are on.
for _ in 1 2 3; do apply_fragments; mk olddefconfig >/dev/null; done

# Every option of the fragments must have stuck (a dropped CONFIG_RUST is
# the classic silent failure).
bad=0
for f in "${frags[@]}"; do
  while IFS= read -r line; do
    case "$line" in ''|'#'*) continue;; esac
    opt=${line%%=*}; val=${line#*=}
    if [ "$val" = n ]; then
      grep -q "^$opt=" "$KDIR/.config" && { echo "kernel: $opt still set" >&2; bad=1; }
    else
      grep -qx "$opt=$val" "$KDIR/.config" || { echo "kernel: $opt=$val did not stick" >&2; bad=1; }
    fi
  done < "$f"
done
[ "$bad" = 0 ] || { echo "kernel: config fragment not applied" >&2; exit 1; }

echo "kernel: building (about 11 minutes cold on 2 cores)" >&2
start=$(date +%s)
mk -j"$(nproc)" all >&2
touch "$KDIR/.rt-built"
echo "kernel: built in $(( $(date +%s) - start )) s" >&2
echo "$KDIR"
