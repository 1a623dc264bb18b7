#!/usr/bin/env python3
"""Aggregates the BENCH lines of guest runs into tables and JSON.

usage: report.py OUT.json RAW.txt...   (one RAW file per guest boot)

Per guest, per workload and tracer: median (min-max) of time, events,
lost, bytes; overhead per event = (median traced time - median untraced
time) / median events, where events are the scheduler's (rust_trace's
BENCH line also counts its task-name records: sched_events, from rtdecode
stats, leaves them out; bytes per event are per scheduler event too), with its standard error (from the spread of both
sets of runs), and the same from the fastest run of each (interference
only adds time); bytes per event; and the ratios rust_trace / ftrace. For the
filtered runs (rust_trace_pid, rust_trace_cgroup, rust_trace_events: every
workload event left out by the filter), the overhead per filtered-out event
is (median time - median untraced time) / the events the unfiltered
rust_trace run recorded, and its ratio to the overhead of a recorded event.
For flight recording (rust_trace_flight: no reader; rust_trace_trigger: a
latency trigger armed that never fires), the overhead per recorded event
and its ratio to the streaming run's, and what a snapshot costs: the
command's time, its reading's, and the module's own split of it (SNAPCOST
lines).

The reader's side, for the streaming tracers: the CPU time of the reader
threads per event (part of the overhead above, which counts the whole
guest), and the bytes copied to user space per second of the run.

The write path alone (MICRO lines, the module's microbenchmark): the
sched_switch probe's cost per event and its parts, each timed the same way
(the timing loop and call, local_clock, the encoding); the rest is the
field reads, the filter and name checks, the reservation and the commit.

Across guests (several RAW files with different CPU counts): each
tracer's overhead per event at each CPU count, over the first guest's.
"""
import json
import math
import statistics
import sys
from collections import defaultdict


# rust_trace runs whose filter leaves every event of the workload out.
FILTERED = ("rust_trace_pid", "rust_trace_cgroup", "rust_trace_events")
# Flight recording runs: every event recorded, none read while it runs.
FLIGHT = ("rust_trace_flight", "rust_trace_trigger")
# Tracers whose readers run beside the workload.
STREAMING = ("ftrace", "rust_trace")


def parse(path):
    """The runs, microbenchmarks, snapshot costs, ring buffer figures and
    header of one guest's raw lines."""
    runs = defaultdict(list)
    micro, snapcost, rb, header = [], [], {}, ""
    for line in open(path):
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
        runs[(kv["workload"], kv["tracer"])].append(
            {k: int(v) for k, v in kv.items() if k not in ("workload", "tracer")})
    return runs, micro, snapcost, rb, header


def stderr_of_difference(a, b):
    """Standard error of median(a) - median(b), estimated as for means."""
    if len(a) < 2 or len(b) < 2:
        return None
    return math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))


def report_guest(path):
    runs, micro, snapcost, rb, header = parse(path)
    result = {"guest": header, "workloads": {}}
    print(header)
    print("guest time counts instructions (-icount): ratios are the result, not bare-metal ns\n")
    print("(rust_trace_pid, _cgroup, _events: every workload event filtered out, by PID, by cgroup, "
          "by event type;\n their ovh is per event left out, counted by the unfiltered run; "
          "± is one standard error)\n")
    print(f"{'workload':<10} {'tracer':<18} {'time ms (min-max)':<26} {'events':>9} {'lost':>6} "
          f"{'bytes':>10} {'ovh ns/ev':>16} {'B/ev':>6}")
    for w in sorted({k[0] for k in runs}):
        none = [r["ns"] for r in runs[(w, "none")]]
        base = statistics.median(none)
        res = {}
        for t in ("none",) + STREAMING + FILTERED + FLIGHT:
            rs = runs.get((w, t), [])
            if not rs:
                continue
            med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            lo = min(r["ns"] for r in rs)
            hi = max(r["ns"] for r in rs)
            # Per scheduler event: rust_trace's own count includes its
            # task-name records, which ftrace has no equivalent of.
            ev = med.get("sched_events") or med["events"]
            se = stderr_of_difference([r["ns"] for r in rs], none) if t != "none" else None
            ovh = (med["ns"] - base) / ev if ev else None
            ovh_se = se / ev if ev and se is not None else None
            bpe = med["bytes"] / ev if ev else None
            if t in FILTERED:
                # Per event the filter left out: the unfiltered run's count.
                rec = res.get("rust_trace", {}).get("events")
                ovh = (med["ns"] - base) / rec if rec else None
                ovh_se = se / rec if rec and se is not None else None
                bpe = None
            # From the fastest run of each: interference only adds time.
            ovh_min = (lo - min(none)) / ev if ev and t not in FILTERED else None
            res[t] = {"runs": len(rs), "ns_median": med["ns"], "ns_min": lo, "ns_max": hi,
                      "events": ev, "records": med["events"], "lost": med["lost"],
                      "bytes": med["bytes"],
                      "overhead_ns_per_event": ovh, "overhead_stderr_ns": ovh_se,
                      "overhead_ns_per_event_fastest_runs": ovh_min,
                      "bytes_per_event": bpe,
                      "spread_pct": 100.0 * (hi - lo) / med["ns"] if med["ns"] else 0}
            if t in FLIGHT:
                res[t].update(snap_ns=med["snap_ns"], read_ns=med["read_ns"],
                              overwritten=med["overwritten"])
            if t in STREAMING and "reader_ns" in med and ev:
                res[t].update(reader_ns=med["reader_ns"],
                              reader_ns_per_event=med["reader_ns"] / ev,
                              reader_bytes_per_s=med["bytes"] / (med["ns"] / 1e9))
            o = "" if ovh is None else f"{ovh:.1f}" + ("" if ovh_se is None else f" ±{ovh_se:.1f}")
            print(f"{w:<10} {t:<18} {med['ns']/1e6:>9.3f} ({lo/1e6:.3f}-{hi/1e6:.3f})   {ev:>9.0f} "
                  f"{med['lost']:>6.0f} {med['bytes']:>10.0f} {o:>16} "
                  f"{'' if bpe is None else f'{bpe:6.2f}':>6}")
        for t in STREAMING:
            r = res.get(t)
            if not r or "reader_ns_per_event" not in r or not r["overhead_ns_per_event"]:
                continue
            share = r["reader_ns_per_event"] / r["overhead_ns_per_event"]
            r["reader_share_of_overhead"] = share
            print(f"{w:<10} {t} reader: {r['reader_ns_per_event']:.1f} ns of CPU per event "
                  f"({share:.2f} of the overhead, the writer's being the rest), "
                  f"{r['reader_bytes_per_s'] / 1e6:.2f} MB copied to user space per second")
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
                q = r["overhead_ns_per_event"] / f["overhead_ns_per_event"]
                ratios["overhead_rust_trace_over_ftrace"] = q
                # First-order error of the quotient from both standard errors.
                if r["overhead_stderr_ns"] is not None and f["overhead_stderr_ns"] is not None:
                    ratios["overhead_ratio_stderr"] = q * math.hypot(
                        r["overhead_stderr_ns"] / r["overhead_ns_per_event"],
                        f["overhead_stderr_ns"] / f["overhead_ns_per_event"])
            fm, rm = f["overhead_ns_per_event_fastest_runs"], r["overhead_ns_per_event_fastest_runs"]
            if fm and fm > 0 and rm is not None:
                ratios["overhead_rust_trace_over_ftrace_fastest_runs"] = rm / fm
            if f["bytes_per_event"] and r["bytes_per_event"] is not None:
                ratios["bytes_rust_trace_over_ftrace"] = r["bytes_per_event"] / f["bytes_per_event"]
            # Also the whole run's extra time, which needs no event count.
            if f["ns_median"] - base > 0:
                ratios["run_overhead_rust_trace_over_ftrace"] = (r["ns_median"] - base) / (f["ns_median"] - base)
            res["ratios"] = ratios
            q_se = ratios.get("overhead_ratio_stderr")
            print(f"{w:<10} ratios rust_trace/ftrace: overhead per event "
                  f"{ratios.get('overhead_rust_trace_over_ftrace', float('nan')):.3f}"
                  f"{'' if q_se is None else f' ±{q_se:.3f}'}, "
                  f"(fastest runs: {ratios.get('overhead_rust_trace_over_ftrace_fastest_runs', float('nan')):.3f}), "
                  f"bytes per event {ratios.get('bytes_rust_trace_over_ftrace', float('nan')):.3f}, "
                  f"extra time of the run {ratios.get('run_overhead_rust_trace_over_ftrace', float('nan')):.3f}")
        print()
        result["workloads"][w] = res
    flight_micro = [m for m in micro if m.get("flight")]
    micro = [m for m in micro if not m.get("flight")]
    probe = None
    if micro:
        def per(k):
            return statistics.median(m[k] / m["events"] for m in micro)
        probe, clock, irq = per("ns_probe"), per("ns_clock"), per("ns_irq")
        call, enc = per("ns_call"), per("ns_encode")
        rest = probe - call - clock - enc
        pid = micro[0]["pid"]
        result["write_path"] = {
            "runs": len(micro), "events_per_run": micro[0]["events"], "task_pid": pid,
            "probe_ns_per_event": probe, "probe_net_of_loop_ns": probe - call,
            "loop_and_call_ns": call, "local_clock_ns": clock, "encoding_ns": enc,
            "rest_ns (field reads, filter and name checks, reservation, commit)": rest,
            "irq_save_restore_ns (not on sched_switch's path: IRQs are off already)": irq,
            "lost": sum(m["lost"] for m in micro)}
        print(f"write path (RUST_TRACE_IOC_MICROBENCH, median of {len(micro)} x {micro[0]['events']} "
              f"sched_switch events, IRQs off as the scheduler calls it, task PID {pid}):")
        print(f"  {probe:.1f} ns per event = timing loop and call {call:.1f} + local_clock {clock:.1f} "
              f"+ encoding {enc:.1f} + the rest {rest:.1f} (field reads, filter and name checks, "
              f"reservation, commit)")
        print(f"  the probe net of the timing loop: {probe - call:.1f} ns; an IRQ save/restore pair, "
              f"which the other probes pay: {irq:.1f} ns")
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
        if probe and ns:
            result["write_path"]["ratio_probe_over_ring_buffer_entry"] = probe / ns
            print(f"  rust_trace sched_switch probe / ring buffer entry: {probe / ns:.3f} "
                  f"(the ring buffer figure is a bare reserve + commit of a small entry, without "
                  f"a probe's field reads and encoding)")
    return result


def cpus_of(header):
    """The CPU count a guest's header line gives ("bench: 5 repetitions, 2 CPUs, ...")."""
    for part in header.split(","):
        part = part.strip()
        if part.endswith("CPUs"):
            return int(part.split()[0])
    return None


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    result = {"note": "guests under QEMU -icount shift=0,sleep=off: 1 ns = 1 guest instruction; "
                      "ratios measured in the same boot are the result, not absolute ns",
              "guests": {}}
    guests = []
    for i, path in enumerate(paths):
        if i:
            print("=" * 100)
        g = report_guest(path)
        n = cpus_of(g["guest"])
        result["guests"][f"{n}_cpus"] = g
        guests.append((n, g))
        print()
    if len(guests) > 1:
        (n0, g0) = guests[0]
        scaling = {}
        print(f"cost per event against the CPU count (overhead per event over the {n0}-CPU guest's; "
              f"the same workloads on CPUs 0 and 1):")
        for w in sorted(g0["workloads"]):
            for t in STREAMING + ("rust_trace_flight",):
                base = g0["workloads"][w].get(t, {}).get("overhead_ns_per_event")
                if not base:
                    continue
                row = {f"{n0}_cpus": base}
                text = [f"{n0} CPUs {base:.1f}"]
                for n, g in guests[1:]:
                    v = g["workloads"].get(w, {}).get(t, {}).get("overhead_ns_per_event")
                    if v is None:
                        continue
                    row[f"{n}_cpus"] = v
                    row[f"{n}_over_{n0}"] = v / base
                    text.append(f"{n} CPUs {v:.1f} ({v / base:.3f}x)")
                scaling.setdefault(w, {})[t] = row
                print(f"  {w:<10} {t:<18} " + ", ".join(text))
        for n, g in guests[1:]:
            p0 = g0.get("write_path", {}).get("probe_ns_per_event")
            p = g.get("write_path", {}).get("probe_ns_per_event")
            if p0 and p:
                scaling.setdefault("write_path", {})[f"{n}_over_{n0}"] = p / p0
                print(f"  write path (microbenchmark): {n0} CPUs {p0:.1f}, {n} CPUs {p:.1f} ({p / p0:.3f}x)")
        result["cpu_scaling"] = scaling
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"written {out}")


if __name__ == "__main__":
    main()
