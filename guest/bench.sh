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
