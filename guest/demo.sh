# Guest payload of `make demo`: trace a real workload with rust_trace.
export PATH=/kselftest/rust_trace:$PATH
insmod /lib/modules/rust_trace.ko
echo "demo: cat /dev/rust_trace > /results/out"
cat /dev/rust_trace > /results/out &
reader=$!
until rt_stats | grep -q 'running=1 reader=1'; do sleep 0.05; done
echo "demo: workload: 2 ping-pong pairs x 20000 round trips, 300 forks, one fork+exec"
rt_workload pairs 2 20000 &
rt_workload forkstorm 300
rt_workload spawn > /dev/null
wait %2 2>/dev/null || wait
echo "demo: echo stop > /dev/rust_trace"
echo stop > /dev/rust_trace
wait "$reader"
echo "demo: cat exited with $?"
rt_stats
ls -l /results/out
