#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# rtdecode record: a capture around a command follows the command and its
# children only, ends when it exits and passes on its exit status; Ctrl-C
# (SIGINT) or SIGTERM ends a recording cleanly, the file ending with its
# footer; a filter the module refuses is an error that records nothing;
# a busy device or a missing module is said plainly; on a terminal it
# shows a live status line.
lib="$(dirname "$0")/lib.sh"
if [ ! -r "$lib" ]; then
	printf 'TAP version 13\n1..1\nnot ok 1 %s: lib.sh missing\n' "$0"
	exit 1
fi
. "$lib"
rust_trace_require rtdecode rust_trace_workload rust_trace_counters

T=/tmp/rust_trace_record.$$
mkdir -p "$T"
ncpu=$(grep -c ^processor /proc/cpuinfo)

# A command with children, beside noise on every CPU: the capture holds the
# command's tasks and none of the noise's.
follows_the_command() {
	rust_trace_workload pairs "$ncpu" 1000 &
	noise=$!
	rtdecode record -o "$T/cmd" -- rust_trace_workload spawn > "$T/cmd.out" 2> "$T/cmd.err"
	rc=$?
	wait "$noise"
	sed 's/^/# /' "$T/cmd.err"
	[ "$rc" = 0 ] || { echo "# exit status $rc"; return 1; }
	rust_trace_validates "$T/cmd" || return 1
	rtdecode report "$T/cmd" > "$T/cmd.report" || return 1
	child=$(sed -n 's/child=//p' "$T/cmd.out")
	root=$(grep -m1 ' filter ' "$T/cmd.report" | sed -n 's/.*filter *pid \([0-9]*\) .*/\1/p')
	echo "# filter pid $root; the command forked $child"
	[ -n "$root" ] && [ -n "$child" ] || return 1
	grep -q "sched_process_fork .* pid=$root .* child_pid=$child" "$T/cmd.report" ||
		{ echo "# no fork of $child"; return 1; }
	grep -q "sched_process_exec .* pid=$child " "$T/cmd.report" ||
		{ echo "# no exec of $child"; return 1; }
	grep -q "sched_process_exit .* pid=$child\$" "$T/cmd.report" ||
		{ echo "# no exit of $child"; return 1; }
	# The noise (rust_trace_ping/pong) may appear only beside the
	# command's tasks: switched from or to one of them.
	noise=$(grep 'sched_wakeup.* rust_trace_p[io]n\|rust_trace_p[io]n:.*==> rust_trace_p[io]n:' "$T/cmd.report")
	[ -z "$noise" ] || { echo "$noise" | head -5 | sed 's/^/# noise: /'; return 1; }
}

# exit_status EXPECTED CMD...: record exits as CMD does.
exit_status() {
	want=$1; shift
	rtdecode record -o "$T/status" -- "$@" 2> "$T/status.err"
	rc=$?
	echo "# '$*': exit status $rc"
	[ "$rc" = "$want" ] && rust_trace_validates "$T/status"
}
exits_as_the_command() {
	exit_status 0 true && exit_status 3 sh -c 'exit 3' &&
		exit_status 143 sh -c 'kill -TERM $$'
}
# A command that cannot run: 127, said on stderr, the stream still whole.
a_missing_command() {
	exit_status 127 /nonexistent/command || return 1
	sed 's/^/# /' "$T/status.err"
	grep -q 'cannot run /nonexistent/command' "$T/status.err"
}

# stopped_by SIGNAL [-- CMD]: a recording that SIGNAL ends. Sets $rc.
stopped_by() {
	sig=$1; shift
	rtdecode record -o "$T/sig" "$@" 2> "$T/sig.err" &
	rec=$!
	rust_trace_wait_session || { kill -9 "$rec"; return 1; }
	rust_trace_workload pingpong 300 > /dev/null
	kill -"$sig" "$rec"
	wait "$rec"
	rc=$?
	sed 's/^/# /' "$T/sig.err"
	rust_trace_validates "$T/sig" && rtdecode validate "$T/sig" | grep -q 'footer present'
}
sigint_without_command() {
	stopped_by INT || return 1
	echo "# exit status $rc"
	[ "$rc" = 0 ] && [ "$(rtdecode report "$T/sig" | grep -c sched_switch)" -gt 600 ]
}
# Whether a task of that command still runs (busybox has no pgrep; the
# bracket keeps this grep's own command line from matching).
pingpong_alive() {
	for f in /proc/[0-9]*/cmdline; do
		{ tr '\0' ' ' < "$f"; } 2>/dev/null | grep -q 'workload [p]ingpong 100000000' && return 0
	done
	return 1
}
# With a command still running, SIGTERM ends the recording and the command.
sigterm_with_command() {
	stopped_by TERM -- rust_trace_workload pingpong 100000000 || return 1
	echo "# exit status $rc (the command got SIGTERM: 143)"
	# Its pong side ends once ping is gone.
	for _ in $(seq 40); do
		pingpong_alive || break
		sleep 0.05
	done
	[ "$rc" = 143 ] && ! pingpong_alive
}

# --events: only those types; the stream says so.
only_the_events_asked() {
	rtdecode record -o "$T/ev" --events switch -- rust_trace_workload spawn > /dev/null 2>&1 || return 1
	rtdecode report "$T/ev" > "$T/ev.report" || return 1
	grep -m1 ' filter ' "$T/ev.report" | grep -q '; events switch$' &&
		grep -q sched_switch "$T/ev.report" &&
		! grep -q 'sched_wakeup\|sched_process_' "$T/ev.report"
}

# A filter the module refuses: exit 2 with its error, and no session.
a_refused_filter() {
	rtdecode record -o "$T/bad" --pid 99999999 2> "$T/bad.err"
	rc=$?
	sed 's/^/# /' "$T/bad.err"
	[ "$rc" = 2 ] && grep -q 'No such process' "$T/bad.err" &&
		rust_trace_counters | head -1 | grep -q 'running=0 reader=0'
}

# On a terminal, a live status line, then the summary.
status_on_a_terminal() {
	rust_trace_workload pty rtdecode record -o "$T/tty" -- \
		rust_trace_workload pingpong 3000 > "$T/tty.out"
	rc=$?
	echo "# exit status $rc; what the terminal showed:"
	tr '\r' '\n' < "$T/tty.out" | grep . | tail -5 | tr -d '\033' | sed 's/^/#   /'
	[ "$rc" = 0 ] || return 1
	tr '\r' '\n' < "$T/tty.out" | grep -q 'recording: [0-9.]* s, [0-9]* events, [0-9.]* MB, 0 lost' ||
		{ echo "# no status line"; return 1; }
	grep -q 'rtdecode record: .* events recorded, 0 lost' "$T/tty.out" ||
		{ echo "# no summary, or events lost"; return 1; }
}

# Clear errors: no module, a busy device.
clear_errors() {
	cat "$DEV" > /dev/null &
	reader=$!
	rust_trace_wait_session || { kill "$reader"; return 1; }
	rtdecode record -o "$T/busy" 2> "$T/busy.err"
	rc=$?
	echo stop > "$DEV"
	wait "$reader"
	sed 's/^/# /' "$T/busy.err"
	[ "$rc" = 2 ] && grep -q 'is busy: another reader' "$T/busy.err" || return 1
	rust_trace_unload || return 1
	rtdecode record -o "$T/none" 2> "$T/none.err"
	rc=$?
	rust_trace_load || return 1
	sed 's/^/# /' "$T/none.err"
	[ "$rc" = 2 ] && grep -q 'is rust_trace loaded?' "$T/none.err"
}

ktap_print_header
ktap_set_plan 9
rust_trace_load
ktap_test_result "record -- CMD: the command and its children, none of the noise" follows_the_command
ktap_test_result "record -- CMD exits as the command (0, 3, 128+SIGTERM)" exits_as_the_command
ktap_test_result "record -- a missing command: 127, an error, a whole stream" a_missing_command
ktap_test_result "SIGINT ends a recording: exit 0, the file validates with its footer" sigint_without_command
ktap_test_result "SIGTERM ends a recording and its command" sigterm_with_command
ktap_test_result "record --events switch: switches only, stated in the stream" only_the_events_asked
ktap_test_result "record --pid of no task: the module's ESRCH, exit 2, no session" a_refused_filter
ktap_test_result "record on a terminal: a live status line, then the summary" status_on_a_terminal
ktap_test_result "record: a busy device and a missing module are said plainly" clear_errors
rm -rf "$T"
ktap_finished
