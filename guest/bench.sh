# Guest payload of `make bench`: the same workloads, interleaved, with no
# tracer, with ftrace and with rust_trace, REPS times each. Prints BENCH lines.
export PATH=/bench:/kselftest/rust_trace:$PATH
reps=$(sed -n 's/.*rt_bench_reps=\([0-9]*\).*/\1/p' /proc/cmdline)
reps=${reps:-5}
insmod /lib/modules/rust_trace.ko
echo "bench: $reps repetitions, $(grep -c ^processor /proc/cpuinfo) CPUs, clock: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
i=0
while [ "$i" -lt "$reps" ]; do
	for w in "pingpong 20000" "forkstorm 1500"; do
		for t in none ftrace rust_trace; do
			# shellcheck disable=SC2086
			rt_bench $w $t 512
		done
	done
	i=$((i + 1))
done
# The write path alone: rust_trace's microbenchmark, then the kernel's own
# ring buffer benchmark (ring_buffer_benchmark.ko: a producer writing
# entries as fast as it can for 10 s of guest time, a consumer reading).
for _ in 1 2 3; do
	rt_bench micro 1000000
done
if [ -f /bench/ring_buffer_benchmark.ko ]; then
	echo > /sys/kernel/tracing/trace
	echo 1 > /sys/kernel/tracing/tracing_on # trace_printk writes its results there
	insmod /bench/ring_buffer_benchmark.ko
	sleep 12
	rmmod ring_buffer_benchmark
	grep -E "Time:|Entries:|Missed:|Ns per entry|Entries per millisec" /sys/kernel/tracing/trace |
		sed 's/^.*: \([A-Za-z ]*\): *\([0-9]*\).*/RBBENCH \1=\2/' | tr -s ' ' | tee /tmp/rb.txt
	grep -q 'Ns per entry' /sys/kernel/tracing/trace || { echo "bench: ring_buffer_benchmark printed nothing"; cat /sys/kernel/tracing/trace | tail -20; }
fi
