#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The latency trigger of the flight recorder. An engineered delay: a
# SCHED_FIFO hog spinning on a CPU while a task pinned there sleeps 1 ms
# again and again, so its timer wakes it in the middle of a spin and it
# waits for the spin to end. `trigger latency` on that task must take a
# snapshot by itself, which a reader blocked on the device receives: a
# valid stream naming the task, its wakeup inside the window, and
# `rtdecode explain` must put the hog as what ran meanwhile, the wakeup
# from hard IRQ context. The same trigger on a quiet system must not
# fire, nor may wakeups that start no wait (a task woken while still on
# its runqueue, later preempted: no wait happened), a fired trigger must
# not fire again until re-armed, and bad
# `trigger` commands are refused with the documented error. Last, `rtdecode
# record --flight` around a command writes a snapshot of its last moments
# (or, with --trigger, the trigger's snapshot) and passes its exit status.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters timeout

T=/tmp/rust_trace_trigger.$$
mkdir -p "$T"
ncpu=$(grep -c ^processor /proc/cpuinfo)
CPU=$((ncpu - 1))
# The threshold (us) and the hog's spin (ms): every wait behind a spin is
# far above the threshold, a wait on a quiet system far below.
THRESHOLD=30000
SPIN=100

# jget KEY FILE: a top-level number or boolean of a pretty-printed JSON.
jget() { sed -n "s/^  \"$1\": \\([0-9a-z]*\\).*/\\1/p" "$2"; }

refused() {
	rust_trace_load || return 1
	rust_trace_cmd_fails "trigger latency $THRESHOLD" "No such process" || return 1
	echo flight > "$DEV" || return 1
	rust_trace_cmd_fails "trigger latency 0" "Invalid argument" &&
		rust_trace_cmd_fails "trigger latency 10000001" "Invalid argument" &&
		rust_trace_cmd_fails "trigger latency 1000 pid 99999999" "No such process" &&
		rust_trace_cmd_fails "trigger latency 1000 pid" "Invalid argument" &&
		rust_trace_cmd_fails "trigger latency 1000 tid 1" "Invalid argument" &&
		rust_trace_cmd_fails "trigger latency 1ms" "Invalid argument" &&
		rust_trace_cmd_fails "trigger" "Invalid argument" &&
		rust_trace_cmd_fails "triggers off" "Invalid argument" || return 1
	# Disarming what is not armed is no error.
	echo "trigger off" > "$DEV" || return 1
	echo stop > "$DEV"
}

quiet() {
	rust_trace_load || return 1
	echo flight > "$DEV" && echo "trigger latency $THRESHOLD" > "$DEV" || return 1
	rust_trace_workload oncpu "$CPU" 3000
	sleep 1
	s=$(rust_trace_counter snapshot)
	echo "trigger off" > "$DEV" && echo stop > "$DEV"
	echo "# snapshot pending after a quiet run: $s"
	[ "$s" = 0 ]
}

# A task that is woken again and again while still on its runqueue and
# preempted for 2 ms while it runs: it never waits more than a few ms, so
# a trigger at 15 ms must never fire (a trigger may miss, never fire on a
# wait that did not happen).
no_false_wait() {
	rust_trace_load || return 1
	echo flight > "$DEV" || return 1
	rust_trace_workload wakerace 12 > "$T/race" &
	job=$!
	for _ in $(seq 100); do
		grep -q target= "$T/race" && break
		sleep 0.1
	done
	tgt=$(sed -n 's/target=\([0-9]*\).*/\1/p' "$T/race")
	[ -n "$tgt" ] || { echo "# the workload did not start"; kill "$job"; return 1; }
	echo "trigger latency 15000 pid $tgt" > "$DEV" || { kill "$job"; return 1; }
	wait "$job"
	sleep 0.2
	s=$(rust_trace_counter snapshot)
	if [ "$s" != 0 ]; then
		timeout 20 cat "$DEV" > "$T/false"
		rtdecode validate "$T/false" | grep -E '^snapshot' | sed 's/^/# /'
	fi
	echo "trigger off" > "$DEV" && echo stop > "$DEV"
	echo "# trigger latency 15000 pid $tgt: snapshot pending after 12 s: $s"
	[ "$s" = 0 ]
}

fires() {
	rust_trace_load || return 1
	echo flight > "$DEV" || return 1
	# Long enough for a slow kernel to arm the trigger while it runs; it
	# is ended once the trigger has fired.
	rust_trace_workload hog "$CPU" "$SPIN" 200 > "$T/hog" &
	hogjob=$!
	for _ in $(seq 100); do
		grep -q sleeper= "$T/hog" && break
		sleep 0.1
	done
	hog=$(sed -n 's/hog=\([0-9]*\).*/\1/p' "$T/hog")
	slp=$(sed -n 's/.*sleeper=\([0-9]*\).*/\1/p' "$T/hog")
	[ -n "$slp" ] || { echo "# the workload did not start"; kill "$hogjob"; return 1; }
	echo "trigger latency $THRESHOLD pid $slp" > "$DEV" || { kill "$hogjob"; return 1; }
	# The reader blocks until the trigger's snapshot is there.
	timeout 60 cat "$DEV" > "$T/snap"
	rc=$?
	# Fired once: no other snapshot although the hog goes on.
	sleep 1
	again=$(rust_trace_counter snapshot)
	kill "$hogjob"
	wait "$hogjob"
	echo stop > "$DEV"
	echo "# hog $hog, sleeper $slp; reader rc $rc; snapshot pending after the firing: $again"
	[ "$rc" = 0 ] && [ "$again" = 0 ] && touch "$T/fired"
}

valid() {
	rust_trace_validates "$T/snap" || return 1
	rtdecode validate "$T/snap" | grep -E '^snapshot' | sed 's/^/# /'
	rtdecode validate "$T/snap" | grep -q "taken by a trigger: PID $slp waited"
}

explained() {
	rtdecode explain "$T/snap" > "$T/why" || return 1
	sed 's/^/# /' "$T/why"
	rtdecode explain --json "$T/snap" > "$T/why.json" || return 1
	w=$(jget waited_ns "$T/why.json")
	top=$(sed -n '/"runners"/,$p' "$T/why.json" | sed -n 's/^ *"pid": \([0-9]*\).*/\1/p' | head -1)
	top_ns=$(sed -n '/"runners"/,$p' "$T/why.json" | sed -n 's/^ *"ns": \([0-9]*\).*/\1/p' | head -1)
	[ "$(jget pid "$T/why.json")" = "$slp" ] || { echo "# explains another task"; return 1; }
	[ "$w" -gt $((THRESHOLD * 1000)) ] || { echo "# waited only $w ns"; return 1; }
	[ "$top" = "$hog" ] && [ $((top_ns * 10)) -ge $((w * 8)) ] ||
		{ echo "# the hog is not what ran (top $top, $top_ns of $w ns)"; return 1; }
	[ "$(jget from_hardirq "$T/why.json")" = true ] || { echo "# not woken from hard IRQ"; return 1; }
	# The wait lies in the window (the snapshot was taken after it).
	set -- $(rtdecode validate --json "$T/snap" | tr -d ' \n' |
		sed -n 's/.*"window":\[\([0-9]*\),\([0-9]*\)\].*/\1 \2/p')
	[ "$1" -le "$(jget woken_ns "$T/why.json")" ] && [ "$(jget ran_ns "$T/why.json")" -lt "$2" ]
}

marked() {
	rtdecode perfetto --format json -o "$T/snap.json" "$T/snap" 2>/dev/null || return 1
	# An instant on the sleeper's track and a flow from its waker.
	grep '"cat":"trigger"' "$T/snap.json" > "$T/marks"
	sed 's/^/# /' "$T/marks"
	grep '"ph":"i"' "$T/marks" | grep -q "\"tid\":$slp[,}]" &&
		grep -q '"ph":"s"' "$T/marks" && grep '"ph":"f"' "$T/marks" | grep -q "\"tid\":$slp[,}]"
}

# rtdecode record --flight: a snapshot of the command's last moments when
# it ends, its exit status passed on.
record_flight() {
	rust_trace_load || return 1
	rtdecode record --flight -o "$T/rf" -- sh -c "rust_trace_workload pairs 1 300; exit 3" \
		2> "$T/rf.err"
	rc=$?
	sed 's/^/# /' "$T/rf.err"
	[ "$rc" = 3 ] || { echo "# exit status $rc, 3 expected"; return 1; }
	rust_trace_validates "$T/rf" || return 1
	rtdecode validate "$T/rf" | grep -E '^snapshot: window' | sed 's/^/# /'
	rtdecode validate "$T/rf" | grep -q '^snapshot: window' &&
		rtdecode report "$T/rf" | grep -q 'rust_trace_ping' &&
		[ "$(rust_trace_counter flight)" = 0 ]
}
# rtdecode record --flight --trigger: the trigger's snapshot is written.
record_trigger() {
	rtdecode record --flight --trigger "$THRESHOLD" -o "$T/rt" -- \
		rust_trace_workload hog "$CPU" "$SPIN" 6 > /dev/null 2> "$T/rt.err"
	rc=$?
	sed 's/^/# /' "$T/rt.err"
	[ "$rc" = 0 ] && rust_trace_validates "$T/rt" || return 1
	rtdecode validate "$T/rt" | grep -q 'taken by a trigger' && grep -q 'rtdecode explain' "$T/rt.err"
}

ktap_print_header
ktap_set_plan 9
ktap_test_result "bad trigger commands are refused, nothing armed" refused
ktap_test_result "a quiet system does not fire the trigger" quiet
ktap_test_result "wakeups that start no wait never fire the trigger" no_false_wait
ktap_test_result "a hog delays a sleeper: the trigger's snapshot reaches a blocked reader, once" fires
rust_trace_after "$T/fired" "the triggered snapshot validates and names its trigger" valid
rust_trace_after "$T/fired" "explain: the hog ran while the sleeper waited, woken from hard IRQ" explained
rust_trace_after "$T/fired" "the Perfetto JSON export marks the trigger" marked
ktap_test_result "record --flight -- cmd: a snapshot when it ends, its exit status" record_flight
ktap_test_result "record --flight --trigger: the trigger's snapshot is written" record_trigger
if [ -d /results ] && [ -e "$T/snap" ]; then
	cp "$T/snap" /results/trigger-snap.rtt
fi
rust_trace_load
rm -rf "$T"
ktap_finished
