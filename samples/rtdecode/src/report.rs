//! `report`: one line per event, merged across CPUs by time, in the spirit
//! of `trace-cmd report`:
//!
//! ```text
//!             ping-812 (  810) [001]    12.345678901: sched_switch  ping:812 [S] ==> pong:813
//! ```
//!
//! The first columns name the task running on the CPU when the event was
//! recorded (tracked from the switches) and its process (thread-group id,
//! `-----` when the capture does not say); times are seconds since the
//! start of the session. A task is named as last recorded before the event
//! ([`Replay`]); `<...>` when no name was recorded yet.

use std::io::Write;
use std::io::{Read, Seek};

use crate::format::decode::Event;
use crate::format::{STATE_CHARS, STATE_PREEMPTED};
use crate::replay::Replay;
use crate::stream::{TimedEvent, Timeline};

/// The letters of a switch's state index: `R`, `S`, `D`, ... or `R+`.
pub fn state_str(idx: u32) -> String {
    if idx == STATE_PREEMPTED {
        "R+".into()
    } else {
        STATE_CHARS
            .get(idx as usize)
            .map(|&c| (c as char).to_string())
            .unwrap_or_else(|| format!("?{idx}"))
    }
}

/// Writes the report of `tl` to `out`.
pub fn report<R: Read + Seek, W: Write>(tl: &mut Timeline<R>, out: &mut W) -> anyhow::Result<()> {
    let start = tl.header().start_ns;
    let mut replay = Replay::new(tl.header().nr_cpus as usize);
    let res = tl.try_for_each(|te: &TimedEvent| -> anyhow::Result<()> {
        let cur = replay.apply(te).map_or(0, |r| r.pid);
        let name = |pid: u32| replay.display(pid);
        let t = te.ts.saturating_sub(start);
        let what = match te.ev {
            Event::Switch {
                prev_pid,
                prev_state,
                next_pid,
            } => format!(
                "sched_switch          {}:{} [{}] ==> {}:{}",
                name(prev_pid),
                prev_pid,
                state_str(prev_state),
                name(next_pid),
                next_pid
            ),
            Event::Wakeup {
                new,
                pid,
                target_cpu,
            } => format!(
                "{:<21} {}:{} target_cpu={:03}",
                if new {
                    "sched_wakeup_new"
                } else {
                    "sched_wakeup"
                },
                name(pid),
                pid,
                target_cpu
            ),
            Event::Fork {
                parent_pid,
                child_pid,
            } => format!(
                "sched_process_fork    comm={} pid={} child_comm={} child_pid={}",
                name(parent_pid),
                parent_pid,
                name(child_pid),
                child_pid
            ),
            Event::Exit { pid } => format!("sched_process_exit    comm={} pid={}", name(pid), pid),
            Event::Exec { pid, old_pid } => format!(
                "sched_process_exec    comm={} pid={} old_pid={}",
                name(pid),
                pid,
                old_pid
            ),
            Event::Migrate {
                pid,
                orig_cpu,
                dest_cpu,
            } => format!(
                "sched_migrate_task    comm={} pid={} orig_cpu={} dest_cpu={}",
                name(pid),
                pid,
                orig_cpu,
                dest_cpu
            ),
            Event::Task {
                pid, tgid, cgroup, ..
            } => match (tgid, cgroup) {
                (0, _) => format!("task_name             pid={} comm={}", pid, name(pid)),
                (_, 0) => format!(
                    "task_name             pid={} tgid={} comm={}",
                    pid,
                    tgid,
                    name(pid)
                ),
                _ => format!(
                    "task_name             pid={} tgid={} cgroup={} comm={}",
                    pid,
                    tgid,
                    cgroup,
                    name(pid)
                ),
            },
            Event::Filter { .. } => format!(
                "filter                {}",
                replay.filter().map(|f| f.describe()).unwrap_or_default()
            ),
        };
        let tgid = replay
            .tgid(cur)
            .map_or_else(|| "-----".to_string(), |t| format!("{t:>5}"));
        writeln!(
            out,
            "{:>20} ({}) [{:03}] {:5}.{:09}: {}",
            format!("{}-{}", name(cur), cur),
            tgid,
            te.cpu,
            t / 1_000_000_000,
            t % 1_000_000_000,
            what
        )?;
        Ok(())
    });
    match res {
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        r => r,
    }
}
