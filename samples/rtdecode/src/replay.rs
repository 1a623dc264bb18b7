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
use crate::stream::TimedEvent;

/// The task on a CPU, and since when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OnCpu {
    /// Its PID (0: idle).
    pub pid: u32,
    /// Time it was switched in.
    pub since: u64,
}

/// Tasks on CPUs and task names, replayed event by event.
#[derive(Debug, Default)]
pub struct Replay {
    names: HashMap<u32, Vec<u8>>, // each PID's name as last recorded
    on_cpu: Vec<Option<OnCpu>>,   // per CPU, the task switched in last (None before any switch)
}

impl Replay {
    /// An empty replay of a capture of `nr_cpus` CPU ids.
    pub fn new(nr_cpus: usize) -> Self {
        Replay {
            names: HashMap::new(),
            on_cpu: vec![None; nr_cpus],
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
        match te.ev {
            Event::Comm { pid, .. } => {
                if let Some(b) = te.ev.comm_bytes() {
                    self.names.insert(pid, b.to_vec());
                }
            }
            Event::Switch { next_pid, .. } => {
                self.on_cpu[cpu] = Some(OnCpu {
                    pid: next_pid,
                    since: te.ts,
                })
            }
            _ => {}
        }
        before
    }

    /// The name `pid` had as last recorded, if any.
    pub fn name(&self, pid: u32) -> Option<&[u8]> {
        self.names.get(&pid).map(|v| v.as_slice())
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::COMM_MAX;

    fn comm(ts: u64, pid: u32, name: &[u8]) -> TimedEvent {
        let mut n = [0u8; COMM_MAX];
        n[..name.len()].copy_from_slice(name);
        TimedEvent {
            ts,
            cpu: 0,
            seq: 0,
            ev: Event::Comm {
                pid,
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
