#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Processes and cgroups: every task record carries the task's process
# (thread-group id) and its cgroup v2 id; a task moved to another cgroup is
# named again with the new one; the decoder groups threads under their
# process and sums tasks by process and by cgroup.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters

T=/tmp/rust_trace_processes.$$
mkdir -p "$T"
CG=/sys/fs/cgroup

threads() { rust_trace_workload threads 8 300 > "$T/threads.ids"; }
capture_threads() {
	rust_trace_capture "$T/threads" threads || return 1
	rtdecode report "$T/threads" > "$T/threads.report" && touch "$T/threads.ok"
}
# Each of the workload's threads is named with the workload's tgid.
threads_in_their_process() {
	tgid=$(sed -n 's/^tgid=\([0-9]*\) .*/\1/p' "$T/threads.ids")
	tids=$(sed -n 's/.* tids=//p' "$T/threads.ids" | tr ',' ' ')
	echo "# workload tgid $tgid, threads $tids"
	for tid in $tids; do
		grep -q "task_name .* pid=$tid tgid=$tgid " "$T/threads.report" ||
			{ echo "# thread $tid not named in process $tgid"; return 1; }
	done
}
# rtdecode stats sums the threads under the process.
process_totals() {
	rtdecode stats --json "$T/threads" > "$T/threads.json" || return 1
	tgid=$(sed -n 's/^tgid=\([0-9]*\) .*/\1/p' "$T/threads.ids")
	n=$(awk -v id="$tgid" '/"processes"/ { p = 1 } p && /"id":/ { gsub(/[^0-9]/, ""); cur = $0 }
		p && /"tasks":/ && cur == id { gsub(/[^0-9]/, ""); print; exit }' "$T/threads.json")
	echo "# process $tgid: $n tasks in the stats"
	[ "${n:-0}" -ge 8 ]
}

# A ping-pong moved into a new cgroup while traced: its tasks are named
# again, with that cgroup's id, and stats --by cgroup finds them there.
moved() {
	# Long enough to outlive the moves whatever the guest's speed (20,000
	# round trips once ended before them); killed after (ping's death
	# ends pong).
	rust_trace_workload pingpong 10000000 > "$T/pids" &
	w=$!
	sleep 0.5
	rc=0
	for pid in $(sed -n 's/ping=\([0-9]*\) pong=\([0-9]*\).*/\1 \2/p' "$T/pids"); do
		echo "$pid" > "$CG/rust_trace_test/cgroup.procs" || { rc=1; break; }
		# A task already exiting is not moved (and the write succeeds).
		grep -qx "$pid" "$CG/rust_trace_test/cgroup.procs" ||
			{ echo "# $pid was not moved (it ended too soon)"; rc=1; break; }
	done
	# Events after the move, named with the new cgroup.
	sleep 0.5
	kill "$w"
	wait "$w" 2> /dev/null
	return $rc
}
capture_moved() {
	mkdir -p "$CG/rust_trace_test" || return 1
	rust_trace_capture "$T/moved" moved || return 1
	rtdecode report "$T/moved" > "$T/moved.report" && touch "$T/moved.ok"
}
renamed_with_new_cgroup() {
	id=$(stat -c %i "$CG/rust_trace_test")
	ping=$(sed -n 's/ping=\([0-9]*\).*/\1/p' "$T/pids")
	last=$(grep "task_name .* pid=$ping " "$T/moved.report" | tail -1)
	echo "# cgroup id $id; last record of $ping: ${last#*: }"
	echo "$last" | grep -q "cgroup=$id "
}
by_cgroup() {
	rtdecode stats --by cgroup --cgroup-root "$CG" "$T/moved" > "$T/moved.stats" || return 1
	sed -n '/^cgroups/,$p' "$T/moved.stats" | sed 's/^/# /'
	sed -n '/^cgroups/,$p' "$T/moved.stats" | grep -q " /rust_trace_test "
}

# A PID reused by a worker made outside kernel_clone() (io_uring's SQPOLL
# poller, create_io_thread(): no sched_process_fork): the workload's child
# "rtold-reuse" runs and exits, then the poller takes its PID. Tried up to
# three times, in case another task takes the PID first.
io_reuse() {
	for _ in 1 2 3; do
		rust_trace_workload ioreuse > "$T/ioreuse.ids" || return 1
		[ "$(sed -n 's/^old=\([0-9]*\) .*/\1/p' "$T/ioreuse.ids")" = \
		  "$(sed -n 's/.* sqp=\([0-9]*\)$/\1/p' "$T/ioreuse.ids")" ] && return 0
	done
}
capture_ioreuse() {
	rust_trace_capture "$T/ioreuse" io_reuse || return 1
	cat "$T/ioreuse.ids" | sed 's/^/# /'
	rtdecode report "$T/ioreuse" > "$T/ioreuse.report" && touch "$T/ioreuse.ok"
}
# After the old task's last switch out (a zombie) no event names the PID
# after it: the poller's events are there, named as it is (or not at
# all), never "rtold-reuse".
not_named_after_the_old_task() {
	old=$(sed -n 's/^old=\([0-9]*\) .*/\1/p' "$T/ioreuse.ids")
	sqp=$(sed -n 's/.* sqp=\([0-9]*\)$/\1/p' "$T/ioreuse.ids")
	[ -n "$old" ] && [ "$old" = "$sqp" ] || { echo "# the poller did not take the PID"; return 1; }
	awk -v p="$old" '
		/sched_switch/ && $0 ~ ("rtold-reuse:" p " \\[[ZX]\\] ==>") { gone = 1; next }
		gone && $0 ~ ("rtold-reuse[-:]" p "([^0-9]|$)") { bad++; if (bad < 4) print "# " $0 }
		gone && $0 ~ ("[-:]" p "([^0-9]|$)") { seen++ }
		END { printf "# after the old task exited: %d events of PID %s, %d named after it\n", seen, p, bad
			exit !(gone && seen > 0 && bad == 0) }' "$T/ioreuse.report"
}

ktap_print_header
ktap_set_plan 8
rust_trace_load
ktap_test_result "a capture around 8 threads of one process" capture_threads
rust_trace_after "$T/threads.ok" "each thread is named with its process's tgid" threads_in_their_process
rust_trace_after "$T/threads.ok" "stats sums the 8 threads under their process" process_totals
if [ -e /proc/sys/kernel/io_uring_disabled ] || grep -q io_uring_setup /proc/kallsyms; then
	ktap_test_result "a capture around a PID reused by an io_uring worker" capture_ioreuse
	rust_trace_after "$T/ioreuse.ok" "the worker's events are never named after the PID's old task" \
		not_named_after_the_old_task
else
	ktap_test_skip "a capture around a PID reused by an io_uring worker (no io_uring here)"
	ktap_test_skip "the worker's events are never named after the PID's old task (no io_uring here)"
fi
if [ -w "$CG/cgroup.procs" ]; then
	ktap_test_result "a capture around tasks moved to another cgroup" capture_moved
	rust_trace_after "$T/moved.ok" "a moved task is named again with its new cgroup" renamed_with_new_cgroup
	rust_trace_after "$T/moved.ok" "stats --by cgroup sums it under that cgroup's path" by_cgroup
else
	ktap_test_skip "a capture around tasks moved to another cgroup (no cgroup2 here)"
	ktap_test_skip "a moved task is named again with its new cgroup (no cgroup2 here)"
	ktap_test_skip "stats --by cgroup sums it under that cgroup's path (no cgroup2 here)"
fi
# For the host: the threads' capture, with its workload's ids, to check the
# Perfetto export's process tree against.
if [ -d /results ] && [ -e "$T/threads.ok" ]; then
	cp "$T/threads" /results/threads.rtt
	cp "$T/threads.ids" /results/threads.rtt.ids
fi
rmdir "$CG/rust_trace_test" 2>/dev/null
rm -rf "$T"
ktap_finished
