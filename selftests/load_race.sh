#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Loading races: a monitoring agent opens /dev/rust_trace the moment it
# appears while the module's init fails (flight=1 with too few buffers,
# EINVAL): no open may reach a module that init is about to free. An
# opener loop races failing loads, and the kernel stays whole.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rust_trace_workload

T=/tmp/rust_trace_load_race.$$
mkdir -p "$T"
TRIES=${RUST_TRACE_LOAD_RACE_TRIES:-$(rust_trace_rounds 30 10 300)}

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

ktap_print_header
ktap_set_plan 1
ktap_test_result "a failing init beside an opener of the device ($TRIES tries): no crash" failing_init_beside_opener
rust_trace_load
rm -rf "$T"
ktap_finished
