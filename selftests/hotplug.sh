#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# CPU hotplug under tracing: a CPU taken offline and brought back many
# times while a reader streams small buffers under load (a buffer retired
# by the dying CPU's last switch, to idle, queues the reader's wake-up on
# a CPU that runs no more irq_work), then left offline: `stop` ends the
# stream, the capture validates, and rmmod returns (it waits for the
# wake-up not to be pending anywhere). And a CPU offline when the module
# loads: it has no buffers (memory is spent on the CPUs that came
# online), gets them when it comes online during a session, and its
# events arrive. Skipped with one CPU or a CPU 1 that cannot go offline.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters timeout

C1=/sys/devices/system/cpu/cpu1/online
if [ ! -w "$C1" ]; then
	ktap_print_header
	ktap_skip_all "CPU 1 cannot go offline here"
	exit "$KSFT_SKIP"
fi
T=/tmp/rust_trace_hotplug.$$
mkdir -p "$T"
CYCLES=${RUST_TRACE_HOTPLUG_CYCLES:-$(rust_trace_rounds 150 50 1000)}

cycles() {
	rust_trace_load buf_size=4096 nr_bufs=64 || return 1
	cat "$DEV" > "$T/cap" &
	reader=$!
	rust_trace_wait_session || return 1
	# Load on every CPU (pinned modulo the CPUs online when each starts).
	rust_trace_workload pairs 2 100000000 > /dev/null 2>&1 &
	load=$!
	rc=0
	i=0
	while [ "$i" -lt "$CYCLES" ]; do
		echo 0 > "$C1" && echo 1 > "$C1" || { echo "# cycle $i failed"; rc=1; break; }
		i=$((i + 1))
	done
	echo 0 > "$C1"
	echo "# $i offline/online cycles, CPU 1 left offline"
	# The pairs and their forked halves.
	killall rust_trace_workload rust_trace_ping rust_trace_pong 2> /dev/null
	wait "$load" 2> /dev/null
	returns_within 30 sh -c "echo stop > $DEV" || rc=1
	ends_within 30 "$reader" || rc=1
	rust_trace_validates "$T/cap" || rc=1
	returns_within 30 rmmod rust_trace || rc=1
	echo 1 > "$C1"
	return $rc
}

# (Counts in nload and nlate, not n: lib.sh's ends_within counts in that
# global.)
first_online() {
	rust_trace_unload || return 1
	echo 0 > "$C1" || return 1
	dmesg -c > /dev/null
	rust_trace_load || { echo 1 > "$C1"; return 1; }
	rc=0
	nload=$(rust_trace_counters | grep -c '^cpu=')
	online=$(grep -c ^processor /proc/cpuinfo)
	echo "# $(dmesg | sed -n 's/.*rust_trace: loaded: //p')"
	echo "# CPUs with buffers at load: $nload, online: $online"
	[ "$nload" = "$online" ] || rc=1
	cat "$DEV" > "$T/late" 2> "$T/late.err" &
	reader=$!
	rust_trace_wait_session || rc=1
	echo 1 2> "$T/online.err" > "$C1" || { echo "# CPU 1 did not come online: $(cat "$T/online.err")"; rc=1; }
	rust_trace_workload oncpu 1 200 || { echo "# the workload on CPU 1 failed"; rc=1; }
	nlate=$(rust_trace_counters | grep -c '^cpu=')
	echo stop > "$DEV"
	ends_within 30 "$reader" || { echo "# the reader failed: $(cat "$T/late.err")"; rc=1; }
	rust_trace_validates "$T/late" || rc=1
	ev=$(rtdecode report "$T/late" | grep -c ' \[001\] ')
	echo "# after CPU 1 came online: $nlate CPUs with buffers, $ev events of CPU 1 in the capture"
	[ "$nlate" = $((nload + 1)) ] && [ "$ev" -gt 0 ] || rc=1
	return $rc
}

ktap_print_header
ktap_set_plan 2
ktap_test_result "CPU 1 offline and online $CYCLES times while streaming, left offline: stop, rmmod return" cycles
ktap_test_result "a CPU offline at load: no buffers; online in a session: buffers, its events" first_online
rust_trace_load
rm -rf "$T"
ktap_finished
