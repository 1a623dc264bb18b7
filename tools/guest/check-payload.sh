# Guest payload of `make check`: runs the rust_trace kselftests (KTAP on the
# console) and copies what the host wants into /results.
export RUST_TRACE_MODULE=/lib/modules/rust_trace.ko
export RUST_TRACE_MICROBENCH_MODULE=/lib/modules/rust_trace-microbench.ko
export PATH=/kselftest/rust_trace:$PATH
inject=$(sed -n 's/.*rust_trace_inject=\([a-z]*\).*/\1/p' /proc/cmdline)
# `make soak` (rust_trace_soak=1): the long tests' soak rounds, each test
# given up to 4 hours instead of selftests/settings' limit.
export RUST_TRACE_SOAK=$(sed -n 's/.*rust_trace_soak=\([01]\).*/\1/p' /proc/cmdline)
cd /kselftest
if [ "$RUST_TRACE_SOAK" = 1 ]; then
	./run_kselftest.sh -c rust_trace --override-timeout 14400
else
	./run_kselftest.sh -c rust_trace
fi
# On the debug kernel: lockdep turns itself off at its first report; check
# it is still on after everything ran (the dmesg check reads the report).
if [ -r /proc/lockdep_stats ]; then
	echo "TAP version 13"
	echo "1..1"
	if grep -q 'debug_locks: *1' /proc/lockdep_stats; then
		echo "ok 1 selftests: debug: lockdep_still_active_after_the_run"
	else
		echo "not ok 1 selftests: debug: lockdep_still_active_after_the_run"
	fi
fi
case "$inject" in
fail)	# a deliberately failing test, to show the harness catches it
	echo "TAP version 13"; echo "1..1"; echo "not ok 1 selftests: inject: deliberate_failure" ;;
warn)	# a WARNING line in the kernel log, to show the dmesg check catches it
	echo "WARNING: CPU: 0 PID: 1 at injected by rust_trace_inject=warn" > /dev/kmsg ;;
hang)	# a guest that never shuts down, to show the timeout catches it
	echo "hanging on purpose (rust_trace_inject=hang)"; while :; do sleep 1000; done ;;
esac
