#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Captures cut short, as they really end early: `cat` interrupted by SIGINT
# mid-capture, and `head -c` on the device. The decoder decodes every
# complete batch, says where the stream was cut, and exits 0.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters

T=/tmp/rust_trace_cut.$$
mkdir -p "$T"
ncpu=$(grep -c ^processor /proc/cpuinfo)

# decodes_cut FILE: report, stats and perfetto exit 0 and report the cut.
decodes_cut() {
	rtdecode report "$1" > "$1.report" 2> "$1.err" || { sed 's/^/# /' "$1.err"; return 1; }
	grep -q "footer\|cut inside" "$1.err" || { echo "# no word of the cut"; return 1; }
	sed 's/^/# /' "$1.err"
	echo "# $(wc -l < "$1.report") events decoded"
	[ "$(wc -l < "$1.report")" -gt 100 ] &&
		rtdecode stats "$1" > /dev/null 2>&1 &&
		rtdecode perfetto "$1" -o "$1.pftrace" > /dev/null 2>&1
}
interrupted() {
	rust_trace_workload sigdfl cat "$DEV" > "$T/int" &
	reader=$!
	rust_trace_wait_session || return 1
	rust_trace_workload pairs "$ncpu" 5000 &
	w=$!
	# Interrupt it once it has written a few batches.
	for _ in $(seq 300); do
		[ "$(stat -c %s "$T/int")" -gt 50000 ] && break
		sleep 0.1
	done
	kill -INT "$reader"
	wait "$reader"
	echo "# cat ended with status $? after SIGINT"
	wait "$w"
	decodes_cut "$T/int"
}
head_c() {
	head -c 100000 "$DEV" > "$T/head" &
	reader=$!
	rust_trace_wait_session || return 1
	rust_trace_workload pairs "$ncpu" 3000
	wait "$reader"
	[ "$(stat -c %s "$T/head")" -eq 100000 ] && decodes_cut "$T/head"
}

ktap_print_header
ktap_set_plan 2
rust_trace_load
ktap_test_result "cat interrupted by SIGINT: the capture decodes up to the cut" interrupted
ktap_test_result "head -c 100000: the capture decodes up to the cut" head_c
rm -rf "$T"
ktap_finished
