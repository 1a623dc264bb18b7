#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# End to end: `cat /dev/rust_trace > out` around a real workload, `stop`,
# then the decoder checks the capture; with default and with tiny buffers.
. "$(dirname "$0")/lib.sh"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters

T=/tmp/rust_trace_capture.$$
mkdir -p "$T"
ncpu=$(grep -c ^processor /proc/cpuinfo)

# ktap_test_result word-splits its command: each check is a function.
pingpong_10000() { rust_trace_workload pingpong 10000 > "$T/pids"; }
capture_pingpong() { rust_trace_capture "$T/out" pingpong_10000; }
validates() { rtdecode validate "$1" > "$1.validate" || { sed 's/^/# /' "$1.validate"; return 1; }; }
many_switches() {
	n=$(grep -c 'sched_switch .*rust_trace_p[io]ng' "$T/report")
	echo "# $n sched_switch events name rust_trace_ping or rust_trace_pong"
	[ "$n" -ge 20000 ]
}
ping_on_cpu0() { grep -q "\[000\] .*sched_switch .*==> rust_trace_ping:$ping\$" "$T/report"; }
# The ping-pong's own switches on CPU 0 alternate: rust_trace_ping in, rust_trace_ping out
# (sleeping on the pipe), in, out... never twice the same way in a row.
# Not every round trip switches (the answer may already be in the pipe when
# rust_trace_ping reads it), so at least half of the 10000 must show.
ping_alternates() {
	awk -v me="rust_trace_ping:$ping" '
		/\[000\] .*sched_switch/ {
			if (index($0, "==> " me) && $0 ~ (me "$")) { if (state == "in") bad++; state = "in"; n++ }
			else if (index($0, "sched_switch          " me " ")) { if (state == "out") bad++; state = "out" }
		}
		END { printf "# %d switch-ins of %s on CPU 0, %d out of order\n", n, me, bad; exit !(n >= 5000 && bad == 0) }
	' "$T/report"
}
pong_on_cpu1() { grep -q "\[001\] .*sched_switch .*==> rust_trace_pong:$pong\$" "$T/report"; }
both_cpus() { grep -q '\[000\] .*sched_switch' "$T/report" && grep -q '\[001\] .*sched_switch' "$T/report"; }
accounting() {
	echo "# written $(rust_trace_counter written) read $(rust_trace_counter read_events) lost $(rust_trace_counter lost)"
	[ $(( $(rust_trace_counter read_events) + $(rust_trace_counter lost) )) -eq "$(rust_trace_counter written)" ]
}
none_lost() { [ "$(rust_trace_counter lost)" -eq 0 ]; }
spawn() { rust_trace_workload spawn > "$T/child"; }
child_lifecycle() {
	grep "pid=$child\|child_pid=$child" "$T/spawn.report" | sed 's/^/# /'
	grep -q "sched_process_fork .*child_pid=$child\$" "$T/spawn.report" &&
		grep -q "sched_process_exec .*comm=rust_trace_work pid=$child " "$T/spawn.report" &&
		grep -q "sched_process_exit .*pid=$child\$" "$T/spawn.report"
}
# A reader that starts reading 2 s late: the session starts at open, the
# workload fills the few tiny buffers long before the first read.
capture_tiny() {
	{ sleep 2; cat; } < "$DEV" > "$T/tiny" &
	reader=$!
	rust_trace_wait_session || return 1
	stress_all
	# Let the reader drain and recycle buffers while tracing goes on: the
	# next batch of each CPU then reports the events lost before it.
	sleep 3
	echo stop > "$DEV"
	wait "$reader"
}
tiny_loss_reported() {
	rtdecode validate --json "$T/tiny" > "$T/tiny.json"
	lost_batches=$(grep '"lost_in_batches"' "$T/tiny.json" | tr -dc '0-9\n' | awk '{s+=$1} END {print s+0}')
	echo "# tiny buffers: lost $(rust_trace_counter lost), reported by batch headers $lost_batches"
	[ "$(rust_trace_counter lost)" -gt 0 ] && [ "$lost_batches" -gt 0 ]
}

ktap_print_header
ktap_set_plan 19
rust_trace_load

# --- default buffers, 10,000 round trips: at least 20,000 switches.
ktap_test_result "cat exits 0 by itself after stop" capture_pingpong
read -r pids < "$T/pids"
ping=$(echo "$pids" | sed 's/.*ping=\([0-9]*\).*/\1/')
pong=$(echo "$pids" | sed 's/.*pong=\([0-9]*\).*/\1/')
ktap_print_msg "workload: $pids on $ncpu CPUs"
rtdecode validate "$T/out" | sed 's/^/# /'
ktap_test_result "the capture validates (header, sequences, footer, accounting)" validates "$T/out"
rtdecode report "$T/out" > "$T/report"
ktap_test_result "at least 20000 sched_switch events of the workload" many_switches
ktap_test_result "rust_trace_ping is switched in on CPU 0, by name and pid" ping_on_cpu0
if [ "$ncpu" -ge 2 ]; then
	ktap_test_result "rust_trace_pong is switched in on CPU 1, by name and pid" pong_on_cpu1
	ktap_test_result "both CPUs recorded sched_switch events" both_cpus
else
	ktap_test_skip "rust_trace_pong is switched in on CPU 1 (one CPU only)"
	ktap_test_skip "both CPUs recorded sched_switch events (one CPU only)"
fi
ktap_test_result "module counters: read + lost == written" accounting
ktap_test_result "no event lost with default buffers" none_lost
ktap_test_result "rust_trace_ping's switches on CPU 0 alternate in and out, in order" ping_alternates

# --- a stress on every CPU at once: ping-pong pairs, a ring of 16 threads
# and a fork/exit storm, with default buffers: nothing lost, exact counts.
uptime_cs() { awk '{ printf "%d\n", $1 * 100 }' /proc/uptime; }
stress_all() {
	start=$(uptime_cs)
	rust_trace_workload pairs "$ncpu" 8000 &
	p1=$!
	rust_trace_workload threads 16 2000 &
	p2=$!
	rust_trace_workload forkstorm 400
	wait "$p1" "$p2"
	echo $(( $(uptime_cs) - start )) > "$T/stress.cs"
}
capture_stress() { rust_trace_capture "$T/stress" stress_all; }
stress_rate() {
	cs=$(cat "$T/stress.cs"); [ "$cs" -gt 0 ] || cs=1
	echo "# stress: $(rust_trace_counter written) events in $((cs / 100)).$((cs % 100 / 10)) s = $(( $(rust_trace_counter written) * 100 / cs )) events/s, $(rust_trace_counter lost) lost"
	[ "$(rust_trace_counter lost)" -eq 0 ] && [ $(( $(rust_trace_counter read_events) + $(rust_trace_counter lost) )) -eq "$(rust_trace_counter written)" ]
}
ktap_test_result "stress on all CPUs: cat exits 0 after stop" capture_stress
ktap_test_result "stress on all CPUs: nothing lost, read + lost == written" stress_rate
ktap_test_result "stress on all CPUs: the capture validates" validates "$T/stress"

# --- fork, exec and exit of a child the test starts.
rust_trace_capture "$T/spawn" spawn
child=$(sed -n 's/child=//p' "$T/child")
rtdecode report "$T/spawn" > "$T/spawn.report"
ktap_test_result "fork, exec and exit of a child are recorded with its pid" child_lifecycle

# --- captures cut short: by SIGINT on cat mid-capture, by `head -c`. The
# decoder decodes every complete batch, says where the stream was cut, and
# exits 0.
# decodes_cut FILE: report, stats and perfetto exit 0 and report the cut.
decodes_cut() {
	rtdecode report "$1" > "$1.report" 2> "$1.err" || { sed 's/^/# /' "$1.err"; return 1; }
	grep -q "footer\|cut inside" "$1.err" || { echo "# no word of the cut"; return 1; }
	sed 's/^/# /' "$1.err"
	echo "# $(wc -l < "$1.report") events decoded"
	[ "$(wc -l < "$1.report")" -gt 100 ] &&
		rtdecode stats "$1" > /dev/null 2>&1 &&
		rtdecode perfetto "$1" -o "$1.pftrace" > /dev/null 2>&1
}
capture_interrupted() {
	rust_trace_workload sigdfl cat "$DEV" > "$T/int" &
	reader=$!
	rust_trace_wait_session || return 1
	rust_trace_workload pairs "$ncpu" 5000 &
	w=$!
	# Interrupt it once it has written a few batches.
	for _ in $(seq 300); do
		[ "$(stat -c %s "$T/int")" -gt 50000 ] && break
		sleep 0.1
	done
	kill -INT "$reader"
	wait "$reader"
	echo "# cat ended with status $? after SIGINT"
	wait "$w"
	decodes_cut "$T/int"
}
capture_head() {
	head -c 100000 "$DEV" > "$T/head" &
	reader=$!
	rust_trace_wait_session || return 1
	rust_trace_workload pairs "$ncpu" 3000
	wait "$reader"
	[ "$(stat -c %s "$T/head")" -eq 100000 ] && decodes_cut "$T/head"
}
ktap_test_result "cat interrupted by SIGINT: the capture decodes up to the cut" capture_interrupted
ktap_test_result "head -c 100000: the capture decodes up to the cut" capture_head

# --- tiny buffers: loss happens, is counted, and the accounting still holds.
rust_trace_load buf_size=4096 nr_bufs=2
ktap_test_result "tiny buffers: cat still exits 0 after stop" capture_tiny
ktap_test_result "tiny buffers: events are lost, and batch headers report them" tiny_loss_reported
ktap_test_result "tiny buffers: read + lost == written" accounting
ktap_test_result "tiny buffers: the capture validates" validates "$T/tiny"

# Hand the captures to the host when run by `make check` (it validates and
# exports them again there).
if [ -d /results ]; then
	cp "$T/out" /results/pingpong.rtt
	cp "$T/spawn" /results/spawn.rtt
	cp "$T/tiny" /results/tiny.rtt
fi
rust_trace_load
rm -rf "$T"
ktap_finished
