#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The module's life cycle: load, the device node, parameters, unload.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require

# ktap_test_result word-splits its command: each check is a function.
loaded_message() { dmesg | grep -q 'rust_trace: loaded: .* KiB in all'; }
mode_0600() { [ "$(stat -c %a "$DEV")" = 600 ]; }
# What modinfo shows: the .modinfo entries "parm=NAME:description".
three_params() {
	for p in buf_size nr_bufs flush_ms; do
		tr '\0' '\n' < "$RUST_TRACE_MODULE" | grep -q "^parm=$p:" || { echo "# no parm=$p"; return 1; }
	done
}
# Out-of-range parameters: insmod fails with EINVAL and dmesg names the
# parameter; nothing is left loaded.
bad_param() {
	rust_trace_unload || return 1
	dmesg -c >/dev/null
	if out=$(insmod "$RUST_TRACE_MODULE" "$1" 2>&1); then
		echo "# insmod $1 succeeded"
		return 1
	fi
	echo "$out" | grep -qi 'invalid' || { echo "# insmod $1 said: $out"; return 1; }
	dmesg | grep -q "rust_trace: ${1%%=*}=.* out of range" || { echo "# no dmesg line for $1"; return 1; }
	! rust_trace_loaded
}
not_pow2() { bad_param buf_size=5000; }
out_of_range() {
	bad_param buf_size=2048 && bad_param buf_size=8388608 && bad_param nr_bufs=1 &&
		bad_param nr_bufs=1025 && bad_param flush_ms=60001
}
# Allocation profiling (/proc/allocinfo, CONFIG_MEM_ALLOC_PROFILING) sees
# every byte of the module's memory: allocations from Rust are tagged in
# the kernel crate's C helpers (rust/helpers/), so the growth of those
# lines at insmod covers what the module reports holding.
rust_alloc_bytes() { awk '$3 ~ /^rust\// { s += $1 } END { print s + 0 }' /proc/allocinfo; }
memory_is_profiled() {
	rust_trace_unload || return 1
	before=$(rust_alloc_bytes)
	dmesg -c > /dev/null
	insmod "$RUST_TRACE_MODULE" || return 1
	after=$(rust_alloc_bytes)
	kib=$(dmesg | sed -n 's/.*rust_trace: loaded: .* \([0-9]*\) KiB in all.*/\1/p')
	echo "# module holds $kib KiB; allocation profiling saw $(( (after - before) / 1024 )) KiB more under rust/"
	[ -n "$kib" ] && [ $((after - before)) -ge $((kib * 1024)) ]
}
rmmod_removes_node() { rmmod rust_trace && [ ! -e "$DEV" ]; }
unload_message() { dmesg | grep -q 'rust_trace: unloaded'; }

ktap_print_header
ktap_set_plan 10

rust_trace_unload
dmesg -c >/dev/null
ktap_test_result "insmod with default parameters succeeds" insmod "$RUST_TRACE_MODULE"
ktap_test_result "dmesg reports the buffer memory at load" loaded_message
ktap_test_result "/dev/rust_trace is a character device" test -c "$DEV"
ktap_test_result "/dev/rust_trace has mode 0600" mode_0600
ktap_test_result "modinfo shows the three parameters" three_params
ktap_test_result "buf_size not a power of two is EINVAL" not_pow2
ktap_test_result "buf_size, nr_bufs, flush_ms out of range are EINVAL" out_of_range
if [ -r /proc/allocinfo ]; then
	ktap_test_result "allocation profiling accounts for all the module's memory" memory_is_profiled
else
	ktap_test_skip "allocation profiling accounts for the module's memory (no /proc/allocinfo)"
fi
rust_trace_load
dmesg -c >/dev/null
ktap_test_result "rmmod removes the device node" rmmod_removes_node
ktap_test_result "dmesg reports the unload" unload_message
rust_trace_load
ktap_finished
