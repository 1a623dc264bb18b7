#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Flushes: the periodic flush hands partial buffers to a reader waiting for
# data, and never spends buffers on one that is not reading (events are
# lost only when more was recorded than the pool holds); `flush` reaches
# the partial buffer of a CPU that went offline.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters

T=/tmp/rust_trace_flush.$$
mkdir -p "$T"
ncpu=$(grep -c ^processor /proc/cpuinfo)

# flush_ms=100 and two 64 KiB buffers a CPU: a reader that starts 2 s late
# (20 flush periods) after a light workload loses nothing.
paused_reader_loses_nothing() {
	rust_trace_load flush_ms=100 nr_bufs=2 || return 1
	{ sleep 2; cat; } < "$DEV" > "$T/paused" &
	r=$!
	rust_trace_wait_session || return 1
	rust_trace_workload pingpong 2000 > /dev/null
	sleep 1
	echo stop > "$DEV"
	wait "$r" || return 1
	echo "# written $(rust_trace_counter written) lost $(rust_trace_counter lost) batches $(rust_trace_counter batches)"
	rtdecode validate "$T/paused" > "$T/v" || { sed 's/^/# /' "$T/v"; return 1; }
	[ "$(rust_trace_counter lost)" -eq 0 ] && [ "$(rust_trace_counter written)" -gt 4000 ]
}

# A reader blocked in read() gets a light workload's events from the
# periodic flush alone, within a few periods.
waiting_reader_gets_partial_buffers() {
	rust_trace_load flush_ms=100 || return 1
	cat "$DEV" > "$T/live" &
	r=$!
	rust_trace_wait_session || return 1
	rust_trace_workload pingpong 100 > /dev/null
	size=0
	for _ in $(seq 50); do
		size=$(stat -c %s "$T/live")
		[ "$size" -gt 64 ] && break
		sleep 0.1
	done
	echo "# $size bytes arrived without a flush command"
	echo stop > "$DEV"
	wait "$r"
	[ "$size" -gt 64 ]
}

# Events a CPU recorded before it went offline reach the reader on `flush`,
# not only at `stop`.
flush_reaches_an_offline_cpu() {
	cpu=$((ncpu - 1))
	online=/sys/devices/system/cpu/cpu$cpu/online
	rust_trace_load flush_ms=0 || return 1
	cat "$DEV" > "$T/off" &
	r=$!
	rust_trace_wait_session || return 1
	rust_trace_workload oncpu "$cpu" 200
	echo 0 > "$online" || return 1
	echo flush > "$DEV"
	sleep 0.5
	n=$(rtdecode report "$T/off" 2>/dev/null | grep -c "\[00$cpu\] .*sched_switch")
	echo "# CPU $cpu offline: $n of its sched_switch events arrived on flush"
	echo 1 > "$online"
	echo stop > "$DEV"
	wait "$r"
	[ "$n" -gt 200 ]
}

ktap_print_header
ktap_set_plan 3
ktap_test_result "flush_ms=100 nr_bufs=2: a reader 2 s late loses nothing" paused_reader_loses_nothing
ktap_test_result "the periodic flush hands a waiting reader its partial buffers" waiting_reader_gets_partial_buffers
if [ "$ncpu" -ge 2 ] && [ -w "/sys/devices/system/cpu/cpu$((ncpu - 1))/online" ]; then
	ktap_test_result "flush hands over the partial buffer of an offline CPU" flush_reaches_an_offline_cpu
else
	ktap_test_skip "flush reaches an offline CPU (no CPU hotplug here)"
fi
rust_trace_load
rm -rf "$T"
ktap_finished
