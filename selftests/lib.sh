#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Shared by the rust_trace shell selftests: KTAP helpers and module handling.
DIR=$(cd "$(dirname "$0")" && pwd)
. "$DIR/../kselftest/ktap_helpers.sh"
export PATH="$DIR:$PATH"

RT_MODULE=${RT_MODULE:-/lib/modules/rust_trace.ko}
DEV=/dev/rust_trace

rt_loaded() { grep -q '^rust_trace ' /proc/modules; }
rt_unload() { ! rt_loaded || rmmod rust_trace; }
# rt_load [param=value ...]: (re)loads the module with these parameters.
rt_load() { rt_unload && insmod "$RT_MODULE" "$@"; }

# Skips the whole test (exit 4) when the module or a tool is absent.
rt_require() {
	if [ ! -r "$RT_MODULE" ]; then
		ktap_print_header
		ktap_skip_all "rust_trace module not found at $RT_MODULE"
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

# rt_stat KEY: a total from rt_stats (the module's counters).
rt_stat() { rt_stats | head -1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# Waits until a reader's session is tracing (a `stop` sent before that
# would find nothing to stop, and the reader would wait for ever).
rt_wait_session() {
	for _ in $(seq 300); do
		rt_stats 2>/dev/null | head -1 | grep -q 'running=1 reader=1' && return 0
		sleep 0.05
	done
	echo "# no session started within 15 s"
	return 1
}

# rt_capture OUT CMD...: cat /dev/rust_trace > OUT around CMD, then stop.
# Returns cat's exit status: cat must end by itself after `stop`.
rt_capture() {
	out=$1; shift
	cat "$DEV" > "$out" &
	cat_pid=$!
	rt_wait_session || { kill "$cat_pid"; return 1; }
	"$@"
	echo stop > "$DEV"
	wait "$cat_pid"
}
