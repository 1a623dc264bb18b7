#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Allocation failures, injected (failslab and /proc/thread-self/fail-nth,
# scoped to the writing task): `snapshot` with each of its allocations
# failing in turn either succeeds or fails with ENOMEM, and changes
# nothing else: the recorder records on, the next snapshot is whole (it
# validates and holds events) and the trigger can be armed (no firing
# left behind). Skipped on a kernel without failslab (the base kernel);
# the debug kernel has it.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters

FS=/sys/kernel/debug/failslab
[ -d /sys/kernel/debug/failslab ] || mount -t debugfs none /sys/kernel/debug 2> /dev/null
if [ ! -w "$FS/ignore-gfp-wait" ] || [ ! -w /proc/self/fail-nth ]; then
	ktap_print_header
	ktap_skip_all "no failslab or fail-nth (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS)"
	exit "$KSFT_SKIP"
fi

T=/tmp/rust_trace_faults.$$
mkdir -p "$T"
ncpu=$(grep -c ^processor /proc/cpuinfo)
# The most fault-injection points a command passes (its allocations and
# the write path's).
MAXN=30

# whole_snapshot NAME: a snapshot taken now validates and holds events.
whole_snapshot() {
	echo snapshot > "$DEV" || { echo "# $1: snapshot refused"; return 1; }
	timeout 30 cat "$DEV" > "$T/$1" || { echo "# $1: reading the snapshot failed"; return 1; }
	ev=$(json_num events "$T/$1")
	rust_trace_validates "$T/$1" || return 1
	[ "${ev:-0}" -gt 100 ] || { echo "# $1: ${ev:-no} events"; return 1; }
}

snapshot_faults() {
	rust_trace_load nr_bufs=16 buf_size=4096 || return 1
	echo flight > "$DEV" || return 1
	rust_trace_workload pairs "$ncpu" 1000000 > /dev/null &
	load=$!
	sleep 1
	rc=1 failed=0
	n=1
	while [ "$n" -le "$MAXN" ]; do
		res=$(rust_trace_workload failnth "$n" snapshot) || break
		case "$res" in
		"ok not-reached")
			# Every allocation passed: done.
			rc=0
			break ;;
		ok*)
			# A fault the command did not need; its snapshot is read.
			timeout 30 cat "$DEV" > "$T/taken$n" && rust_trace_validates "$T/taken$n" || break ;;
		"Cannot allocate memory injected")
			failed=$((failed + 1)) ;;
		*)
			echo "# fault $n: $res"
			break ;;
		esac
		# Nothing else changed.
		whole_snapshot "after$n" || { echo "# after fault $n ($res)"; break; }
		echo "trigger latency 10000000" > "$DEV" && echo "trigger off" > "$DEV" ||
			{ echo "# after fault $n ($res): the trigger cannot be armed"; break; }
		n=$((n + 1))
	done
	echo "# snapshot passes $((n - 1)) fault-injection points; $failed of them fail it with ENOMEM"
	[ "$failed" -gt 0 ] || rc=1
	# The pairs and their forked halves.
	killall rust_trace_workload rust_trace_ping rust_trace_pong 2> /dev/null
	wait "$load" 2> /dev/null
	echo stop > "$DEV" || return 1
	rust_trace_unload || return 1
	return $rc
}

ktap_print_header
ktap_set_plan 1
old_wait=$(cat "$FS/ignore-gfp-wait")
old_verbose=$(cat "$FS/verbose")
echo N > "$FS/ignore-gfp-wait"
echo 0 > "$FS/verbose"
ktap_test_result "snapshot with each allocation failing: ENOMEM or done, nothing else changed" snapshot_faults
echo "$old_wait" > "$FS/ignore-gfp-wait"
echo "$old_verbose" > "$FS/verbose"
rust_trace_load
rm -rf "$T"
ktap_finished
