#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Shared by the rust_trace shell selftests: KTAP helpers and module handling.
DIR=$(cd "$(dirname "$0")" && pwd)
# kselftest's KTAP helpers, installed beside the tests; without them the
# install is broken: fail, saying so in KTAP.
if [ ! -r "$DIR/../kselftest/ktap_helpers.sh" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: kselftest/ktap_helpers.sh missing\n' "$0"
	exit 1
fi
. "$DIR/../kselftest/ktap_helpers.sh"
export PATH="$DIR:$PATH"

RUST_TRACE_MODULE=${RUST_TRACE_MODULE:-/lib/modules/rust_trace.ko}
DEV=/dev/rust_trace

rust_trace_loaded() { grep -q '^rust_trace ' /proc/modules; }
rust_trace_unload() { ! rust_trace_loaded || rmmod rust_trace; }
# rust_trace_load [param=value ...]: (re)loads the module with these parameters.
rust_trace_load() { rust_trace_unload && insmod "$RUST_TRACE_MODULE" "$@"; }

# rust_trace_rounds BASE DEBUG SOAK: how many rounds (or seconds) a long
# test runs: BASE on a base kernel, DEBUG on the debug kernel (lockdep,
# KASAN and kmemleak make the suite four times slower there; its rounds
# look for reports, not for rare interleavings), SOAK under `make soak`
# (RUST_TRACE_SOAK=1) on either kernel.
rust_trace_rounds() {
	if [ "${RUST_TRACE_SOAK:-0}" = 1 ]; then
		echo "$3"
	elif [ -r /proc/lockdep_stats ]; then
		echo "$2"
	else
		echo "$1"
	fi
}

# Skips the whole test (exit 4) when the module or a tool is absent (a
# module that is present but does not load fails the tests that load it).
rust_trace_require() {
	if [ ! -r "$RUST_TRACE_MODULE" ]; then
		ktap_print_header
		ktap_skip_all "rust_trace module not found at $RUST_TRACE_MODULE"
		exit "$KSFT_SKIP"
	fi
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			ktap_print_header
			ktap_skip_all "$tool not found"
			exit "$KSFT_SKIP"
		fi
	done
}

# returns_within SECONDS CMD...: CMD ends within SECONDS (a command stuck
# in the kernel, even uninterruptibly, fails the check instead of hanging
# the test). CMD's status is the result.
returns_within() {
	secs=$1; shift
	"$@" &
	p=$!
	n=0
	while kill -0 "$p" 2>/dev/null; do
		if [ "$n" -ge $((secs * 10)) ]; then
			echo "# '$*' did not return within $secs s: $(cat /proc/$p/wchan 2>/dev/null)" \
				"state $(sed -n 's/^State:\t*//p' /proc/$p/status 2>/dev/null)"
			return 1
		fi
		sleep 0.1
		n=$((n + 1))
	done
	wait "$p"
}
# ends_within SECONDS PID: the background job PID ends within SECONDS;
# its status is the result (wait cannot run in a subshell: PID is ours).
ends_within() {
	n=0
	while kill -0 "$2" 2>/dev/null; do
		[ "$n" -lt $(($1 * 10)) ] || { echo "# job $2 did not end within $1 s"; return 1; }
		sleep 0.1
		n=$((n + 1))
	done
	wait "$2"
}
# json_num KEY FILE: a top-level figure of `rtdecode validate --json FILE`.
json_num() { rtdecode validate --json "$2" | sed -n "s/^  \"$1\": \\([0-9]*\\).*/\\1/p"; }
# rust_trace_counter KEY: a total from rust_trace_counters (the module's counters).
rust_trace_counter() { rust_trace_counters | head -1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# rust_trace_cmd_fails WORD ERRNO-TEXT: writing the command WORD to the
# device fails, with that error (its strerror text, as the shell says it).
rust_trace_cmd_fails() {
	if err=$({ echo "$1" > "$DEV"; } 2>&1); then
		echo "# '$1' succeeded"
		return 1
	fi
	case "$err" in
	*"$2"*) ;;
	*) echo "# '$1': $err, expected $2"; return 1 ;;
	esac
}

# Waits until a reader's session is tracing (a `stop` sent before that
# would find nothing to stop, and the reader would wait for ever).
rust_trace_wait_session() {
	for _ in $(seq 300); do
		rust_trace_counters 2>/dev/null | head -1 | grep -q 'running=1 reader=1' && return 0
		sleep 0.05
	done
	echo "# no session started within 15 s"
	return 1
}

# rust_trace_capture OUT CMD...: cat /dev/rust_trace > OUT around CMD, then stop.
# Returns cat's exit status: cat must end by itself after `stop`.
rust_trace_capture() {
	out=$1; shift
	cat "$DEV" > "$out" &
	cat_pid=$!
	rust_trace_wait_session || { kill "$cat_pid"; return 1; }
	"$@"
	echo stop > "$DEV"
	wait "$cat_pid"
}

# rust_trace_after DONE DESCRIPTION CHECK...: a check of what an earlier
# step made (DONE: a file that step creates when it succeeds). When that
# step failed, the check is skipped with the reason: one failure is
# reported once, not again by every check that depends on it.
rust_trace_after() {
	done=$1; shift
	if [ -e "$done" ]; then
		ktap_test_result "$@"
	else
		ktap_test_skip "$1 (the capture it checks failed)"
	fi
}

# rust_trace_validates FILE: the decoder accepts FILE, every rule of the
# format (accounting included); its report is shown when it does not.
rust_trace_validates() {
	rtdecode validate "$1" > "$1.validate" || { sed 's/^/# /' "$1.validate"; return 1; }
}

# rust_trace_accounting: the module's counters add up, read + lost == written.
rust_trace_accounting() {
	echo "# written $(rust_trace_counter written) read $(rust_trace_counter read_events) lost $(rust_trace_counter lost)"
	[ $(( $(rust_trace_counter read_events) + $(rust_trace_counter lost) )) -eq "$(rust_trace_counter written)" ]
}

# rust_trace_stress CS_FILE: a stress on every CPU at once (ping-pong
# pairs, a ring of 16 threads, a fork/exit storm); its duration in
# centiseconds goes to CS_FILE.
rust_trace_stress() {
	start=$(awk '{ printf "%d\n", $1 * 100 }' /proc/uptime)
	k=$(rust_trace_rounds 10 4 10)
	rust_trace_workload pairs "$(grep -c ^processor /proc/cpuinfo)" $((k * 800)) &
	p1=$!
	rust_trace_workload threads 16 $((k * 200)) > /dev/null &
	p2=$!
	rust_trace_workload forkstorm $((k * 40))
	wait "$p1" "$p2"
	echo $(( $(awk '{ printf "%d\n", $1 * 100 }' /proc/uptime) - start )) > "$1"
}

# ftrace, the oracle: the same tracepoints rust_trace attaches to.
TR=/sys/kernel/tracing
RUST_TRACE_FTRACE_EVENTS="sched/sched_switch sched/sched_wakeup sched/sched_wakeup_new
	sched/sched_process_fork sched/sched_process_exit sched/sched_process_exec
	sched/sched_migrate_task task/task_rename"
# Skips the whole test when ftrace lacks one of the events.
rust_trace_ftrace_require() {
	for e in $RUST_TRACE_FTRACE_EVENTS; do
		if [ ! -w "$TR/events/$e/enable" ]; then
			ktap_print_header
			ktap_skip_all "ftrace event $e not available"
			exit "$KSFT_SKIP"
		fi
	done
}
# rust_trace_ftrace_start KB: every event, KB of buffer per CPU, clock
# perf (local_clock(), rust_trace's clock), unfiltered.
rust_trace_ftrace_start() {
	echo 0 > "$TR/tracing_on"
	echo perf > "$TR/trace_clock"
	echo "$1" > "$TR/buffer_size_kb"
	echo > "$TR/trace"
	for e in $RUST_TRACE_FTRACE_EVENTS; do echo 1 > "$TR/events/$e/enable"; done
	echo 1 > "$TR/tracing_on"
}
# rust_trace_ftrace_stop OUT: stops ftrace and saves its text output.
rust_trace_ftrace_stop() {
	echo 0 > "$TR/tracing_on"
	for e in $RUST_TRACE_FTRACE_EVENTS; do echo 0 > "$TR/events/$e/enable"; done
	cat "$TR/trace" > "$1"
	echo > "$TR/trace"
	echo 1408 > "$TR/buffer_size_kb"
	echo local > "$TR/trace_clock"
}
# rust_trace_ftrace_diff CAPTURE FTRACE [OPTION...]: `rtdecode ftrace-diff`
# between the marks rtmark-begin and rtmark-end, shown in the test log;
# its JSON goes to CAPTURE.json.
rust_trace_ftrace_diff() {
	cap=$1; ft=$2; shift 2
	rtdecode ftrace-diff --begin-mark rtmark-begin --end-mark rtmark-end "$@" \
		--json-file "$cap.json" "$cap" "$ft" > "$cap.diff"
	rc=$?
	sed 's/^/# /' "$cap.diff"
	return $rc
}
# rust_trace_diff_total KEY FILE: a figure of the "total" object of
# ftrace-diff's JSON.
rust_trace_diff_total() { sed -n '/"total"/,/}/p' "$2" | sed -n "s/.*\"$1\": \\([0-9]*\\).*/\\1/p"; }
# rust_trace_diff_top KEY FILE: a top-level figure of ftrace-diff's JSON.
rust_trace_diff_top() { sed -n "s/^  \"$1\": \\([0-9]*\\).*/\\1/p" "$2"; }
