# Guest payload of `make demo`: trace a real workload with rust_trace.
export PATH=/kselftest/rust_trace:$PATH
insmod /lib/modules/rust_trace.ko
echo "demo: cat /dev/rust_trace > /results/out"
cat /dev/rust_trace > /results/out &
reader=$!
until rust_trace_counters | grep -q 'running=1 reader=1'; do sleep 0.05; done
echo "demo: workload: 2 ping-pong pairs x 20000 round trips, 300 forks, one fork+exec"
rust_trace_workload pairs 2 20000 &
rust_trace_workload forkstorm 300
rust_trace_workload spawn > /dev/null
wait %2 2>/dev/null || wait
echo "demo: echo stop > /dev/rust_trace"
echo stop > /dev/rust_trace
wait "$reader"
echo "demo: cat exited with $?"
rust_trace_counters
ls -l /results/out
