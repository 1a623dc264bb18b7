#!/usr/bin/env python3
"""Aggregates the BENCH lines of a guest run into a table and JSON.

usage: report.py RAW.txt OUT.json

Per workload and tracer: median (min-max) of time, events, lost, bytes;
overhead per event = (median traced time - median untraced time) / median
events; bytes per event; and the ratios rust_trace / ftrace. For the
filtered runs (rust_trace_pid, rust_trace_cgroup, rust_trace_events: every
workload event left out by the filter), the overhead per filtered-out event is (median time -
median untraced time) / the events the unfiltered rust_trace run recorded,
and its ratio to the overhead of a recorded event. For flight recording
(rust_trace_flight: no reader; rust_trace_trigger: a latency trigger armed
that never fires), the overhead per recorded event and its ratio to the
streaming run's, and what a snapshot costs: the command's time, its
reading's, and the module's own split of it (SNAPCOST lines).
"""
import json
import statistics
import sys
from collections import defaultdict


# rust_trace runs whose filter leaves every event of the workload out.
FILTERED = ("rust_trace_pid", "rust_trace_cgroup", "rust_trace_events")
# Flight recording runs: every event recorded, none read while it runs.
FLIGHT = ("rust_trace_flight", "rust_trace_trigger")


def main():
    runs = defaultdict(list)
    micro = []
    snapcost = []
    rb = {}
    header = ""
    for line in open(sys.argv[1]):
        if line.startswith("bench:"):
            header = line.strip()
            continue
        if line.startswith("MICRO"):
            micro.append({k: int(v) for k, v in (x.split("=", 1) for x in line.split()[1:])})
            continue
        if line.startswith("SNAPCOST"):
            snapcost.append({k: int(v) for k, v in (x.split("=", 1) for x in line.split()[1:])})
            continue
        if line.startswith("RBBENCH"):
            k, _, v = line[len("RBBENCH "):].strip().partition("=")
            if v.strip().isdigit():
                rb[k.strip()] = int(v)
            continue
        kv = dict(x.split("=", 1) for x in line.split()[1:])
        runs[(kv["workload"], kv["tracer"])].append({k: int(v) for k, v in kv.items() if k not in ("workload", "tracer")})
    result = {"note": "guest under QEMU -icount shift=0,sleep=off: 1 ns = 1 guest instruction; "
                      "ratios measured in the same boot are the result, not absolute ns",
              "guest": header, "workloads": {}}
    print(header)
    print("guest time counts instructions (-icount): ratios are the result, not bare-metal ns\n")
    print("(rust_trace_pid, _cgroup, _events: every workload event filtered out, by PID, by cgroup, "
          "by event type;\n their ovh is per event left out, counted by the unfiltered run)\n")
    print(f"{'workload':<10} {'tracer':<17} {'time ms (min-max)':<26} {'events':>9} {'lost':>6} "
          f"{'bytes':>10} {'ovh ns/ev':>10} {'B/ev':>6}")
    for w in sorted({k[0] for k in runs}):
        base = statistics.median(r["ns"] for r in runs[(w, "none")])
        res = {}
        for t in ("none", "ftrace", "rust_trace") + FILTERED + FLIGHT:
            rs = runs.get((w, t), [])
            if not rs:
                continue
            med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            lo = min(r["ns"] for r in rs)
            hi = max(r["ns"] for r in rs)
            ev = med["events"]
            ovh = (med["ns"] - base) / ev if ev else None
            bpe = med["bytes"] / ev if ev else None
            if t in FILTERED:
                # Per event the filter left out: the unfiltered run's count.
                rec = res.get("rust_trace", {}).get("events")
                ovh = (med["ns"] - base) / rec if rec else None
                bpe = None
            res[t] = {"runs": len(rs), "ns_median": med["ns"], "ns_min": lo, "ns_max": hi,
                      "events": ev, "lost": med["lost"], "bytes": med["bytes"],
                      "overhead_ns_per_event": ovh, "bytes_per_event": bpe,
                      "spread_pct": 100.0 * (hi - lo) / med["ns"] if med["ns"] else 0}
            if t in FLIGHT:
                res[t].update(snap_ns=med["snap_ns"], read_ns=med["read_ns"],
                              overwritten=med["overwritten"])
            print(f"{w:<10} {t:<17} {med['ns']/1e6:>9.3f} ({lo/1e6:.3f}-{hi/1e6:.3f})   {ev:>9.0f} "
                  f"{med['lost']:>6.0f} {med['bytes']:>10.0f} "
                  f"{'' if ovh is None else f'{ovh:10.1f}':>10} {'' if bpe is None else f'{bpe:6.2f}':>6}")
        if "rust_trace" in res:
            r = res["rust_trace"]
            for t in FILTERED:
                if t not in res or not r["events"] or not r["overhead_ns_per_event"]:
                    continue
                f = res[t]
                ovh = f.pop("overhead_ns_per_event")
                f.pop("bytes_per_event")
                f["filtered_out_events"] = r["events"] - f["events"]
                f["overhead_ns_per_filtered_out_event"] = ovh
                f["filtered_out_over_recorded"] = ovh / r["overhead_ns_per_event"]
                print(f"{w:<10} {t}: {ovh:.1f} ns per filtered-out event, "
                      f"{ovh / r['overhead_ns_per_event']:.3f} of a recorded one "
                      f"({r['overhead_ns_per_event']:.1f} ns)")
        if "rust_trace" in res and res["rust_trace"]["overhead_ns_per_event"]:
            r = res["rust_trace"]["overhead_ns_per_event"]
            for t in FLIGHT:
                f = res.get(t)
                if not f or f["overhead_ns_per_event"] is None:
                    continue
                f["over_streaming"] = f["overhead_ns_per_event"] / r
                print(f"{w:<10} {t}: {f['overhead_ns_per_event']:.1f} ns per recorded event, "
                      f"{f['over_streaming']:.3f} of streaming's ({r:.1f} ns, reader included); "
                      f"snapshot command {f['snap_ns'] / 1e6:.3f} ms, reading it "
                      f"{f['read_ns'] / 1e6:.3f} ms ({f['bytes'] / 1024:.0f} KiB)")
        if "ftrace" in res and "rust_trace" in res:
            f, r = res["ftrace"], res["rust_trace"]
            ratios = {}
            if f["overhead_ns_per_event"] and r["overhead_ns_per_event"] is not None:
                ratios["overhead_rust_trace_over_ftrace"] = r["overhead_ns_per_event"] / f["overhead_ns_per_event"]
            if f["bytes_per_event"] and r["bytes_per_event"] is not None:
                ratios["bytes_rust_trace_over_ftrace"] = r["bytes_per_event"] / f["bytes_per_event"]
            # rust_trace counts its task-name records as events (ftrace has
            # none), so also compare the whole run's extra time.
            if f["ns_median"] - base > 0:
                ratios["run_overhead_rust_trace_over_ftrace"] = (r["ns_median"] - base) / (f["ns_median"] - base)
            res["ratios"] = ratios
            print(f"{w:<10} ratios rust_trace/ftrace: overhead per event "
                  f"{ratios.get('overhead_rust_trace_over_ftrace', float('nan')):.3f}, "
                  f"bytes per event {ratios.get('bytes_rust_trace_over_ftrace', float('nan')):.3f}, "
                  f"extra time of the run {ratios.get('run_overhead_rust_trace_over_ftrace', float('nan')):.3f}")
        print()
        result["workloads"][w] = res
    flight_micro = [m for m in micro if m.get("flight")]
    micro = [m for m in micro if not m.get("flight")]
    if micro:
        per = lambda k: statistics.median(m[k] / m["events"] for m in micro)
        probe, clock, irq = per("ns_probe"), per("ns_clock"), per("ns_irq")
        result["write_path"] = {"runs": len(micro), "events_per_run": micro[0]["events"],
                                "probe_ns_per_event": probe, "local_clock_ns": clock,
                                "irq_save_restore_ns": irq,
                                "rest_ns (field reads, name check, encoding, reserve, buffer switch)":
                                    probe - clock - irq,
                                "lost": sum(m["lost"] for m in micro)}
        print(f"write path (RUST_TRACE_IOC_MICROBENCH, median of {len(micro)} x {micro[0]['events']} events): "
              f"{probe:.1f} ns per sched_switch in the probe = local_clock {clock:.1f} "
              f"+ IRQ save/restore {irq:.1f} + the rest {probe - clock - irq:.1f} "
              f"(field reads, name check, encoding, reserve, buffer switch)")
    if flight_micro and micro:
        fp = statistics.median(m["ns_probe"] / m["events"] for m in flight_micro)
        result["write_path"]["flight_probe_ns_per_event"] = fp
        result["write_path"]["flight_over_streaming"] = fp / probe
        print(f"  flight recording: {fp:.1f} ns per sched_switch in the probe, "
              f"{fp / probe:.3f} of streaming's")
    if snapcost:
        med = {k: statistics.median(c[k] for c in snapcost) for k in snapcost[0]}
        result["snapshot_cost_us"] = dict(med, runs=len(snapcost))
        print(f"snapshot, as the module times it (median of {len(snapcost)}): {med['total_us']:.0f} us = "
              f"{med['wait_us']:.0f} waiting for its end to pass + {med['freeze_us']:.0f} freezing "
              f"the CPUs (IPIs) + {med['cut_us']:.0f} cutting and queueing; recording never pauses")
    if rb:
        result["ring_buffer_benchmark"] = rb
        ns = rb.get("ns_per_entry")
        print(f"kernel ring_buffer_benchmark (same boot, producer only): {ns} ns per entry, "
              f"{rb.get('hit', '?')} entries written, {rb.get('missed', '?')} missed")
        if micro and ns:
            result["write_path"]["ratio_probe_over_ring_buffer_entry"] = probe / ns
            print(f"  rust_trace sched_switch probe / ring buffer entry: {probe / ns:.3f} "
                  f"(the ring buffer figure is a bare reserve + commit of a small entry, without "
                  f"a probe's field reads and encoding)")
    with open(sys.argv[2], "w") as f:
        json.dump(result, f, indent=2)
    print(f"written {sys.argv[2]}")


if __name__ == "__main__":
    main()
