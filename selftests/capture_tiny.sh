#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Tiny buffers (4 KiB x 2 a CPU) and a reader 2 s late under a stress on
# every CPU: events are lost, every loss is counted and reported by the
# batch headers, and the accounting still holds.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters

T=/tmp/rust_trace_tiny.$$
mkdir -p "$T"

# A reader that starts reading 2 s late: the session starts at open, the
# workload fills the few tiny buffers long before the first read.
capture() {
	{ sleep 2; cat; } < "$DEV" > "$T/tiny" &
	reader=$!
	rust_trace_wait_session || return 1
	rust_trace_stress "$T/stress.cs"
	# Let the reader drain and recycle buffers while tracing goes on: the
	# next batch of each CPU then reports the events lost before it.
	sleep 3
	echo stop > "$DEV"
	wait "$reader" && touch "$T/ok"
}
loss_reported() {
	rtdecode validate --json "$T/tiny" > "$T/tiny.json"
	lost_batches=$(grep '"lost_in_batches"' "$T/tiny.json" | tr -dc '0-9\n' | awk '{s+=$1} END {print s+0}')
	echo "# tiny buffers: lost $(rust_trace_counter lost), reported by batch headers $lost_batches"
	[ "$(rust_trace_counter lost)" -gt 0 ] && [ "$lost_batches" -gt 0 ]
}

ktap_print_header
ktap_set_plan 4
rust_trace_load buf_size=4096 nr_bufs=2
ktap_test_result "tiny buffers: cat still exits 0 after stop" capture
rust_trace_after "$T/ok" "tiny buffers: events are lost, and batch headers report them" loss_reported
rust_trace_after "$T/ok" "tiny buffers: read + lost == written" rust_trace_accounting
rust_trace_after "$T/ok" "tiny buffers: the capture validates" rust_trace_validates "$T/tiny"
[ -d /results ] && [ -e "$T/ok" ] && cp "$T/tiny" /results/tiny.rtt
rust_trace_load
rm -rf "$T"
ktap_finished
