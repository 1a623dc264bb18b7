#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# End to end: `cat /dev/rust_trace > out` around 10,000 ping-pong round
# trips between a task pinned to CPU 0 and one pinned to CPU 1, `stop`,
# then the decoder and the module's counters check the capture.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters

T=/tmp/rust_trace_pingpong.$$
mkdir -p "$T"
ncpu=$(grep -c ^processor /proc/cpuinfo)

# ktap_test_result word-splits its command: each check is a function.
pingpong_10000() { rust_trace_workload pingpong 10000 > "$T/pids"; }
capture() {
	rust_trace_capture "$T/out" pingpong_10000 || return 1
	rtdecode report "$T/out" > "$T/report" && touch "$T/ok"
}
many_switches() {
	n=$(grep -c 'sched_switch .*rust_trace_p[io]ng' "$T/report")
	echo "# $n sched_switch events name rust_trace_ping or rust_trace_pong"
	[ "$n" -ge 20000 ]
}
ping_on_cpu0() { grep -q "\[000\] .*sched_switch .*==> rust_trace_ping:$ping\$" "$T/report"; }
pong_on_cpu1() { grep -q "\[001\] .*sched_switch .*==> rust_trace_pong:$pong\$" "$T/report"; }
both_cpus() { grep -q '\[000\] .*sched_switch' "$T/report" && grep -q '\[001\] .*sched_switch' "$T/report"; }
none_lost() { [ "$(rust_trace_counter lost)" -eq 0 ]; }
# The ping-pong's own switches on CPU 0 alternate: rust_trace_ping in,
# rust_trace_ping out (sleeping on the pipe), in, out... never twice the
# same way in a row. Not every round trip switches (the answer may already
# be in the pipe when rust_trace_ping reads it), so at least half of the
# 10000 must show.
ping_alternates() {
	awk -v me="rust_trace_ping:$ping" '
		/\[000\] .*sched_switch/ {
			if (index($0, "==> " me) && $0 ~ (me "$")) { if (state == "in") bad++; state = "in"; n++ }
			else if (index($0, "sched_switch          " me " ")) { if (state == "out") bad++; state = "out" }
		}
		END { printf "# %d switch-ins of %s on CPU 0, %d out of order\n", n, me, bad; exit !(n >= 5000 && bad == 0) }
	' "$T/report"
}

ktap_print_header
ktap_set_plan 9
rust_trace_load

ktap_test_result "cat exits 0 by itself after stop" capture
read -r pids < "$T/pids" 2>/dev/null
ping=$(echo "$pids" | sed 's/.*ping=\([0-9]*\).*/\1/')
pong=$(echo "$pids" | sed 's/.*pong=\([0-9]*\).*/\1/')
ktap_print_msg "workload: $pids on $ncpu CPUs"
rust_trace_after "$T/ok" "the capture validates (header, sequences, footer, accounting)" rust_trace_validates "$T/out"
rust_trace_after "$T/ok" "at least 20000 sched_switch events of the workload" many_switches
rust_trace_after "$T/ok" "rust_trace_ping is switched in on CPU 0, by name and pid" ping_on_cpu0
if [ "$ncpu" -ge 2 ]; then
	rust_trace_after "$T/ok" "rust_trace_pong is switched in on CPU 1, by name and pid" pong_on_cpu1
	rust_trace_after "$T/ok" "both CPUs recorded sched_switch events" both_cpus
else
	ktap_test_skip "rust_trace_pong is switched in on CPU 1 (one CPU only)"
	ktap_test_skip "both CPUs recorded sched_switch events (one CPU only)"
fi
rust_trace_after "$T/ok" "module counters: read + lost == written" rust_trace_accounting
rust_trace_after "$T/ok" "no event lost with default buffers" none_lost
rust_trace_after "$T/ok" "rust_trace_ping's switches on CPU 0 alternate in and out, in order" ping_alternates

# Hand the capture to the host when run by `make check` (it validates and
# exports it again there).
[ -d /results ] && [ -e "$T/ok" ] && cp "$T/out" /results/pingpong.rtt
rm -rf "$T"
ktap_finished
