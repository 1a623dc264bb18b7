#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The life of a child the test starts (fork, exec, exit), recorded with its
# PID and its name.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters

T=/tmp/rust_trace_spawn.$$
mkdir -p "$T"

spawn() { rust_trace_workload spawn > "$T/child"; }
capture() {
	rust_trace_capture "$T/spawn" spawn || return 1
	rtdecode report "$T/spawn" > "$T/spawn.report" && touch "$T/ok"
}
child_lifecycle() {
	child=$(sed -n 's/child=//p' "$T/child")
	grep "pid=$child\|child_pid=$child" "$T/spawn.report" | sed 's/^/# /'
	grep -q "sched_process_fork .*child_pid=$child\$" "$T/spawn.report" &&
		grep -q "sched_process_exec .*comm=rust_trace_work pid=$child " "$T/spawn.report" &&
		grep -q "sched_process_exit .*pid=$child\$" "$T/spawn.report"
}

ktap_print_header
ktap_set_plan 2
rust_trace_load
ktap_test_result "a capture around a child's fork, exec and exit" capture
rust_trace_after "$T/ok" "fork, exec and exit of a child are recorded with its pid" child_lifecycle
[ -d /results ] && [ -e "$T/ok" ] && cp "$T/spawn" /results/spawn.rtt
rm -rf "$T"
ktap_finished
