//! Replay: the state a capture implies at each of its events.
//!
//! Fed every event of a [`Timeline`](crate::stream::Timeline) in time order,
//! [`Replay`] knows which task runs on each CPU and the name each PID had
//! as last recorded. A name comes only from a task-name record seen before
//! the event; a PID with none is unnamed (`None`), never given a name the
//! stream records later or for another task that reused the PID: a name may
//! be missing, never wrong.

use std::collections::HashMap;

use crate::format::decode::Event;
use crate::stream::TimedEvent;

/// Tasks on CPUs and task names, replayed event by event.
#[derive(Debug, Default)]
pub struct Replay {
    names: HashMap<u32, Vec<u8>>, // each PID's name as last recorded
    running: Vec<u32>,            // per CPU, the PID switched in last (0 before any switch)
}

impl Replay {
    /// An empty replay of a capture of `nr_cpus` CPU ids.
    pub fn new(nr_cpus: usize) -> Self {
        Replay {
            names: HashMap::new(),
            running: vec![0; nr_cpus],
        }
    }

    /// Applies `te`, the next event in time order; returns the PID that was
    /// running on its CPU when it was recorded (before a switch takes effect).
    pub fn apply(&mut self, te: &TimedEvent) -> u32 {
        let cpu = te.cpu as usize;
        if self.running.len() <= cpu {
            self.running.resize(cpu + 1, 0);
        }
        let before = self.running[cpu];
        match te.ev {
            Event::Comm { pid, .. } => {
                if let Some(b) = te.ev.comm_bytes() {
                    self.names.insert(pid, b.to_vec());
                }
            }
            Event::Switch { next_pid, .. } => self.running[cpu] = next_pid,
            _ => {}
        }
        before
    }

    /// The name `pid` had as last recorded, if any.
    pub fn name(&self, pid: u32) -> Option<&[u8]> {
        self.names.get(&pid).map(|v| v.as_slice())
    }

    /// The PID running on `cpu` after the events applied so far.
    pub fn running(&self, cpu: u32) -> u32 {
        self.running.get(cpu as usize).copied().unwrap_or(0)
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
        assert_eq!(r.apply(&sw), 0);
        assert_eq!(r.running(1), 5);
        assert_eq!(r.running(0), 0);
    }
}
