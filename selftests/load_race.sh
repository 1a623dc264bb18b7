#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Loading races: a monitoring agent opens /dev/rust_trace the moment it
# appears while the module's init fails (flight=1 with too few buffers,
# EINVAL): no open may reach a module that init is about to free. So the
# device must never appear during an init that fails: each registration
# makes uevents, which the kernel counts, and an init that fails late
# must make no more than one failing first. Then
# an opener loop races failing loads, and the kernel stays whole.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rust_trace_workload

T=/tmp/rust_trace_load_race.$$
mkdir -p "$T"
TRIES=${RUST_TRACE_LOAD_RACE_TRIES:-30}

# opener: opens the device for reading, again and again, until $T/stop.
opener() {
	while [ ! -e "$T/stop" ]; do
		cat "$DEV" > /dev/null 2>&1 &
		c=$!
		sleep 0.01
		kill "$c" 2>/dev/null
		wait "$c" 2>/dev/null
	done
}

failing_init_beside_opener() {
	rust_trace_unload || return 1
	rm -f "$T/stop"
	opener &
	op=$!
	rc=0
	for _ in $(seq "$TRIES"); do
		if insmod "$RUST_TRACE_MODULE" flight=1 nr_bufs=2 2> /dev/null; then
			echo "# insmod flight=1 nr_bufs=2 succeeded"
			rc=1
			break
		fi
		rust_trace_loaded && { echo "# a failed insmod left the module loaded"; rc=1; break; }
	done
	touch "$T/stop"
	wait "$op"
	# The kernel is whole: the module loads and serves a session.
	rust_trace_load || return 1
	rust_trace_capture "$T/after" rust_trace_workload pingpong 100 || return 1
	[ -s "$T/after" ] || return 1
	return $rc
}

# uevents CMD...: how many uevents the kernel sent while CMD ran (its
# sequence number counts them, netlink or not).
uevents() {
	a=$(cat /sys/kernel/uevent_seqnum)
	"$@" 2> /dev/null
	echo $(( $(cat /sys/kernel/uevent_seqnum) - a ))
}

# An init failing at its parameter check (buf_size=1, before anything is
# registered) and one failing when it starts flight recording (flight=1
# nr_bufs=2) make as many uevents (the module's own): the second
# registered no device, which would add two (its add and remove).
no_device_in_failing_init() {
	rust_trace_unload || return 1
	early=$(uevents insmod "$RUST_TRACE_MODULE" buf_size=1)
	late=$(uevents insmod "$RUST_TRACE_MODULE" flight=1 nr_bufs=2)
	rust_trace_loaded && { echo "# a failed insmod left the module loaded"; return 1; }
	good=$(uevents insmod "$RUST_TRACE_MODULE")
	echo "# uevents: init failing at its parameters $early, at flight $late; a good load $good"
	# The count works (the module's own add and remove are in it).
	[ "$early" -gt 0 ] || { echo "# no uevent counted"; return 1; }
	[ "$late" = "$early" ]
}

ktap_print_header
ktap_set_plan 2
ktap_test_result "a failing init never registers the device (uevents)" no_device_in_failing_init
ktap_test_result "a failing init beside an opener of the device ($TRIES tries): no crash" failing_init_beside_opener
rust_trace_load
rm -rf "$T"
ktap_finished
