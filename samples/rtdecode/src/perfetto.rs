//! `perfetto`: export to a Perfetto protobuf trace, or to Chrome JSON.
//!
//! The protobuf output uses Perfetto's own ftrace messages (`FtraceEvent`
//! with `sched_switch`, `sched_wakeup`, `sched_wakeup_new`,
//! `sched_process_fork`/`exit`/`exec`, `sched_migrate_task`, `task_rename`),
//! so ui.perfetto.dev shows CPU tracks and thread states as for a trace it
//! recorded itself, plus a `ProcessTree` naming every task. The messages
//! below are the subset of Perfetto's `perfetto_trace.proto` this needs,
//! with its field numbers; `tools/testing/test_perfetto.py` decodes the output with
//! the compiled schema of the `perfetto` Python package to keep them honest.
//!
//! Output is streamed: a `Trace` is a sequence of `packet` fields, written
//! one bundle (up to [`BUNDLE`] events of one CPU) at a time.

use std::collections::HashMap;
use std::io::Write;
use std::io::{Read, Seek};

use prost::Message;

use crate::format::decode::Event;
use crate::format::STATE_PREEMPTED;
use crate::replay::{OnCpu, Replay, TaskInfo};
use crate::stream::{display_name, TimedEvent, Timeline};

/// Events per `FtraceEventBundle`.
pub const BUNDLE: usize = 2000;

/// `Trace`.
#[derive(Clone, PartialEq, Message)]
pub struct Trace {
    /// `packet = 1`.
    #[prost(message, repeated, tag = "1")]
    pub packet: Vec<TracePacket>,
}

/// `TracePacket`.
#[derive(Clone, PartialEq, Message)]
pub struct TracePacket {
    /// `ftrace_events = 1`.
    #[prost(message, optional, tag = "1")]
    pub ftrace_events: Option<FtraceEventBundle>,
    /// `process_tree = 2`.
    #[prost(message, optional, tag = "2")]
    pub process_tree: Option<ProcessTree>,
    /// `timestamp = 8`.
    #[prost(uint64, optional, tag = "8")]
    pub timestamp: Option<u64>,
    /// `trusted_packet_sequence_id = 10`.
    #[prost(uint32, optional, tag = "10")]
    pub trusted_packet_sequence_id: Option<u32>,
    /// `track_event = 11`.
    #[prost(message, optional, tag = "11")]
    pub track_event: Option<TrackEvent>,
    /// `track_descriptor = 60`.
    #[prost(message, optional, tag = "60")]
    pub track_descriptor: Option<TrackDescriptor>,
}

/// `TrackDescriptor`: a track, here a thread's.
#[derive(Clone, PartialEq, Message)]
pub struct TrackDescriptor {
    /// `uuid = 1`.
    #[prost(uint64, optional, tag = "1")]
    pub uuid: Option<u64>,
    /// `name = 2`.
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
    /// `thread = 4`.
    #[prost(message, optional, tag = "4")]
    pub thread: Option<ThreadDescriptor>,
}

/// `ThreadDescriptor`.
#[derive(Clone, PartialEq, Message)]
pub struct ThreadDescriptor {
    /// `pid = 1`.
    #[prost(int32, optional, tag = "1")]
    pub pid: Option<i32>,
    /// `tid = 2`.
    #[prost(int32, optional, tag = "2")]
    pub tid: Option<i32>,
}

/// `TrackEvent`: here an instant, with a flow.
#[derive(Clone, PartialEq, Message)]
pub struct TrackEvent {
    /// `type = 9` (`TYPE_INSTANT` = 3).
    #[prost(int32, optional, tag = "9")]
    pub r#type: Option<i32>,
    /// `track_uuid = 11`.
    #[prost(uint64, optional, tag = "11")]
    pub track_uuid: Option<u64>,
    /// `categories = 22`.
    #[prost(string, repeated, tag = "22")]
    pub categories: Vec<String>,
    /// `name = 23`.
    #[prost(string, optional, tag = "23")]
    pub name: Option<String>,
    /// `flow_ids = 47`.
    #[prost(fixed64, repeated, tag = "47")]
    pub flow_ids: Vec<u64>,
    /// `terminating_flow_ids = 48`.
    #[prost(fixed64, repeated, tag = "48")]
    pub terminating_flow_ids: Vec<u64>,
}

/// `TrackEvent.Type.TYPE_INSTANT`.
const TYPE_INSTANT: i32 = 3;
/// Track uuids of the trigger's marks: this plus the thread id.
const TRIGGER_TRACK: u64 = 0x7274_0000_0000;

/// `FtraceEventBundle`.
#[derive(Clone, PartialEq, Message)]
pub struct FtraceEventBundle {
    /// `cpu = 1`.
    #[prost(uint32, optional, tag = "1")]
    pub cpu: Option<u32>,
    /// `event = 2`.
    #[prost(message, repeated, tag = "2")]
    pub event: Vec<FtraceEvent>,
}

/// `FtraceEvent`.
#[derive(Clone, PartialEq, Message)]
pub struct FtraceEvent {
    /// `timestamp = 1`.
    #[prost(uint64, optional, tag = "1")]
    pub timestamp: Option<u64>,
    /// `pid = 2`: the task running on the CPU.
    #[prost(uint32, optional, tag = "2")]
    pub pid: Option<u32>,
    /// The event.
    #[prost(oneof = "Payload", tags = "4, 17, 114, 236, 237, 238, 239, 491")]
    pub event: Option<Payload>,
}

/// The `FtraceEvent.event` oneof, for the events rust_trace records.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Payload {
    /// `sched_switch = 4`.
    #[prost(message, tag = "4")]
    SchedSwitch(SchedSwitch),
    /// `sched_wakeup = 17`.
    #[prost(message, tag = "17")]
    SchedWakeup(SchedWakeup),
    /// `sched_wakeup_new = 114`.
    #[prost(message, tag = "114")]
    SchedWakeupNew(SchedWakeup),
    /// `task_rename = 236`.
    #[prost(message, tag = "236")]
    TaskRename(TaskRename),
    /// `sched_process_exec = 237`.
    #[prost(message, tag = "237")]
    SchedProcessExec(SchedProcessExec),
    /// `sched_process_exit = 238`.
    #[prost(message, tag = "238")]
    SchedProcessExit(SchedProcessExit),
    /// `sched_process_fork = 239`.
    #[prost(message, tag = "239")]
    SchedProcessFork(SchedProcessFork),
    /// `sched_migrate_task = 491`.
    #[prost(message, tag = "491")]
    SchedMigrateTask(SchedMigrateTask),
}

/// `SchedSwitchFtraceEvent`.
#[derive(Clone, PartialEq, Message)]
pub struct SchedSwitch {
    /// `prev_comm = 1`.
    #[prost(string, optional, tag = "1")]
    pub prev_comm: Option<String>,
    /// `prev_pid = 2`.
    #[prost(int32, optional, tag = "2")]
    pub prev_pid: Option<i32>,
    /// `prev_state = 4`: the kernel's report value (S=1, D=2, ... R+=256).
    #[prost(int64, optional, tag = "4")]
    pub prev_state: Option<i64>,
    /// `next_comm = 5`.
    #[prost(string, optional, tag = "5")]
    pub next_comm: Option<String>,
    /// `next_pid = 6`.
    #[prost(int32, optional, tag = "6")]
    pub next_pid: Option<i32>,
}

/// `SchedWakeupFtraceEvent` and `SchedWakeupNewFtraceEvent` (same fields).
#[derive(Clone, PartialEq, Message)]
pub struct SchedWakeup {
    /// `comm = 1`.
    #[prost(string, optional, tag = "1")]
    pub comm: Option<String>,
    /// `pid = 2`.
    #[prost(int32, optional, tag = "2")]
    pub pid: Option<i32>,
    /// `success = 4`.
    #[prost(int32, optional, tag = "4")]
    pub success: Option<i32>,
    /// `target_cpu = 5`.
    #[prost(int32, optional, tag = "5")]
    pub target_cpu: Option<i32>,
}

/// `TaskRenameFtraceEvent`.
#[derive(Clone, PartialEq, Message)]
pub struct TaskRename {
    /// `pid = 1`.
    #[prost(int32, optional, tag = "1")]
    pub pid: Option<i32>,
    /// `oldcomm = 2`.
    #[prost(string, optional, tag = "2")]
    pub oldcomm: Option<String>,
    /// `newcomm = 3`.
    #[prost(string, optional, tag = "3")]
    pub newcomm: Option<String>,
}

/// `SchedProcessExecFtraceEvent`.
#[derive(Clone, PartialEq, Message)]
pub struct SchedProcessExec {
    /// `filename = 1` (rust_trace records the new name, not the path).
    #[prost(string, optional, tag = "1")]
    pub filename: Option<String>,
    /// `pid = 2`.
    #[prost(int32, optional, tag = "2")]
    pub pid: Option<i32>,
    /// `old_pid = 3`.
    #[prost(int32, optional, tag = "3")]
    pub old_pid: Option<i32>,
}

/// `SchedProcessExitFtraceEvent`.
#[derive(Clone, PartialEq, Message)]
pub struct SchedProcessExit {
    /// `comm = 1`.
    #[prost(string, optional, tag = "1")]
    pub comm: Option<String>,
    /// `pid = 2`.
    #[prost(int32, optional, tag = "2")]
    pub pid: Option<i32>,
}

/// `SchedProcessForkFtraceEvent`.
#[derive(Clone, PartialEq, Message)]
pub struct SchedProcessFork {
    /// `parent_comm = 1`.
    #[prost(string, optional, tag = "1")]
    pub parent_comm: Option<String>,
    /// `parent_pid = 2`.
    #[prost(int32, optional, tag = "2")]
    pub parent_pid: Option<i32>,
    /// `child_comm = 3`.
    #[prost(string, optional, tag = "3")]
    pub child_comm: Option<String>,
    /// `child_pid = 4`.
    #[prost(int32, optional, tag = "4")]
    pub child_pid: Option<i32>,
}

/// `SchedMigrateTaskFtraceEvent`.
#[derive(Clone, PartialEq, Message)]
pub struct SchedMigrateTask {
    /// `comm = 1`.
    #[prost(string, optional, tag = "1")]
    pub comm: Option<String>,
    /// `pid = 2`.
    #[prost(int32, optional, tag = "2")]
    pub pid: Option<i32>,
    /// `orig_cpu = 4`.
    #[prost(int32, optional, tag = "4")]
    pub orig_cpu: Option<i32>,
    /// `dest_cpu = 5`.
    #[prost(int32, optional, tag = "5")]
    pub dest_cpu: Option<i32>,
}

/// `ProcessTree`.
#[derive(Clone, PartialEq, Message)]
pub struct ProcessTree {
    /// `processes = 1`.
    #[prost(message, repeated, tag = "1")]
    pub processes: Vec<Process>,
    /// `threads = 2`.
    #[prost(message, repeated, tag = "2")]
    pub threads: Vec<Thread>,
}

/// `ProcessTree.Process`.
#[derive(Clone, PartialEq, Message)]
pub struct Process {
    /// `pid = 1`.
    #[prost(int32, optional, tag = "1")]
    pub pid: Option<i32>,
    /// `cmdline = 3`.
    #[prost(string, repeated, tag = "3")]
    pub cmdline: Vec<String>,
}

/// `ProcessTree.Thread`.
#[derive(Clone, PartialEq, Message)]
pub struct Thread {
    /// `tid = 1`.
    #[prost(int32, optional, tag = "1")]
    pub tid: Option<i32>,
    /// `name = 2`.
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
    /// `tgid = 3`: the thread's process.
    #[prost(int32, optional, tag = "3")]
    pub tgid: Option<i32>,
}

/// The kernel's `prev_state` report value of a state index, as ftrace
/// records it: 0 for R, `1 << (index - 1)` for S, D, ..., 256 for R+.
pub fn prev_state_value(idx: u32) -> i64 {
    match idx {
        0 => 0,
        STATE_PREEMPTED => 256,
        i if i < 9 => 1 << (i - 1),
        _ => 0,
    }
}

fn write_packet<W: Write>(out: &mut W, p: &TracePacket) -> std::io::Result<()> {
    // A `Trace` is its repeated field 1: tag (1 << 3 | 2), length, bytes.
    let mut buf = Vec::with_capacity(p.encoded_len() + 10);
    prost::encoding::encode_key(1, prost::encoding::WireType::LengthDelimited, &mut buf);
    prost::encoding::encode_varint(p.encoded_len() as u64, &mut buf);
    p.encode(&mut buf).map_err(std::io::Error::other)?;
    out.write_all(&buf)
}

/// Writes `tl` as a Perfetto protobuf trace. Returns the events written.
pub fn write_proto<R: Read + Seek, W: Write>(
    tl: &mut Timeline<R>,
    out: &mut W,
) -> anyhow::Result<u64> {
    let seq = Some(1);
    let tree = process_tree(tl.tasks());
    write_packet(
        out,
        &TracePacket {
            process_tree: Some(tree),
            timestamp: Some(tl.header().start_ns),
            trusted_packet_sequence_id: seq,
            ..Default::default()
        },
    )?;
    let n = tl.header().nr_cpus as usize;
    let mut bundles: Vec<Vec<FtraceEvent>> = vec![Vec::new(); n];
    let mut replay = Replay::new(n);
    let mut count = 0u64;
    tl.try_for_each(|te: &TimedEvent| -> anyhow::Result<()> {
        let c = te.cpu as usize;
        // A name record's old name, for the rename it becomes.
        let old = match te.ev {
            Event::Task { pid, .. } => replay.name(pid).map(<[u8]>::to_vec),
            _ => None,
        };
        let running = replay.apply(te).map_or(0, |r| r.pid);
        if let Some(ev) = convert(te, &replay, running, old) {
            bundles[c].push(ev);
            count += 1;
        }
        if bundles[c].len() >= BUNDLE {
            let event = std::mem::take(&mut bundles[c]);
            flush(out, te.cpu, event, seq)?;
        }
        Ok(())
    })?;
    for (cpu, b) in bundles.into_iter().enumerate() {
        if !b.is_empty() {
            flush(out, cpu as u32, b, seq)?;
        }
    }
    if let Some(t) = tl
        .snapshot()
        .filter(|s| s.flags & crate::format::SNAP_F_TRIGGERED != 0)
        .map(|s| s.trigger)
    {
        write_trigger(out, &t, &replay, tl.tasks(), seq)?;
    }
    Ok(count)
}

/// A snapshot's trigger as track events: an instant on the late task's
/// thread track where it ran, and one on its waker's where it was woken,
/// joined by a flow.
fn write_trigger<W: Write>(
    out: &mut W,
    t: &crate::format::Trigger,
    replay: &Replay,
    tasks: &HashMap<u32, TaskInfo>,
    seq: Option<u32>,
) -> std::io::Result<()> {
    let tgid = |pid: u32| {
        tasks
            .get(&pid)
            .map_or(pid, |i| if i.tgid != 0 { i.tgid } else { pid })
    };
    let waited = t.run_ns.saturating_sub(t.wakeup_ns) as f64 / 1e6;
    let marks = [
        (
            t.waker,
            t.wakeup_ns,
            format!("woke {}:{}", replay.display(t.pid), t.pid),
            true,
        ),
        (
            t.pid,
            t.run_ns,
            format!(
                "trigger: {}:{} waited {waited:.3} ms",
                replay.display(t.pid),
                t.pid
            ),
            false,
        ),
    ];
    for (pid, ts, name, starts_flow) in marks {
        let uuid = TRIGGER_TRACK + u64::from(pid);
        write_packet(
            out,
            &TracePacket {
                track_descriptor: Some(TrackDescriptor {
                    uuid: Some(uuid),
                    name: Some(replay.display(pid)),
                    thread: Some(ThreadDescriptor {
                        pid: Some(tgid(pid) as i32),
                        tid: Some(pid as i32),
                    }),
                }),
                trusted_packet_sequence_id: seq,
                ..Default::default()
            },
        )?;
        write_packet(
            out,
            &TracePacket {
                timestamp: Some(ts),
                trusted_packet_sequence_id: seq,
                track_event: Some(TrackEvent {
                    r#type: Some(TYPE_INSTANT),
                    track_uuid: Some(uuid),
                    categories: vec!["trigger".into()],
                    name: Some(name),
                    flow_ids: if starts_flow { vec![1] } else { vec![] },
                    terminating_flow_ids: if starts_flow { vec![] } else { vec![1] },
                }),
                ..Default::default()
            },
        )?;
    }
    Ok(())
}

/// The processes and threads of a capture's task records, as Perfetto
/// records them: each thread under its process (its thread-group id), each
/// process named after its thread-group leader. A task without a recorded
/// process (a version 1 capture) is a process of its own.
pub fn process_tree(tasks: &HashMap<u32, TaskInfo>) -> ProcessTree {
    let mut tree = ProcessTree::default();
    let tgid_of = |pid: u32, t: &TaskInfo| if t.tgid != 0 { t.tgid } else { pid };
    let mut pids: Vec<u32> = tasks.keys().copied().collect();
    pids.sort_unstable();
    let mut processes: Vec<u32> = pids.iter().map(|&pid| tgid_of(pid, &tasks[&pid])).collect();
    processes.sort_unstable();
    processes.dedup();
    for tgid in processes {
        // The leader's name; a thread's when the leader has no record.
        let leader = tasks
            .get(&tgid)
            .or_else(|| pids.iter().map(|p| &tasks[p]).find(|t| t.tgid == tgid));
        let name = display_name(leader.map(|t| t.name.as_slice()), tgid);
        tree.processes.push(Process {
            pid: Some(tgid as i32),
            cmdline: vec![name],
        });
    }
    for pid in pids {
        let t = &tasks[&pid];
        tree.threads.push(Thread {
            tid: Some(pid as i32),
            name: Some(display_name(Some(&t.name), pid)),
            tgid: Some(tgid_of(pid, t) as i32),
        });
    }
    tree
}

fn flush<W: Write>(
    out: &mut W,
    cpu: u32,
    event: Vec<FtraceEvent>,
    seq: Option<u32>,
) -> std::io::Result<()> {
    write_packet(
        out,
        &TracePacket {
            ftrace_events: Some(FtraceEventBundle {
                cpu: Some(cpu),
                event,
            }),
            trusted_packet_sequence_id: seq,
            ..Default::default()
        },
    )
}

/// One event as a Perfetto `FtraceEvent`, recorded while `running` ran on
/// its CPU, names as `replay` has them once it applied the event; a task
/// name that changes `old` becomes a rename.
fn convert(
    te: &TimedEvent,
    replay: &Replay,
    running: u32,
    old: Option<Vec<u8>>,
) -> Option<FtraceEvent> {
    let name = |pid: u32| replay.display(pid);
    let payload = match te.ev {
        Event::Switch {
            prev_pid,
            prev_state,
            next_pid,
        } => Payload::SchedSwitch(SchedSwitch {
            prev_comm: Some(name(prev_pid)),
            prev_pid: Some(prev_pid as i32),
            prev_state: Some(prev_state_value(prev_state)),
            next_comm: Some(name(next_pid)),
            next_pid: Some(next_pid as i32),
        }),
        Event::Wakeup {
            new,
            pid,
            target_cpu,
        } => {
            let w = SchedWakeup {
                comm: Some(name(pid)),
                pid: Some(pid as i32),
                success: Some(1),
                target_cpu: Some(target_cpu as i32),
            };
            if new {
                Payload::SchedWakeupNew(w)
            } else {
                Payload::SchedWakeup(w)
            }
        }
        Event::Fork {
            parent_pid,
            child_pid,
        } => Payload::SchedProcessFork(SchedProcessFork {
            parent_comm: Some(name(parent_pid)),
            parent_pid: Some(parent_pid as i32),
            child_comm: Some(name(child_pid)),
            child_pid: Some(child_pid as i32),
        }),
        Event::Exit { pid } => Payload::SchedProcessExit(SchedProcessExit {
            comm: Some(name(pid)),
            pid: Some(pid as i32),
        }),
        Event::Exec { pid, old_pid } => Payload::SchedProcessExec(SchedProcessExec {
            filename: Some(name(pid)),
            pid: Some(pid as i32),
            old_pid: Some(old_pid as i32),
        }),
        Event::Migrate {
            pid,
            orig_cpu,
            dest_cpu,
        } => Payload::SchedMigrateTask(SchedMigrateTask {
            comm: Some(name(pid)),
            pid: Some(pid as i32),
            orig_cpu: Some(orig_cpu as i32),
            dest_cpu: Some(dest_cpu as i32),
        }),
        // The filter is the capture's metadata, not a scheduler event.
        Event::Filter { .. } => return None,
        Event::Task { pid: who, .. } => {
            // The first name of a task is not a rename: the process tree has it.
            let old = String::from_utf8_lossy(&old?).into_owned();
            let new = name(who);
            if old == new {
                return None;
            }
            Payload::TaskRename(TaskRename {
                pid: Some(who as i32),
                oldcomm: Some(old),
                newcomm: Some(new),
            })
        }
    };
    Some(FtraceEvent {
        timestamp: Some(te.ts),
        pid: Some(running),
        event: Some(payload),
    })
}

/// Writes `tl` as Chrome JSON (chrome://tracing, ui.perfetto.dev): each
/// thread a track under its process (pid = thread-group id, tid = thread),
/// named from the process tree, holding slices for the times it ran (the
/// CPU in their arguments) and instants for its wakeups, forks, execs,
/// exits and migrations. Times in microseconds.
pub fn write_json<R: Read + Seek, W: Write>(
    tl: &mut Timeline<R>,
    out: &mut W,
) -> anyhow::Result<u64> {
    let start = tl.header().start_ns;
    let n = tl.header().nr_cpus as usize;
    let tree = process_tree(tl.tasks());
    let tgids: HashMap<u32, u32> = tree
        .threads
        .iter()
        .filter_map(|t| Some((t.tid? as u32, t.tgid? as u32)))
        .collect();
    let process_of = |pid: u32| tgids.get(&pid).copied().unwrap_or(pid);
    let mut replay = Replay::new(n);
    let mut count = 0u64;
    let us = |ns: u64| ns.saturating_sub(start) as f64 / 1000.0;
    // The process tree as metadata: names of processes and of threads.
    let mut meta = vec![serde_json::json!({"name":"rust_trace","ph":"M","pid":0,"args":{}})];
    for p in &tree.processes {
        let name = p.cmdline.first().cloned().unwrap_or_default();
        meta.push(
            serde_json::json!({"name":"process_name","ph":"M","pid":p.pid,
                                      "args":{"name":name}}),
        );
    }
    for t in &tree.threads {
        meta.push(
            serde_json::json!({"name":"thread_name","ph":"M","pid":t.tgid,"tid":t.tid,
                                      "args":{"name":t.name}}),
        );
    }
    writeln!(out, "{{\"displayTimeUnit\":\"ns\",\"traceEvents\":[")?;
    let meta: Vec<String> = meta.iter().map(|v| v.to_string()).collect();
    write!(out, "{}", meta.join(",\n"))?;
    tl.try_for_each(|te| -> anyhow::Result<()> {
        let c = te.cpu;
        let before = replay.apply(te);
        let v = match te.ev {
            Event::Switch { .. } => match before {
                Some(OnCpu { pid, since }) if pid != 0 => serde_json::json!({
                    "name": format!("{}:{}", replay.display(pid), pid),
                    "ph":"X","pid":process_of(pid),"tid":pid,"ts":us(since),
                    "dur":us(te.ts)-us(since),"args":{"cpu":c}}),
                _ => {
                    count += 1;
                    return Ok(());
                }
            },
            Event::Task { .. } | Event::Filter { .. } => return Ok(()),
            ev => {
                let (name, pid) = match ev {
                    Event::Wakeup {
                        new: false, pid, ..
                    } => ("sched_wakeup", pid),
                    Event::Wakeup { new: true, pid, .. } => ("sched_wakeup_new", pid),
                    Event::Fork { child_pid, .. } => ("sched_process_fork", child_pid),
                    Event::Exit { pid } => ("sched_process_exit", pid),
                    Event::Exec { pid, .. } => ("sched_process_exec", pid),
                    Event::Migrate { pid, .. } => ("sched_migrate_task", pid),
                    _ => return Ok(()),
                };
                serde_json::json!({"name":name,"ph":"i","s":"t","pid":process_of(pid),"tid":pid,
                    "ts":us(te.ts),"args":{"cpu":c,"comm":replay.display(pid)}})
            }
        };
        write!(out, ",\n{v}")?;
        count += 1;
        Ok(())
    })?;
    // A snapshot's trigger: an instant on the late task's track where it
    // ran, and a flow from its waker to it.
    if let Some(t) = tl
        .snapshot()
        .filter(|s| s.flags & crate::format::SNAP_F_TRIGGERED != 0)
        .map(|s| s.trigger)
    {
        let waited = t.run_ns.saturating_sub(t.wakeup_ns) as f64 / 1e6;
        let name = format!(
            "trigger: {}:{} waited {:.3} ms",
            replay.display(t.pid),
            t.pid,
            waited
        );
        let marks = [
            serde_json::json!({"name":name,"cat":"trigger","ph":"i","s":"t",
                "pid":process_of(t.pid),"tid":t.pid,"ts":us(t.run_ns),
                "args":{"waker":t.waker,"waker_cpu":t.waker_cpu,"cpu":t.cpu,
                        "woken_us":us(t.wakeup_ns),"threshold_ms":t.threshold_ns as f64 / 1e6,
                        "from_irq":t.flags != 0}}),
            serde_json::json!({"name":"wakeup","cat":"trigger","ph":"s","id":1,
                "pid":process_of(t.waker),"tid":t.waker,"ts":us(t.wakeup_ns)}),
            serde_json::json!({"name":"wakeup","cat":"trigger","ph":"f","bp":"e","id":1,
                "pid":process_of(t.pid),"tid":t.pid,"ts":us(t.run_ns)}),
        ];
        for m in marks {
            write!(out, ",\n{m}")?;
        }
    }
    writeln!(out, "\n]}}")?;
    Ok(count)
}
