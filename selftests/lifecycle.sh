#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Life cycles under load: many sessions in a row, many loads and unloads
# with a reader attached, CPU hotplug during a capture, and nothing left
# behind (vmalloc areas, kmemleak where the kernel has it).
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters

T=/tmp/rust_trace_life.$$
mkdir -p "$T"
ncpu=$(grep -c ^processor /proc/cpuinfo)

# A background stress on every CPU for the duration of a test, in a
# process group of its own (setsid: its pid is the group's id), so that it
# and every ping and pong it forked end together, by that id.
stress_start() { setsid rust_trace_workload pairs "$ncpu" 100000000 & stress=$!; }
stress_stop() {
	kill -TERM -- "-$stress" 2>/dev/null
	wait "$stress" 2>/dev/null
}

SESSIONS=$(rust_trace_rounds 100 20 500)
RELOADS=$(rust_trace_rounds 20 5 100)

sessions_in_a_row() {
	i=0
	while [ $i -lt "$SESSIONS" ]; do
		cat "$DEV" > "$T/s" &
		r=$!
		rust_trace_wait_session || return 1
		echo stop > "$DEV" || return 1
		wait "$r" || { echo "# session $i: cat failed"; return 1; }
		rtdecode validate "$T/s" > "$T/v" || { echo "# session $i:"; sed 's/^/# /' "$T/v"; return 1; }
		i=$((i + 1))
	done
}

reloads() {
	i=0
	while [ $i -lt "$RELOADS" ]; do
		rust_trace_load || return 1
		cat "$DEV" > "$T/r" &
		r=$!
		rust_trace_wait_session || return 1
		echo stop > "$DEV" || return 1
		wait "$r" || return 1
		rtdecode validate "$T/r" > "$T/v" || { sed 's/^/# /' "$T/v"; return 1; }
		rust_trace_unload || return 1
		i=$((i + 1))
	done
	rust_trace_load
}

# Bytes in vmalloc areas (the buffers, the PID bitmap and the module
# itself live there), less task stacks: the kernel caches up to two freed
# stacks per CPU, which would show as noise of 20 KiB a stack.
vmalloc_bytes() { awk '!/alloc_thread_stack_node/ { s += $2 } END { print s }' /proc/vmallocinfo; }
nothing_left_after_unload() {
	rust_trace_load && rust_trace_unload || return 1 # warm up caches (stacks, modules)
	before=$(vmalloc_bytes)
	awk '{ print $2, $3 }' /proc/vmallocinfo | sort > "$T/vm.before"
	rust_trace_load || return 1
	cat "$DEV" > "$T/m" &
	r=$!
	rust_trace_wait_session || return 1
	rust_trace_workload pingpong 2000 > /dev/null
	echo stop > "$DEV"
	wait "$r"
	rust_trace_unload || return 1
	after=$(vmalloc_bytes)
	echo "# vmalloc bytes: $before before insmod, $after after rmmod"
	# The module holds over 2 MiB in vmalloc areas; allow 64 KiB of noise,
	# and show what changed when it is more.
	[ $((after - before)) -lt 65536 ] && return 0
	awk '{ print $2, $3 }' /proc/vmallocinfo | sort | diff "$T/vm.before" - | sed 's/^/# /' | head -20
	return 1
}
kmemleak_clean() {
	echo scan > /sys/kernel/debug/kmemleak
	sleep 1
	echo scan > /sys/kernel/debug/kmemleak
	if grep -q rust_trace /sys/kernel/debug/kmemleak; then
		sed 's/^/# /' /sys/kernel/debug/kmemleak | head -40
		return 1
	fi
}

hotplug_capture() {
	cpu=$((ncpu - 1))
	online=/sys/devices/system/cpu/cpu$cpu/online
	cat "$DEV" > "$T/h" &
	r=$!
	rust_trace_wait_session || return 1
	rust_trace_workload pairs 2 3000 &
	w=$!
	sleep 0.5
	echo 0 > "$online" || return 1
	sleep 0.3
	echo 1 > "$online" || return 1
	wait "$w"
	echo stop > "$DEV"
	wait "$r" || return 1
	rtdecode validate "$T/h" > "$T/v" || { sed 's/^/# /' "$T/v"; return 1; }
	# Events the CPU recorded before it went offline reached the reader.
	rtdecode report "$T/h" | grep -q "\[00$cpu\] .*sched_switch"
}

# A reader killed mid-capture under load: its file decodes up to the cut,
# and the next session starts clean (sequences from 0, exact accounting).
killed_reader_then_a_clean_session() {
	cat "$DEV" > "$T/k1" &
	r=$!
	rust_trace_wait_session || return 1
	rust_trace_workload pairs "$ncpu" 3000 &
	w=$!
	sleep 1
	kill -9 "$r"
	wait "$r" 2>/dev/null
	wait "$w"
	rtdecode report "$T/k1" > /dev/null || return 1
	rust_trace_capture "$T/k2" rust_trace_workload pingpong 500 > /dev/null || return 1
	rtdecode validate "$T/k2" > "$T/v" || { sed 's/^/# /' "$T/v"; return 1; }
	echo "# written $(rust_trace_counter written) read $(rust_trace_counter read_events) lost $(rust_trace_counter lost)"
	[ $(( $(rust_trace_counter read_events) + $(rust_trace_counter lost) )) -eq "$(rust_trace_counter written)" ]
}

ktap_print_header
ktap_set_plan 6
rust_trace_load

stress_start
ktap_test_result "$SESSIONS start/stop sessions in a row under stress, each valid" sessions_in_a_row
stress_stop
stress_start
ktap_test_result "$RELOADS insmod/rmmod cycles with a reader attached and stopped" reloads
stress_stop
ktap_test_result "a reader killed mid-capture; the next session starts clean" killed_reader_then_a_clean_session
if [ "$ncpu" -ge 2 ] && [ -w "/sys/devices/system/cpu/cpu$((ncpu - 1))/online" ]; then
	ktap_test_result "a CPU taken offline and back during a capture" hotplug_capture
else
	ktap_test_skip "CPU hotplug during a capture (not supported here)"
fi
ktap_test_result "no vmalloc memory is left behind after a session and rmmod" nothing_left_after_unload
rust_trace_load
if [ -e /sys/kernel/debug/kmemleak ]; then
	ktap_test_result "kmemleak finds no leak from rust_trace" kmemleak_clean
else
	ktap_test_skip "kmemleak finds no leak (kernel without kmemleak)"
fi
rm -rf "$T"
ktap_finished
