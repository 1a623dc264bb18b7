#!/usr/bin/env bash
# tools/boot-guest.sh: boot the guest kernel under QEMU (TCG) with an initramfs
# holding busybox, rust_trace.ko, the kselftests, the decoder and a payload
# script; bring /results back to the host.
#
# usage: boot-guest.sh OUTDIR PAYLOAD [FILE:GUESTPATH ...]
#   env: KDIR (kernel build), SMP (CPUs, default 2), MEM (MiB, default 1024),
#        GUEST_TIMEOUT (seconds, default 900; the guest's own watchdog
#        dumps tasks and ends the payload 60 s before), ICOUNT=1 (deterministic
#        instruction-counting clock, for benchmarks)
# Exit status: 0 when the guest ran the payload and shut down; 1 on a hang
# (timeout) or a guest that did not finish. Results: OUTDIR/results/,
# the serial console in OUTDIR/serial.log.
set -euo pipefail
source "$(dirname "$0")/env.sh"
out=$1; payload=$2; shift 2
KDIR=${KDIR:-$(rust_trace_kdir)}
SMP=${SMP:-2}; MEM=${MEM:-1024}; GUEST_TIMEOUT=${GUEST_TIMEOUT:-900}

root="$out/initramfs"
rm -rf "$root" "$out/results"; mkdir -p "$root"/{bin,sbin,usr/bin,usr/local/bin,proc,sys,dev,tmp,etc,lib/modules} "$out/results"
cp /bin/busybox "$root/bin/busybox"
cp "$RUST_TRACE_ROOT/tools/guest/init" "$root/init"; chmod +x "$root/init"
cp "$payload" "$root/payload.sh"
# busybox timeout has no --foreground (kselftest's runner uses it).
cat > "$root/usr/bin/timeout" <<'T'
#!/bin/sh
[ "$1" = "--foreground" ] && shift
exec /bin/busybox timeout "$@"
T
chmod +x "$root/usr/bin/timeout"
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "nobody:x:65534:65534:nobody:/:/bin/sh" >> "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
for spec in "$@"; do
  src=${spec%%:*}; dst=${spec#*:}
  mkdir -p "$root/$(dirname "$dst")"
  cp -a "$src" "$root/$dst"
done
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initramfs.cpio.gz"

# Results come back as a tar written raw onto this disk.
rm -f "$out/results.img"; truncate -s 512M "$out/results.img"

# One host thread runs every vCPU (QEMU's single-threaded TCG): with one
# thread per vCPU (MTTCG, the default), a vCPU can still execute a
# breakpoint the kernel's live code patching (text_poke_bp(), run whenever
# a tracepoint probe is attached or detached) has already removed, and
# the guest dies with "Oops: int3" in the patched function (seen once, in
# __schedule() as ftrace detached after a capture, in about 20 guest runs
# of the selftests). On this 2-core host one thread is not slower: the
# base kernel's two guests took 358 s either way. -icount needs it anyway.
extra=(-accel tcg,thread=single)
[ "${ICOUNT:-0}" = 1 ] && extra+=(-icount shift=0,sleep=off)
set +e
timeout --foreground -k 10 "$GUEST_TIMEOUT" qemu-system-x86_64 \
  -kernel "$KDIR/arch/x86/boot/bzImage" -initrd "$out/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 ${GUEST_LOG:-quiet loglevel=4} rust_trace_watchdog=$((GUEST_TIMEOUT - 60)) ${APPEND_EXTRA:-}" \
  -nographic -no-reboot -m "$MEM" -smp "$SMP" \
  -drive "file=$out/results.img,format=raw,if=virtio" "${extra[@]}" \
  </dev/null 2>&1 | tee "$out/serial.log" | sed -u 's/^/  guest| /'
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  echo "guest: HUNG: no shutdown within ${GUEST_TIMEOUT}s (killed)" >&2
  exit 1
fi
tar -xf "$out/results.img" -C "$out/results" 2>/dev/null || true
if ! grep -q "RUST-TRACE-GUEST-DONE" "$out/serial.log"; then
  echo "guest: did not finish (qemu exit $rc); see $out/serial.log" >&2
  exit 1
fi
