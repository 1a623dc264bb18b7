# Guest payload of `make bench`: the same workloads, interleaved, with no
# tracer, with ftrace, with rust_trace, and with rust_trace filtering every
# event of the workload out (by PID, by cgroup, by event type), REPS times
# each. Prints BENCH lines.
export PATH=/bench:/kselftest/rust_trace:$PATH
reps=$(sed -n 's/.*rust_trace_bench_reps=\([0-9]*\).*/\1/p' /proc/cmdline)
reps=${reps:-7}
workloads=$(sed -n 's/.*rust_trace_bench_workloads=\([a-z,]*\).*/\1/p' /proc/cmdline | tr , ' ')
workloads=${workloads:-pingpong forkstorm threadstorm}
tracers=$(sed -n 's/.*rust_trace_bench_tracers=\([a-z_,]*\).*/\1/p' /proc/cmdline | tr , ' ')
tracers=${tracers:-none ftrace rust_trace rust_trace_pid rust_trace_cgroup rust_trace_events rust_trace_flight rust_trace_trigger}
insmod /lib/modules/rust_trace.ko
# Every run lays out its processes alike: with address-space randomization
# the untraced fork storm varied by 6.5% from run to run (each layout
# copies a different number of page-table pages at each fork), as much as
# rust_trace's whole overhead on it; without, by under 2%.
echo 0 > /proc/sys/kernel/randomize_va_space
echo "bench: $reps repetitions, $(grep -c ^processor /proc/cpuinfo) CPUs, clock: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
i=0
while [ "$i" -lt "$reps" ]; do
	for w in $workloads; do
		case $w in
		pingpong) n=20000 ;;
		forkstorm) n=1500 ;;
		threadstorm) n=3000 ;;
		*) echo "bench: no workload $w"; exit 1 ;;
		esac
		for t in $tracers; do
			rust_trace_bench "$w" "$n" "$t" 512
		done
	done
	i=$((i + 1))
done
# What each snapshot took, as the module logs it.
dmesg | sed -n 's/.*snapshot: .* took \([0-9]*\) us: \([0-9]*\) waiting for its end, \([0-9]*\) freezing, \([0-9]*\) cutting/SNAPCOST total_us=\1 wait_us=\2 freeze_us=\3 cut_us=\4/p'
# The write path alone: rust_trace's microbenchmark (in the module built
# with make MICROBENCH=1: a production module has none), then the kernel's own
# ring buffer benchmark (ring_buffer_benchmark.ko: a producer writing
# entries as fast as it can for 10 s of guest time, a consumer reading).
rmmod rust_trace
# Every event names the benchmark's task: the size of its PID counts. Take
# one of 3 bytes (16384 and up, as on any busy system; pid_max is 32768
# here), whatever the runs above left.
while [ "$(sh -c 'echo $$')" -lt 16384 ]; do :; done
insmod /lib/modules/rust_trace-microbench.ko
for _ in 1 2 3; do
	rust_trace_bench microbench 1000000
	rust_trace_bench microbench 1000000 flight
done
rmmod rust_trace
if [ -f /bench/ring_buffer_benchmark.ko ]; then
	echo > /sys/kernel/tracing/trace
	echo 1 > /sys/kernel/tracing/tracing_on # trace_printk writes its results there
	# disable_reader=1: the producer alone, like rust_trace's microbenchmark
	# (under -icount a reader on another CPU would count too).
	insmod /bench/ring_buffer_benchmark.ko disable_reader=1
	sleep 12
	rmmod ring_buffer_benchmark
	t=/sys/kernel/tracing/trace
	sed -n 's/.* \([0-9][0-9]*\) ns per entry.*/RBBENCH ns_per_entry=\1/p' $t | head -1
	sed -n 's/.*Hit: *\([0-9][0-9]*\).*/RBBENCH hit=\1/p' $t | head -1
	sed -n 's/.*Missed: *\([0-9][0-9]*\).*/RBBENCH missed=\1/p' $t | head -1
	grep -q 'ns per entry' $t || { echo "bench: ring_buffer_benchmark printed nothing"; tail -20 $t; }
fi
