//! Replay: the state a capture implies at each of its events.
//!
//! Fed every event of a [`Timeline`](crate::stream::Timeline) in time order,
//! [`Replay`] knows which task runs on each CPU (and since when) and the
//! name each PID had as last recorded: what report, stats and the exports
//! all need. A name comes only from a task-name record seen before
//! the event; a PID with none is unnamed (`None`), never given a name the
//! stream records later or for another task that reused the PID: a name may
//! be missing, never wrong.

use std::collections::HashMap;

use crate::format::decode::Event;
use crate::format::{EVENTS_ALL, EVENT_NAMES, FILTER_CGROUP, FILTER_PID, FILTER_TGID};
use crate::stream::TimedEvent;

/// The task on a CPU, and since when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OnCpu {
    /// Its PID (0: idle).
    pub pid: u32,
    /// Time it was switched in.
    pub since: u64,
}

/// What a task record says of a task.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskInfo {
    /// Its name.
    pub name: Vec<u8>,
    /// Its process (thread-group id); 0 when not recorded (version 1).
    pub tgid: u32,
    /// Its cgroup v2 id; 0 when not recorded.
    pub cgroup: u64,
}

impl TaskInfo {
    /// The task of a task record; `None` for other events.
    pub fn of(ev: &Event) -> Option<(u32, TaskInfo)> {
        match *ev {
            Event::Task {
                pid, tgid, cgroup, ..
            } => Some((
                pid,
                TaskInfo {
                    name: ev.comm_bytes().unwrap_or_default().to_vec(),
                    tgid,
                    cgroup,
                },
            )),
            _ => None,
        }
    }
}

/// A filter as the stream states it ([`Event::Filter`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Its kind (`FILTER_*`).
    pub kind: u8,
    /// The event types recorded, bit `1 << type`.
    pub events: u32,
    /// The ids it lists.
    pub ids: Vec<u64>,
}

impl Filter {
    /// The filter of a filter record; `None` for other events.
    pub fn of(ev: &Event) -> Option<Filter> {
        match *ev {
            Event::Filter {
                kind,
                events,
                ids,
                n,
            } => Some(Filter {
                kind,
                events,
                ids: ids[..usize::from(n).min(ids.len())].to_vec(),
            }),
            _ => None,
        }
    }

    /// The filter as the commands written to the device say it:
    /// `pid 12 34`, `tgid 5`, `cgroup id 812`, `none`, then `events ...`
    /// unless every type is recorded.
    pub fn describe(&self) -> String {
        let ids = self
            .ids
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        let mut o = match self.kind {
            FILTER_PID => format!("pid {ids} (and their children)"),
            FILTER_TGID => format!("tgid {ids}"),
            FILTER_CGROUP => format!("cgroup id {ids} (and below)"),
            _ => "none".to_string(),
        };
        if self.events != EVENTS_ALL {
            let names: Vec<&str> = EVENT_NAMES
                .iter()
                .filter(|(ty, _)| self.events & (1 << ty) != 0)
                .map(|&(_, n)| n)
                .collect();
            o += &format!("; events {}", names.join(","));
        }
        o
    }
}

/// Tasks on CPUs, task names, processes and cgroups, and the filter in
/// force, replayed event by event.
#[derive(Debug, Default)]
pub struct Replay {
    tasks: HashMap<u32, TaskInfo>, // each PID's task as last recorded
    on_cpu: Vec<Option<OnCpu>>,    // per CPU, the task switched in last (None before any switch)
    filter: Option<Filter>,        // the filter last stated (None before any)
}

impl Replay {
    /// An empty replay of a capture of `nr_cpus` CPU ids.
    pub fn new(nr_cpus: usize) -> Self {
        Replay {
            tasks: HashMap::new(),
            on_cpu: vec![None; nr_cpus],
            filter: None,
        }
    }

    /// Applies `te`, the next event in time order; returns the task that
    /// was on its CPU when it was recorded (before a switch takes effect),
    /// if a switch on that CPU was seen before.
    pub fn apply(&mut self, te: &TimedEvent) -> Option<OnCpu> {
        let cpu = te.cpu as usize;
        if self.on_cpu.len() <= cpu {
            self.on_cpu.resize(cpu + 1, None);
        }
        let before = self.on_cpu[cpu];
        if let Some((pid, task)) = TaskInfo::of(&te.ev) {
            self.tasks.insert(pid, task);
        } else if let Some(f) = Filter::of(&te.ev) {
            self.filter = Some(f);
        } else if let Event::Switch { next_pid, .. } = te.ev {
            self.on_cpu[cpu] = Some(OnCpu {
                pid: next_pid,
                since: te.ts,
            });
        }
        before
    }

    /// The task `pid` was as last recorded, if it was.
    pub fn task(&self, pid: u32) -> Option<&TaskInfo> {
        self.tasks.get(&pid)
    }

    /// The name `pid` had as last recorded, if any.
    pub fn name(&self, pid: u32) -> Option<&[u8]> {
        self.tasks.get(&pid).map(|t| t.name.as_slice())
    }

    /// The process of `pid` as last recorded; `None` if not recorded.
    pub fn tgid(&self, pid: u32) -> Option<u32> {
        self.tasks.get(&pid).map(|t| t.tgid).filter(|&t| t != 0)
    }

    /// The name of `pid` for display: as last recorded, `<idle>` for PID 0,
    /// `<...>` when none was recorded yet.
    pub fn display(&self, pid: u32) -> String {
        crate::stream::display_name(self.name(pid), pid)
    }

    /// The task on `cpu` after the events applied so far.
    pub fn on_cpu(&self, cpu: u32) -> Option<OnCpu> {
        self.on_cpu.get(cpu as usize).copied().flatten()
    }

    /// The filter in force after the events applied so far, if one was
    /// stated.
    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::TASK_NAME_MAX;

    fn comm(ts: u64, pid: u32, name: &[u8]) -> TimedEvent {
        let mut n = [0u8; TASK_NAME_MAX];
        n[..name.len()].copy_from_slice(name);
        TimedEvent {
            ts,
            cpu: 0,
            seq: 0,
            ev: Event::Task {
                pid,
                tgid: 0,
                cgroup: 0,
                name: n,
                len: name.len() as u8,
            },
        }
    }

    #[test]
    fn a_name_is_known_only_from_its_record_on() {
        let mut r = Replay::new(1);
        assert_eq!(r.name(7), None);
        r.apply(&comm(1, 7, b"a"));
        assert_eq!(r.name(7), Some(&b"a"[..]));
        r.apply(&comm(2, 7, b"b"));
        assert_eq!(r.name(7), Some(&b"b"[..]));
    }

    #[test]
    fn apply_returns_the_task_running_before_a_switch() {
        let mut r = Replay::new(2);
        let sw = TimedEvent {
            ts: 1,
            cpu: 1,
            seq: 0,
            ev: Event::Switch {
                prev_pid: 0,
                prev_state: 0,
                next_pid: 5,
            },
        };
        assert_eq!(r.apply(&sw), None);
        assert_eq!(r.on_cpu(1), Some(OnCpu { pid: 5, since: 1 }));
        assert_eq!(r.on_cpu(0), None);
        assert_eq!(r.apply(&sw), Some(OnCpu { pid: 5, since: 1 }));
    }
}
