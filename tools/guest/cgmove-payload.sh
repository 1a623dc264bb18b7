# Guest payload of tools/bench-cgmove.sh: a 5,000-thread process moved
# between two cgroups, with no tracer and with each rust_trace module
# given (/lib/modules/rust_trace-*.ko) in flight recording, where every
# move forgets each thread's name on every CPU. Prints CGMOVE lines.
threads=${CGMOVE_THREADS:-5000}
moves=${CGMOVE_MOVES:-5}
cg=/sys/fs/cgroup
mkdir -p $cg/rt_a $cg/rt_b
echo "bench: $(grep -c ^processor /proc/cpuinfo) CPUs, $threads threads, $moves moves each way"
printf 'tracer=none '
/bench/rust_trace_cgmove "$threads" "$moves" $cg/rt_a $cg/rt_b
for m in /lib/modules/rust_trace-*.ko; do
	insmod "$m" || { echo "bench: $m did not load"; continue; }
	echo flight > /dev/rust_trace
	printf 'tracer=%s ' "$(basename "$m" .ko)"
	/bench/rust_trace_cgmove "$threads" "$moves" $cg/rt_a $cg/rt_b
	echo stop > /dev/rust_trace
	rmmod rust_trace
done
