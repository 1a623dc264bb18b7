#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# End to end under a stress on every CPU at once (ping-pong pairs, a ring
# of 16 threads, a fork/exit storm) with default buffers: nothing lost,
# exact counts, a valid capture; and the event rate.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters

T=/tmp/rust_trace_stress.$$
mkdir -p "$T"

stress() { rust_trace_stress "$T/stress.cs"; }
capture() { rust_trace_capture "$T/stress" stress && touch "$T/ok"; }
nothing_lost() {
	cs=$(cat "$T/stress.cs"); [ "$cs" -gt 0 ] || cs=1
	echo "# stress: $(rust_trace_counter written) events in $((cs / 100)).$((cs % 100 / 10)) s = $(( $(rust_trace_counter written) * 100 / cs )) events/s, $(rust_trace_counter lost) lost"
	[ "$(rust_trace_counter lost)" -eq 0 ] && rust_trace_accounting
}

ktap_print_header
ktap_set_plan 3
rust_trace_load
ktap_test_result "stress on all CPUs: cat exits 0 after stop" capture
rust_trace_after "$T/ok" "stress on all CPUs: nothing lost, read + lost == written" nothing_lost
rust_trace_after "$T/ok" "stress on all CPUs: the capture validates" rust_trace_validates "$T/stress"
rm -rf "$T"
ktap_finished
