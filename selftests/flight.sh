#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The flight recorder. Flight recording in a small buffer budget under a
# minute of mixed load (15 under `make soak`), with a snapshot every few
# seconds while the load runs: the kernel's memory does not grow, each
# snapshot is a valid stream
# (every event inside its stated window, every task named on its CPU
# before it is mentioned, nothing lost), and each covers later time than
# the one before. Then a snapshot beside ftrace: on every CPU it holds
# exactly ftrace's events of its window, both when the window starts at a
# cut (the CPUs overwrote older events) and when it starts where the last
# snapshot ended. Then the commands' errors, `stop`, rmmod and the module
# parameter that starts flight recording at load.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters timeout

T=/tmp/rust_trace_flight.$$
mkdir -p "$T"
ncpu=$(grep -c ^processor /proc/cpuinfo)
# How long the load runs under flight recording (seconds).
LOAD_SECONDS=${RUST_TRACE_FLIGHT_SECONDS:-$(rust_trace_rounds 60 60 900)}
# The budget: 6 buffers of 16 KiB per CPU, a ring of 3 (about 7,000
# events): the rings wrap every second or so under the load.
BUDGET="nr_bufs=6 buf_size=16384"

now() { cut -d. -f1 /proc/uptime; }
# kernel_kb: the kernel's own memory that a leak would grow, in KiB
# (unreclaimable slab, vmalloc, page tables), after dropping caches.
kernel_kb() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	awk '/^(SUnreclaim|VmallocUsed|PageTables):/ { s += $2 } END { print s }' /proc/meminfo
}
# json_window FILE: a snapshot's window "start end" from validate's JSON.
json_window() {
	rtdecode validate --json "$1" | tr -d ' \n' |
		sed -n 's/.*"window":\[\([0-9]*\),\([0-9]*\)\].*/\1 \2/p'
}

# The load: ping-pong pairs on every CPU, a ring of threads, forks, execs
# and renames, round after round until $T/stop exists.
mixed_round() {
	rust_trace_workload pairs "$ncpu" 1000 &
	p1=$!
	rust_trace_workload threads 8 200 > /dev/null &
	p2=$!
	rust_trace_workload forkstorm 50
	rust_trace_workload spawn > /dev/null
	rust_trace_workload renamers 20
	wait "$p1" "$p2"
}
mixed_rounds() {
	while [ ! -e "$T/stop" ]; do
		mixed_round
	done
}

# take N: the snapshot command. fetch N: the snapshot read to EOF into
# $T/snapN; it validates; its window starts at or after the previous one's
# end and holds events. snap N: both.
take() { echo snapshot > "$DEV" || { echo "# snapshot $1 refused"; return 1; }; }
snap() { take "$1" && fetch "$1"; }
fetch() {
	timeout 120 cat "$DEV" > "$T/snap$1" || { echo "# reading snapshot $1 failed"; return 1; }
	rust_trace_validates "$T/snap$1" || return 1
	set -- "$1" $(json_window "$T/snap$1")
	[ -n "$3" ] || { echo "# snapshot $1 states no window"; return 1; }
	ev=$(json_num events "$T/snap$1")
	skew=$(json_num skew_ns "$T/snap$1")
	echo "# snapshot $1: window $2 .. $3 ($(( ($3 - $2) / 1000000 )) ms), $ev events," \
		"$(json_num overwritten "$T/snap$1") overwritten before it, clock skew ${skew:-?} ns"
	[ -n "$skew" ] || { echo "# no clock skew stated"; return 1; }
	[ "$2" -ge "$prev_end" ] || { echo "# starts before the previous window's end $prev_end"; return 1; }
	[ "$3" -gt "$2" ] && [ "$ev" -gt 0 ] || { echo "# empty window"; return 1; }
	prev_end=$3
}

commands() {
	rust_trace_load $BUDGET || return 1
	rust_trace_cmd_fails snapshot "No such process" || return 1
	echo flight > "$DEV" || return 1
	rust_trace_cmd_fails flight "busy" || return 1
	# No snapshot pending: a reader blocks.
	timeout 2 cat "$DEV" > "$T/none"
	rc=$?
	[ "$rc" -ne 0 ] && [ ! -s "$T/none" ] || { echo "# cat with no snapshot: rc $rc"; return 1; }
	echo snapshot > "$DEV" || return 1
	rust_trace_cmd_fails snapshot "busy" || return 1
	timeout 60 cat "$DEV" > "$T/first" && rust_trace_validates "$T/first" || return 1
	echo stop > "$DEV" || return 1
	[ "$(rust_trace_counter flight)" = 0 ] && [ "$(rust_trace_counter running)" = 0 ] || return 1
	rust_trace_cmd_fails snapshot "No such process"
}

# More filter changes in one window than the filter log keeps (16): the
# snapshot states the filter in force at its window's start (validate's
# rule: no event of a type the stated filter leaves out before the first
# filter record), and still holds events.
filter_log() {
	rust_trace_load nr_bufs=64 buf_size=65536 || return 1
	echo flight > "$DEV" || return 1
	rust_trace_workload pairs "$ncpu" 1000000 > /dev/null &
	load=$!
	sleep 0.5
	for i in $(seq 10); do
		echo "events switch" > "$DEV" && sleep 0.05 &&
			echo "events all" > "$DEV" && sleep 0.05 || break
	done
	rc=0
	prev_end=0
	snap F || rc=1
	rtdecode validate "$T/snapF" | grep -E '^snapshot' | sed 's/^/# /'
	# The pairs and their forked halves.
	killall rust_trace_workload rust_trace_ping rust_trace_pong 2> /dev/null
	wait "$load" 2> /dev/null
	echo stop > "$DEV" || return 1
	return $rc
}

flight_under_load() {
	rust_trace_load $BUDGET || return 1
	echo flight > "$DEV" || return 1
	# One round first, so that the kernel's caches for the load's tasks
	# are warm when memory is first measured.
	mixed_round
	kb0=$(kernel_kb)
	rm -f "$T/stop"
	mixed_rounds &
	load=$!
	end=$(( $(now) + LOAD_SECONDS ))
	prev_end=0; n=0; rc=0
	while [ "$(now)" -lt "$end" ]; do
		sleep $(( LOAD_SECONDS / 8 ))
		snap "$n" || rc=1
		[ "$n" -gt 0 ] && rm -f "$T/snap$((n - 1))"
		n=$((n + 1))
	done
	touch "$T/stop"
	wait "$load"
	kb1=$(kernel_kb)
	w=$(rust_trace_counter written); o=$(rust_trace_counter overwritten)
	echo "# $n snapshots in $LOAD_SECONDS s of load: written $w, overwritten $o, lost $(rust_trace_counter lost)"
	echo "# kernel memory (SUnreclaim + VmallocUsed + PageTables): $kb0 KiB before the load, $kb1 KiB after"
	[ "$rc" = 0 ] && [ "$n" -ge 3 ] || return 1
	# The rings (about 7,000 events) wrapped many times over; nothing was
	# lost.
	[ "$o" -gt $((LOAD_SECONDS * 500)) ] && [ "$(rust_trace_counter lost)" = 0 ] || return 1
	# The kernel holds no more memory than before (slack for its own
	# caches). Under KASAN, whose quarantine keeps freed memory for a
	# while, kmemleak judges instead.
	if dmesg | grep -q KernelAddressSanitizer; then
		echo "# KASAN: memory figures include its quarantine; kmemleak checks for leaks"
		if [ -e /sys/kernel/debug/kmemleak ]; then
			echo scan > /sys/kernel/debug/kmemleak
			sleep 1
			echo scan > /sys/kernel/debug/kmemleak
			! grep -q rust_trace /sys/kernel/debug/kmemleak || {
				sed 's/^/# /' /sys/kernel/debug/kmemleak | head -40
				return 1
			}
		fi
	else
		[ "$kb1" -le $((kb0 + 2048)) ] || return 1
	fi
	cp "$T/snap$((n - 1))" "$T/last-under-load"
	echo stop > "$DEV"
}

# Beside ftrace: the load until the rings wrapped, snapshot A (its window
# starts at a cut), a short load, snapshot B (no overwrite since A: its
# window starts at A's end).
beside_ftrace() {
	rust_trace_load nr_bufs=8 buf_size=16384 || return 1
	rust_trace_ftrace_start 32768
	echo flight > "$DEV" || return 1
	rm -f "$T/stop"
	mixed_rounds &
	load=$!
	for _ in $(seq 60); do
		[ "$(rust_trace_counter overwritten)" -gt 20000 ] && break
		sleep 1
	done
	prev_end=0
	take A
	rc=$?
	# End the load at once (a slow kernel would otherwise overwrite the
	# rings again finishing its round while A is read), then a little more.
	touch "$T/stop"
	killall rust_trace_workload 2>/dev/null
	wait "$load"
	[ "$rc" = 0 ] && fetch A
	rc=$?
	rust_trace_workload pairs "$ncpu" 50
	[ "$rc" = 0 ] && snap B
	rc=$?
	sleep 0.1
	rust_trace_ftrace_stop "$T/ftrace"
	echo stop > "$DEV"
	[ "$rc" = 0 ] && touch "$T/ftrace.ok"
}
# matches_ftrace NAME: ftrace-diff over the snapshot's stated window, less
# 100 us at each edge: every ftrace event there paired, none missing or
# extra on any CPU, no name wrong.
matches_ftrace() {
	rtdecode ftrace-diff --margin-us 100 --json-file "$T/diff$1.json" \
		"$T/snap$1" "$T/ftrace" > "$T/diff$1"
	rc=$?
	sed 's/^/# /' "$T/diff$1"
	m=$(rust_trace_diff_total matched "$T/diff$1.json")
	[ "$rc" = 0 ] && [ "$m" -gt "$2" ] &&
		[ "$(rust_trace_diff_total missing "$T/diff$1.json")" -eq 0 ] &&
		[ "$(rust_trace_diff_total extra "$T/diff$1.json")" -eq 0 ]
}
cut_window() {
	o=$(json_num overwritten "$T/snapA")
	echo "# $o events overwritten before snapshot A"
	[ "$o" -gt 0 ] && matches_ftrace A 2000
}
# B starts where A ended when no CPU overwrote anything in between (the
# rule; the load was ended right after A so that it applies), else at a
# generation boundary after A's end.
contiguous_window() {
	a=$(json_window "$T/snapA" | cut -d' ' -f2)
	b=$(json_window "$T/snapB" | cut -d' ' -f1)
	oa=$(json_num overwritten "$T/snapA"); ob=$(json_num overwritten "$T/snapB")
	echo "# snapshot A ends at $a, B starts at $b; overwritten before A $oa, before B $ob"
	if [ "$oa" = "$ob" ]; then
		[ "$a" = "$b" ] || return 1
	else
		echo "# the CPUs overwrote events in between: B cannot start at A's end"
		[ "$b" -gt "$a" ] && [ $((b % 100000000)) = 0 ] || return 1
	fi
	matches_ftrace B 100
}

# stop, then a streaming session, rmmod, and flight=1 at load.
afterwards() {
	rust_trace_load $BUDGET || return 1
	echo flight > "$DEV" && rust_trace_workload pairs "$ncpu" 50 && echo stop > "$DEV" || return 1
	rust_trace_capture "$T/stream" rust_trace_workload pingpong 200 || return 1
	rust_trace_validates "$T/stream" && rust_trace_accounting || return 1
	rust_trace_unload || return 1
	rust_trace_load flight=1 flight_gen_ms=10 || return 1
	[ "$(rust_trace_counter flight)" = 1 ] || { echo "# flight=1 did not start flight recording"; return 1; }
	rust_trace_workload pairs "$ncpu" 50
	prev_end=0
	snap L || return 1
	# rmmod while flight recording runs.
	rust_trace_unload
}

ktap_print_header
ktap_set_plan 7
ktap_test_result "flight and snapshot: errors, a blocking reader, stop" commands
ktap_test_result "20 filter changes in one window: the snapshot states the right filter" filter_log
ktap_test_result "$LOAD_SECONDS s of load in a fixed budget: snapshots valid, successive, memory flat" flight_under_load
ktap_test_result "snapshots beside ftrace, taken while the load runs" beside_ftrace
rust_trace_after "$T/ftrace.ok" "a snapshot cut at a generation holds exactly ftrace's events of its window" cut_window
rust_trace_after "$T/ftrace.ok" "the next snapshot follows the first by the rule and holds exactly ftrace's events" contiguous_window
ktap_test_result "stop, a streaming session, rmmod, flight=1 at load" afterwards
if [ -d /results ]; then
	for f in last-under-load snapA snapB snapL; do
		[ -e "$T/$f" ] && cp "$T/$f" "/results/flight-$f.rtt"
	done
fi
rust_trace_load
rm -rf "$T"
ktap_finished
