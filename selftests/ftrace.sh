#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rust_trace against ftrace: both attached to the same tracepoints in the
# same run, ftrace with a buffer that loses nothing and its clock set to
# `perf` (local_clock(), rust_trace's clock). `rtdecode ftrace-diff` pairs
# the events one for one per CPU, checks that every ftrace event missing
# from the capture lies where the capture reports a loss, and that every
# task name in the capture is the comm ftrace read from the task at that
# event. The window is marked by two tasks renaming themselves.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters

rust_trace_ftrace_require

T=/tmp/rust_trace_ftrace.$$
mkdir -p "$T"
ncpu=$(grep -c ^processor /proc/cpuinfo)
pid_max=$(cat /proc/sys/kernel/pid_max)

mixed_load() {
	rust_trace_workload mark rtmark-begin
	rust_trace_workload pairs "$ncpu" 2000 &
	p1=$!
	rust_trace_workload threads 8 300 > /dev/null &
	p2=$!
	rust_trace_workload forkstorm 100
	rust_trace_workload spawn > /dev/null
	rust_trace_workload renamers 100
	wait "$p1" "$p2"
	rust_trace_workload mark rtmark-end
}
capture_mixed() {
	rust_trace_load || return 1
	rust_trace_ftrace_start 16384
	rust_trace_capture "$T/mixed" mixed_load
	rc=$?
	rust_trace_ftrace_stop "$T/mixed.ftrace"
	return $rc
}
# Default buffers: nothing lost, so every event pairs, none missing.
one_for_one() {
	rust_trace_ftrace_diff "$T/mixed" "$T/mixed.ftrace" || return 1
	m=$(rust_trace_diff_total matched "$T/mixed.json")
	[ "$m" -gt 20000 ] && [ "$(rust_trace_diff_total missing "$T/mixed.json")" -eq 0 ] &&
		[ "$(rust_trace_diff_total lost "$T/mixed.json")" -eq 0 ]
}

# Tiny buffers, PIDs reused every few hundred forks, children renaming
# themselves, and a reader stopped during every other round of the
# workload: events are lost and kept in turn all along (whatever the
# kernel's speed), and names must not go stale.
RENAMERS=$(rust_trace_rounds 250 100 250)
renames_under_loss() {
	rust_trace_workload mark rtmark-begin
	for round in 1 2 3 4 5 6 7 8; do
		[ $((round % 2)) = 1 ] && kill -STOP "$reader"
		rust_trace_workload renamers "$RENAMERS"
		[ $((round % 2)) = 1 ] && kill -CONT "$reader"
		sleep 0.2
	done
	rust_trace_workload mark rtmark-end
}
capture_lossy() {
	echo 400 > /proc/sys/kernel/pid_max
	rust_trace_load buf_size=4096 nr_bufs=2 || return 1
	rust_trace_ftrace_start 16384
	cat "$DEV" > "$T/lossy" &
	reader=$!
	rust_trace_wait_session || return 1
	renames_under_loss
	echo stop > "$DEV"
	wait "$reader"
	rc=$?
	rust_trace_ftrace_stop "$T/lossy.ftrace"
	echo "$pid_max" > /proc/sys/kernel/pid_max
	return $rc
}
names_never_wrong() {
	rust_trace_ftrace_diff "$T/lossy" "$T/lossy.ftrace"
	rc=$?
	echo "# lost $(rust_trace_diff_total lost "$T/lossy.json"), renames $(rust_trace_diff_top renames "$T/lossy.json"), PID reuses $(rust_trace_diff_top pid_reuses "$T/lossy.json"), unnamed $(rust_trace_diff_total names_missing "$T/lossy.json")"
	# The case must have happened: losses, renames, reused PIDs, and many
	# names checked after losses.
	[ "$rc" = 0 ] && [ "$(rust_trace_diff_total lost "$T/lossy.json")" -gt 1000 ] &&
		[ "$(rust_trace_diff_top renames "$T/lossy.json")" -gt 1000 ] &&
		[ "$(rust_trace_diff_top pid_reuses "$T/lossy.json")" -gt 100 ] &&
		[ "$(rust_trace_diff_total names_checked "$T/lossy.json")" -gt 5000 ]
}

ktap_print_header
ktap_set_plan 4
ktap_test_result "a capture beside ftrace: cat exits 0 after stop" capture_mixed
ktap_test_result "default buffers: every event pairs with ftrace's, names right" one_for_one
ktap_test_result "tiny buffers, reused PIDs, renames: cat exits 0 after stop" capture_lossy
ktap_test_result "under loss no name is wrong, and only reported losses are missing" names_never_wrong
# For the host: the lossy capture (validated and exported again there) and
# both comparisons' inputs, to rerun `rtdecode ftrace-diff` on.
if [ -d /results ]; then
	cp "$T/lossy" /results/lossy.rtt
	mkdir -p /results/ftrace
	cp "$T/mixed" "$T/mixed.ftrace" "$T/lossy.ftrace" /results/ftrace/ 2>/dev/null
fi
rust_trace_load
rm -rf "$T"
ktap_finished
