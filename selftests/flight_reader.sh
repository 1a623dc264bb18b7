#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The flight recorder's reader on the paths a user takes when they change
# their mind: a reader waiting for a snapshot while flight recording is
# stopped or the trigger is turned off (every command returns, the wait
# ends with ESRCH, and no other open of the device, or of any misc device,
# waits behind it), and snapshot readers that close early, mid-batch,
# again and again (the snapshots after them are whole and valid; snapshot,
# stop and rmmod return); and a reader whose copy to user space stalls
# for good (a userfaultfd page no one serves), which holds up no command
# and no poll.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters dd

T=/tmp/rust_trace_flight_reader.$$
mkdir -p "$T"
ncpu=$(grep -c ^processor /proc/cpuinfo)

cmd() { echo "$1" > "$DEV"; }

# wait_reader_blocked PID: the snapshot reader PID is asleep in the kernel
# (it opened the device and waits for a snapshot).
wait_reader_blocked() {
	for _ in $(seq 100); do
		[ "$(rust_trace_counter reader)" = 1 ] 2>/dev/null &&
			grep -q '^State:.*S' /proc/"$1"/status 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# the reader did not block waiting for a snapshot"
	return 1
}

# A reader that waits for a snapshot, then `stop`: the stop returns, the
# reader ends with an error (ESRCH) and an empty output, rmmod works.
stop_while_waiting() {
	rust_trace_load nr_bufs=4 buf_size=16384 || return 1
	cmd flight || return 1
	cat "$DEV" > "$T/waiting" 2> "$T/waiting.err" &
	reader=$!
	wait_reader_blocked "$reader" || return 1
	# Any other open of the device returns meanwhile (the counters).
	returns_within 10 rust_trace_counters > /dev/null || return 1
	returns_within 20 cmd stop || return 1
	ends_within 10 "$reader"
	rc=$?
	echo "# the waiting reader ended with status $rc: $(cat "$T/waiting.err")"
	[ "$rc" -ne 0 ] && [ ! -s "$T/waiting" ] || return 1
	grep -q "No such process" "$T/waiting.err" || return 1
	returns_within 20 rust_trace_unload
}

# The same with an armed trigger and `trigger off`: the command returns,
# the reader waits on (flight recording goes on) until `stop`.
trigger_off_while_waiting() {
	rust_trace_load nr_bufs=4 buf_size=16384 || return 1
	cmd flight || return 1
	cmd "trigger latency 5000000" || return 1
	cat "$DEV" > "$T/trig" 2> "$T/trig.err" &
	reader=$!
	wait_reader_blocked "$reader" || return 1
	returns_within 20 cmd "trigger off" || return 1
	kill -0 "$reader" || { echo "# the reader ended at trigger off"; return 1; }
	# A snapshot taken by hand is what it then reads.
	returns_within 20 cmd snapshot || return 1
	ends_within 30 "$reader" || return 1
	rust_trace_validates "$T/trig" || return 1
	returns_within 20 cmd stop && returns_within 20 rust_trace_unload
}

# Snapshots of many small buffers, six of them read only in part (the
# reader closes in the middle of its second batch), then three read
# whole: each of those validates and holds events, under the same load.
early_close() {
	rust_trace_load nr_bufs=16 buf_size=4096 || return 1
	cmd flight || return 1
	rust_trace_workload pairs "$ncpu" 1000000 > /dev/null &
	load=$!
	sleep 1
	rc=0
	for i in 1 2 3 4 5 6; do
		returns_within 20 cmd snapshot || { rc=1; break; }
		returns_within 20 dd if="$DEV" of="$T/part$i" bs=4096 count=1 2> /dev/null || { rc=1; break; }
		sleep 0.2
	done
	if [ "$rc" = 0 ]; then
		for i in 1 2 3; do
			sleep 0.5
			returns_within 20 cmd snapshot || { rc=1; break; }
			returns_within 30 cat "$DEV" > "$T/whole$i" || { rc=1; break; }
			ev=$(json_num events "$T/whole$i")
			echo "# whole snapshot $i after six partial reads: $(wc -c < "$T/whole$i") bytes, ${ev:-no} events"
			rust_trace_validates "$T/whole$i" || rc=1
			[ "${ev:-0}" -gt 100 ] || rc=1
		done
	fi
	# The pairs and their forked halves.
	killall rust_trace_workload rust_trace_ping rust_trace_pong 2> /dev/null
	wait "$load" 2>/dev/null
	returns_within 20 cmd stop || return 1
	returns_within 20 rust_trace_unload || return 1
	return $rc
}

# A streaming reader whose read stalls in its copy (rust_trace_workload
# uffdread): `flight` is refused at once (a reader is open), a poll of the
# device from another thread returns at once, `stop` returns; once the
# fault is served the read ends and rmmod works.
stalled_copy() {
	rust_trace_load || return 1
	rust_trace_workload uffdread 8 > "$T/uffd" &
	w=$!
	for _ in $(seq 100); do grep -q stalled "$T/uffd" && break; sleep 0.1; done
	grep -q stalled "$T/uffd" || { echo "# the read did not stall"; kill "$w"; return 1; }
	rc=0
	returns_within 5 sh -c "! echo flight > $DEV 2> /dev/null" || rc=1
	for _ in $(seq 100); do grep -q poll= "$T/uffd" && break; sleep 0.1; done
	echo "# poll beside the stalled read: $(grep poll= "$T/uffd")"
	ms=$(sed -n 's/^poll=[0-9-]* \([0-9]*\) ms$/\1/p' "$T/uffd")
	[ "${ms:-99999}" -lt 1000 ] || rc=1
	returns_within 20 cmd stop || rc=1
	ends_within 30 "$w" || { rc=1; kill -9 "$w" 2> /dev/null; }
	echo "# once served: $(grep read= "$T/uffd")"
	n=$(sed -n 's/^read=//p' "$T/uffd")
	[ "${n:-0}" -gt 0 ] || rc=1
	returns_within 20 rust_trace_unload || rc=1
	return $rc
}

ktap_print_header
ktap_set_plan 4
ktap_test_result "stop while a reader waits for a snapshot: returns; the reader gets ESRCH" stop_while_waiting
ktap_test_result "trigger off while a reader waits: returns; the reader reads the next snapshot" trigger_off_while_waiting
ktap_test_result "snapshot readers closing mid-batch: later snapshots whole and valid" early_close
if [ -e /proc/sys/vm/unprivileged_userfaultfd ] || grep -q userfaultfd /proc/kallsyms 2>/dev/null; then
	ktap_test_result "a read stalled in its copy (userfaultfd): flight refused, poll and stop return" stalled_copy
else
	ktap_test_skip "a read stalled in its copy (no userfaultfd here)"
fi
if [ -d /results ] && [ -e "$T/whole3" ]; then
	cp "$T/whole3" /results/flight-after-early-close.rtt
fi
rust_trace_load
rm -rf "$T"
ktap_finished
