#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Filters against ftrace. Each capture is taken under one filter command
# beside an unfiltered ftrace of the same tracepoints, around a workload
# that is stopped until the session runs (a process whose threads, forks
# and execs all come after the filter was set), with unfiltered noise on
# every CPU. `rtdecode ftrace-diff` applies the filter's documented rule to
# ftrace's events (an event passes when its type is selected and a task
# it names passes: switch prev or next, fork parent or child, the others
# their task) and pairs what is left one for one with the capture: no
# event the filter should have kept is missing, none it should have left
# out is there, no name is wrong; and the noise was left out.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters
rust_trace_ftrace_require

T=/tmp/rust_trace_filters.$$
mkdir -p "$T"
ncpu=$(grep -c ^processor /proc/cpuinfo)
CG=/sys/fs/cgroup

# start_stopped OUT SCRIPT: runs the shell SCRIPT in the background,
# stopped (SIGSTOP) before it starts, its output to OUT; its PID (the
# shell's, which SCRIPT may exec over) in $stopped_pid.
start_stopped() {
	sh -c "kill -STOP \$\$; $2" > "$1" &
	stopped_pid=$!
	for _ in $(seq 200); do
		[ "$(cut -d' ' -f3 "/proc/$stopped_pid/stat" 2>/dev/null)" = T ] && return 0
		sleep 0.05
	done
	echo "# the workload did not stop"
	return 1
}

# The workload continued inside the marks, beside noise on every CPU.
filtered_load() {
	rust_trace_workload mark rtmark-begin
	rust_trace_workload pairs "$ncpu" 1500 &
	noise=$!
	kill -CONT "$stopped_pid"
	wait "$stopped_pid"
	wait "$noise"
	rust_trace_workload mark rtmark-end
}

# capture NAME COMMAND: a capture under the filter COMMAND, written before
# the session, beside an unfiltered ftrace; the filter is cleared after.
capture() {
	echo "$2" > "$DEV" || { echo "# '$2' failed"; return 1; }
	rust_trace_ftrace_start 16384
	rust_trace_capture "$T/$1" filtered_load
	rc=$?
	rust_trace_ftrace_stop "$T/$1.ftrace"
	echo "filter clear" > "$DEV" && echo "events all" > "$DEV" || return 1
	[ "$rc" = 0 ] && rust_trace_validates "$T/$1" && touch "$T/$1.ok"
}

# judged NAME MIN OUT STATED DIFF-OPTION...: the capture states the filter
# (its first filter record reads STATED), holds exactly what the rule
# keeps of ftrace's events (at least MIN of them), nothing missing with
# default buffers, no wrong name, and the rule left out at least OUT.
judged() {
	name=$1; min=$2; minout=$3; stated=$4; shift 4
	first=$(rtdecode report "$T/$name" | grep -m1 ' filter ' | sed 's/.*filter *//')
	echo "# stream: filter $first"
	[ "$first" = "$stated" ] || { echo "# expected: filter $stated"; return 1; }
	rust_trace_ftrace_diff "$T/$name" "$T/$name.ftrace" "$@" || return 1
	kept=$(rust_trace_diff_total matched "$T/$name.json")
	out=$(rust_trace_diff_top filtered_out "$T/$name.json")
	echo "# $kept events kept (at least $min expected), $out left out (at least $minout)"
	[ "$kept" -ge "$min" ] && [ "$out" -ge "$minout" ] &&
		[ "$(rust_trace_diff_total missing "$T/$name.json")" -eq 0 ]
}

MIXED="exec rust_trace_workload mixed 4 200 20"

# filter pid: the process, its threads and its children.
capture_pid() {
	start_stopped "$T/pid.out" "$MIXED" || return 1
	pid_root=$stopped_pid
	capture pid "filter pid $pid_root"
}
judged_pid() {
	judged pid 1000 1000 "pid $pid_root (and their children)" --filter-pids "$pid_root"
}

# filter tgid: the process and its threads, not its children.
capture_tgid() {
	start_stopped "$T/tgid.out" "$MIXED" || return 1
	tgid=$stopped_pid
	capture tgid "filter tgid $tgid"
}
judged_tgid() {
	tids=$(sed -n 's/.* tids=//p' "$T/tgid.out")
	echo "# tgid $tgid: threads $tids"
	[ -n "$tids" ] && judged tgid 1000 1000 "tgid $tgid" --filter-tids "$tgid,$tids"
}

# filter cgroup: the workload in a cgroup below the one filtered; no
# other task is in either, so the rule is its process tree.
capture_cgroup() {
	mkdir -p "$CG/rust_trace_filter/sub" || return 1
	start_stopped "$T/cgroup.out" "$MIXED" || return 1
	cg_root=$stopped_pid
	echo "$cg_root" > "$CG/rust_trace_filter/sub/cgroup.procs" || return 1
	capture cgroup "filter cgroup /rust_trace_filter"
}
judged_cgroup() {
	id=$(stat -c %i "$CG/rust_trace_filter")
	judged cgroup 1000 1000 "cgroup id $id (and below)" --filter-pids "$cg_root"
}

# events: switches and wakeups only, of every task.
capture_events() {
	start_stopped "$T/events.out" "exec rust_trace_workload forkstorm 100" || return 1
	capture events "events switch,wakeup"
}
judged_events() {
	judged events 5000 200 "none; events switch,wakeup" --filter-events switch,wakeup || return 1
	others=$(rtdecode report "$T/events" | grep -v ' filter \| task_name \| sched_switch \| sched_wakeup ')
	[ -z "$others" ] || { echo "$others" | head -5 | sed 's/^/# other: /'; return 1; }
}

# A change during a session is stated in the stream and takes effect
# there: wakeups before the second filter record, none after it (but for
# probes already running on another CPU, within 1 ms).
# The old filter may show until 1 ms after the change took effect, at most
# 10 ms after its record (docs/FORMAT.md, Filters); the module switches
# with IRQs off right after the record, so in practice microseconds.
change_in_session() {
	cat "$DEV" > "$T/change" &
	reader=$!
	rust_trace_wait_session || return 1
	rust_trace_workload pingpong 300 > /dev/null
	echo "events switch" > "$DEV" || return 1
	rust_trace_workload pingpong 300 > /dev/null
	echo stop > "$DEV"
	wait "$reader" || return 1
	echo "events all" > "$DEV"
	rtdecode report "$T/change" > "$T/change.report" || return 1
	grep ' filter ' "$T/change.report" | sed 's/^/# /'
	awk '
		/ filter / { n++; if (n == 2) { match($0, /[0-9]+\.[0-9]+:/); t = substr($0, RSTART, RLENGTH - 1) + 0 } }
		/sched_wakeup / { match($0, /[0-9]+\.[0-9]+:/); w = substr($0, RSTART, RLENGTH - 1) + 0
			if (n < 2) before++; else { if (w - t > lag) lag = w - t; if (w > t + 0.011) after++ } }
		END { printf "# %d filter records; %d wakeups before the change, %d after (latest %.6f s after its record)\n", n, before, after, lag
			exit !(n == 2 && before > 100 && after == 0) }' "$T/change.report"
}

# uptime_cs: the uptime in centiseconds.
uptime_cs() { sed 's/^\([0-9]*\)\.\([0-9]*\) .*/\1\2/' /proc/uptime; }

# A fork chain thousands of processes deep. `filter pid` of a task
# outside it returns within a second: the descendant walk is linear in
# tasks (each chain process walked up its whole ancestry, finding nothing,
# under RCU with no reschedule point). `filter pid` of its first then
# follows it to its last process, whose wakeup is in the capture.
deep_chain() {
	depth=6000
	# The debug kernel (KASAN, lockdep) makes and ends processes ten times
	# slower: a shallower chain keeps its run short (the walk's cost there
	# is still checked, against the same second).
	[ -r /proc/lockdep_stats ] && depth=1500
	sleep 600 &
	outside=$!
	rust_trace_workload chain "$depth" > "$T/chain" &
	top=$!
	for _ in $(seq 1200); do grep -q leaf= "$T/chain" && break; sleep 0.1; done
	leaf=$(sed -n 's/^leaf=\([0-9]*\).*/\1/p' "$T/chain")
	rc=1
	if [ -n "$leaf" ]; then
		rc=0
		t0=$(uptime_cs)
		returns_within 120 sh -c "echo 'filter pid $outside' > $DEV" || rc=1
		t1=$(uptime_cs)
		echo "# filter pid of a task outside a chain of $depth processes: $(((t1 - t0) * 10)) ms"
		[ $((t1 - t0)) -le 100 ] || rc=1
		echo "filter pid $top" > "$DEV" || rc=1
		cat "$DEV" > "$T/chain.rtt" &
		reader=$!
		rust_trace_wait_session || rc=1
		kill -USR1 "$leaf"
		sleep 0.5
		echo stop > "$DEV"
		ends_within 120 "$reader" || rc=1
		rtdecode report "$T/chain.rtt" > "$T/chain.report" || rc=1
		n=$(grep -c "sched_wakeup .*:$leaf target_cpu" "$T/chain.report")
		echo "# wakeups of the chain's last process ($leaf) in the capture: $n"
		[ "$n" -ge 1 ] || rc=1
	else
		echo "# the chain did not reach $depth processes"
	fi
	echo "filter clear" > "$DEV"
	# Its first's death ends every link (PDEATHSIG).
	kill "$top" "$outside"
	for _ in $(seq 600); do
		[ -z "$(pidof rust_trace_workload)" ] && break
		sleep 0.1
	done
	return $rc
}

# A writer in another PID namespace, on a descriptor the test's shell
# opened: its `filter pid 1` names the opener's PID 1 (init), not the
# writer's (itself), as cgroup.c resolves a write in the namespace stored
# at open.
opener_namespace() {
	exec 5> "$DEV"
	unshare -p -f sh -c 'echo "filter pid 1" >&5'
	rc=$?
	exec 5>&-
	[ "$rc" = 0 ] || { echo "# the write from the new PID namespace failed"; return 1; }
	cat "$DEV" > "$T/ns.rtt" &
	reader=$!
	rust_trace_wait_session || return 1
	echo stop > "$DEV"
	ends_within 60 "$reader" || return 1
	echo "filter clear" > "$DEV"
	f=$(rtdecode report "$T/ns.rtt" | grep -m1 ' filter ' | sed 's/.*filter *//')
	echo "# the stream states: filter $f"
	case "$f" in "pid 1 "*) return 0 ;; esac
	return 1
}

# The same for a cgroup path: a descriptor opened in a cgroup namespace
# rooted at $CG/rust_trace_ns, written by a task back in the first
# namespace: `filter cgroup /rtns_x` is the opener's /rtns_x (that is,
# $CG/rust_trace_ns/rtns_x), not the writer's ($CG/rtns_x).
opener_cgroup_namespace() {
	mkdir -p "$CG/rust_trace_ns/rtns_x" "$CG/rtns_x" || return 1
	rust_trace_workload cgns "$CG/rust_trace_ns" sh -c 'echo "filter cgroup /rtns_x" >&5'
	rc=$?
	[ "$rc" = 0 ] || { echo "# the write failed"; rmdir "$CG/rust_trace_ns/rtns_x" "$CG/rust_trace_ns" "$CG/rtns_x"; return 1; }
	cat "$DEV" > "$T/cgns.rtt" &
	reader=$!
	rust_trace_wait_session || return 1
	echo stop > "$DEV"
	ends_within 60 "$reader" || return 1
	echo "filter clear" > "$DEV"
	f=$(rtdecode report "$T/cgns.rtt" | grep -m1 ' filter ' | sed 's/.*filter *//')
	want=$(stat -c %i "$CG/rust_trace_ns/rtns_x")
	echo "# the stream states: filter $f; the opener's /rtns_x is id $want, the writer's $(stat -c %i "$CG/rtns_x")"
	rmdir "$CG/rust_trace_ns/rtns_x" "$CG/rust_trace_ns" "$CG/rtns_x"
	case "$f" in "cgroup id $want "*) return 0 ;; esac
	return 1
}

ktap_print_header
ktap_set_plan 12
rust_trace_load
ktap_test_result "filter pid: a capture beside ftrace" capture_pid
rust_trace_after "$T/pid.ok" "filter pid: the task and its descendants' events, exactly" judged_pid
ktap_test_result "filter tgid: a capture beside ftrace" capture_tgid
rust_trace_after "$T/tgid.ok" "filter tgid: every thread's events, exactly" judged_tgid
if [ -w "$CG/cgroup.procs" ]; then
	ktap_test_result "filter cgroup: a capture beside ftrace" capture_cgroup
	rust_trace_after "$T/cgroup.ok" "filter cgroup: the events of the tasks below it, exactly" judged_cgroup
else
	ktap_test_skip "filter cgroup: a capture beside ftrace (no cgroup2 here)"
	ktap_test_skip "filter cgroup: the events of the tasks below it, exactly (no cgroup2 here)"
fi
ktap_test_result "events switch,wakeup: a capture beside ftrace" capture_events
rust_trace_after "$T/events.ok" "events switch,wakeup: those types of every task, exactly" judged_events
ktap_test_result "events changed during a session: stated, and in force from there" change_in_session
ktap_test_result "filter pid beside a deep fork chain (6000, 1500 on a debug kernel): within 1 s; of its first: its last followed" deep_chain
if unshare -p -f true 2>/dev/null; then
	ktap_test_result "filter pid written from another PID namespace: the opener's PIDs" opener_namespace
else
	ktap_test_skip "filter pid written from another PID namespace (no PID namespaces here)"
fi
if [ -w "$CG/cgroup.procs" ] && [ -e /proc/self/ns/cgroup ]; then
	ktap_test_result "filter cgroup written beside another cgroup namespace: the opener's path" \
		opener_cgroup_namespace
else
	ktap_test_skip "filter cgroup written beside another cgroup namespace (no cgroup namespaces here)"
fi
rmdir "$CG/rust_trace_filter/sub" "$CG/rust_trace_filter" 2>/dev/null
rm -rf "$T"
ktap_finished
