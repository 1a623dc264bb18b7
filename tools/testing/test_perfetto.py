#!/usr/bin/env python3
"""Checks rtdecode's Perfetto export with Perfetto's own schema.

usage: test_perfetto.py RTDECODE CAPTURE...
Run with the Python of the venv tools/setup.sh makes (it has the `perfetto`
package, whose perfetto_trace_pb2 is the compiled trace proto).

For each capture: `rtdecode perfetto` writes a protobuf trace, which must
parse as a perfetto.protos Trace holding a process tree and exactly as many
sched events of each kind as the capture holds (counted by `rtdecode
report`); the Chrome JSON export must parse and hold one instant per
non-switch event. A capture with a CAPTURE.ids file ("tgid=T tids=A,B")
must have those threads under process T in both exports.
"""
import collections
import json
import subprocess
import sys
import tempfile

from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb

REPORT_TO_PROTO = {
    "sched_switch": "sched_switch",
    "sched_wakeup": "sched_wakeup",
    "sched_wakeup_new": "sched_wakeup_new",
    "sched_process_fork": "sched_process_fork",
    "sched_process_exit": "sched_process_exit",
    "sched_process_exec": "sched_process_exec",
    "sched_migrate_task": "sched_migrate_task",
}


def check(rtdecode, capture):
    report = subprocess.run([rtdecode, "report", capture], check=True, capture_output=True, text=True).stdout
    want = collections.Counter()
    for line in report.splitlines():
        ev = line.split(": ", 1)[1].split()[0]
        if ev in REPORT_TO_PROTO:
            want[REPORT_TO_PROTO[ev]] += 1
    with tempfile.TemporaryDirectory() as d:
        proto, js = f"{d}/t.pftrace", f"{d}/t.json"
        subprocess.run([rtdecode, "perfetto", capture, "-o", proto], check=True, capture_output=True)
        subprocess.run([rtdecode, "perfetto", capture, "-o", js, "--format", "json"], check=True,
                       capture_output=True)
        trace = pb.Trace()
        trace.ParseFromString(open(proto, "rb").read())
        got = collections.Counter()
        threads = 0
        last_ts = {}
        for packet in trace.packet:
            threads += len(packet.process_tree.threads)
            bundle = packet.ftrace_events
            for e in bundle.event:
                kind = e.WhichOneof("event")
                got[kind] += 1
                # Within a CPU's bundles, time never goes back.
                assert e.timestamp >= last_ts.get(bundle.cpu, 0), f"time goes back on CPU {bundle.cpu}"
                last_ts[bundle.cpu] = e.timestamp
        got.pop("task_rename", None)
        # A triggered snapshot's marks: an instant on the late task's
        # thread track, flowing from one on its waker's.
        marks = [p.track_event for p in trace.packet if p.HasField("track_event")]
        tracks = {p.track_descriptor.uuid: p.track_descriptor.thread.tid
                  for p in trace.packet if p.HasField("track_descriptor")}
        validate = subprocess.run([rtdecode, "validate", capture], check=True, capture_output=True,
                                  text=True).stdout
        if "taken by a trigger: PID " in validate:
            late = int(validate.split("taken by a trigger: PID ")[1].split()[0])
            assert len(marks) == 2, f"{capture}: {len(marks)} trigger marks, 2 expected"
            start, end = marks
            assert end.type == pb.TrackEvent.TYPE_INSTANT and tracks[end.track_uuid] == late, \
                f"{capture}: the trigger's instant is not on thread {late}"
            assert list(start.flow_ids) == list(end.terminating_flow_ids) == [1], "no flow to the late task"
            print(f"ok {capture}: trigger marked on thread {late}: {end.name}")
        else:
            assert not marks, f"{capture}: track events but no trigger"

        assert got == want, f"{capture}: proto holds {dict(got)}, capture {dict(want)}"
        assert threads > 0, "no process tree"
        assert want["sched_switch"] > 0, "capture without sched_switch"
        events = json.load(open(js))["traceEvents"]
        # A snapshot's trigger mark (cat "trigger") is not an event.
        instants = sum(1 for e in events if e.get("ph") == "i" and e.get("cat") != "trigger")
        non_switch = sum(v for k, v in want.items() if k != "sched_switch")
        assert instants == non_switch, f"JSON: {instants} instants, {non_switch} expected"
        # A capture of a multi-threaded workload comes with its ids
        # ("tgid=T tids=A,B,..."): each thread must sit under that process,
        # in the process tree and in the JSON tracks.
        try:
            ids = open(capture + ".ids").read()
        except OSError:
            ids = ""
        if ids:
            tgid = int(ids.split("tgid=")[1].split()[0])
            tids = [int(t) for t in ids.split("tids=")[1].split(",")]
            tree = {t.tid: t.tgid for p in trace.packet for t in p.process_tree.threads}
            for tid in tids:
                assert tree.get(tid) == tgid, f"thread {tid}: process {tree.get(tid)} in the tree, {tgid} expected"
            assert any(p.pid == tgid for pk in trace.packet for p in pk.process_tree.processes), \
                f"process {tgid} missing from the tree"
            for e in events:
                if e.get("tid") in tids and e.get("ph") in ("X", "i"):
                    assert e["pid"] == tgid, f"JSON: thread {e['tid']} in process {e['pid']}, {tgid} expected"
            print(f"ok {capture}: threads {tids} under process {tgid}")
        print(f"ok {capture}: {sum(want.values())} events, {threads} threads named, "
              f"{len(trace.packet)} packets")


def main():
    rtdecode, captures = sys.argv[1], sys.argv[2:]
    if not captures:
        sys.exit("no capture given")
    for c in captures:
        check(rtdecode, c)


if __name__ == "__main__":
    main()
