//! `validate`: checks every rule of the format in one streaming pass.
//!
//! Rules (each violation names its byte offset):
//! 1. the header is present, with the right magic, version and length;
//! 2. every record is a batch or the footer, of a possible length;
//! 3. batch CPUs are below the header's CPU count; each CPU's batch
//!    sequence numbers run 0, 1, 2, ... without a gap;
//! 4. every event is well formed and the batch holds exactly `nevents`
//!    events filling its length;
//! 5. timestamps never decrease within a CPU (across its batches too);
//! 6. the footer is present, is the last record, and is followed by EOF;
//! 7. per CPU and in total: events in the stream + lost == written, the
//!    batch count equals the footer's, and the losses the batch headers
//!    report do not exceed the footer's;
//! 8. task records match the version: names alone (EV_COMM) in version 1,
//!    tasks with process and cgroup (EV_TASK) and filters from version 2;
//! 9. a whole stream of version 2 or later states its filter first: some
//!    CPU's batch 0 opens with a filter record (a snapshot states it in its
//!    snapshot record instead);
//! 10. a snapshot (version 3, a snapshot record first): its window ends
//!     after it starts; every event lies in the window; each CPU names every task it
//!     mentions before it mentions it (a snapshot names its tasks itself,
//!     whatever was overwritten); nothing is lost;
//! 11. a snapshot's record states the filter in force at its window's
//!     start: until the stream's first filter record (which is written
//!     before its change takes effect), no event is of a type that
//!     filter's event mask leaves out.

use std::io::Read;

use serde::Serialize;

use std::collections::HashSet;

use crate::format::decode::Event;
use crate::format::{Snapshot, EV_COMM, EV_FILTER, EV_TASK};
use crate::stream::{batch_events, DecodeError, Record, StreamReader};

/// One rule broken.
#[derive(Debug, Serialize, Clone)]
pub struct Violation {
    /// Byte offset of the structure at fault.
    pub offset: u64,
    /// What is wrong.
    pub what: String,
}

/// Per-CPU figures found by validation.
#[derive(Debug, Default, Serialize, Clone)]
pub struct CpuSummary {
    /// Events in the stream.
    pub events: u64,
    /// Batches in the stream.
    pub batches: u64,
    /// Losses reported by batch headers.
    pub lost_in_batches: u64,
    /// sched_switch events.
    pub switches: u64,
    /// Bytes of sched_switch events (type byte and arguments).
    pub switch_bytes: u64,
    /// The footer's `written`.
    pub written: u64,
    /// The footer's `lost`.
    pub lost: u64,
}

/// The result of a validation.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Stream bytes read.
    pub bytes: u64,
    /// CPU count of the header.
    pub nr_cpus: u32,
    /// Events in the stream.
    pub events: u64,
    /// Per-CPU figures.
    pub cpus: Vec<CpuSummary>,
    /// Whether a footer was found.
    pub footer: bool,
    /// The snapshot record, for a flight recorder's snapshot.
    #[serde(skip)]
    pub snapshot: Option<Snapshot>,
    /// A snapshot's window: start and end (excluded), in ns.
    pub window: Option<[u64; 2]>,
    /// A snapshot's events overwritten before its window.
    pub overwritten: Option<u64>,
    /// Rules broken, in stream order (at most [`MAX_VIOLATIONS`]).
    pub violations: Vec<Violation>,
}

/// Violations kept before validation stops.
pub const MAX_VIOLATIONS: usize = 50;

impl Summary {
    fn violate(&mut self, offset: u64, what: impl Into<String>) {
        if self.violations.len() < MAX_VIOLATIONS {
            self.violations.push(Violation {
                offset,
                what: what.into(),
            });
        }
    }

    /// Whether the stream is valid.
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }
}

fn from_err(s: &mut Summary, e: DecodeError) {
    let msg = match &e.kind {
        crate::stream::ErrorKind::Format(f) => f.to_string(),
        _ => e
            .to_string()
            .split_once(": ")
            .map(|(_, m)| m.to_string())
            .unwrap_or_default(),
    };
    s.violate(e.offset, msg);
}

/// The PIDs an event names (0, the idle tasks, is never named).
fn event_pids(ev: &Event) -> [Option<u32>; 2] {
    let (a, b) = match *ev {
        Event::Switch {
            prev_pid, next_pid, ..
        } => (Some(prev_pid), Some(next_pid)),
        Event::Fork {
            parent_pid,
            child_pid,
        } => (Some(parent_pid), Some(child_pid)),
        Event::Wakeup { pid, .. }
        | Event::Exit { pid }
        | Event::Exec { pid, .. }
        | Event::Migrate { pid, .. } => (Some(pid), None),
        Event::Task { .. } | Event::Filter { .. } => (None, None),
    };
    [a.filter(|&p| p != 0), b.filter(|&p| p != 0)]
}

/// Rule 10 for one batch of a snapshot: its events lie in the window, and
/// its CPU named each task before mentioning it.
fn snapshot_events(
    s: &mut Summary,
    offset: u64,
    cpu: usize,
    snap: &Snapshot,
    evs: &[crate::stream::TimedEvent],
    named: &mut HashSet<u32>,
) {
    for te in evs {
        if te.ts < snap.window_start || te.ts >= snap.window_end {
            s.violate(
                offset,
                format!(
                    "CPU {cpu}: event at {} outside the snapshot window {}..{}",
                    te.ts, snap.window_start, snap.window_end
                ),
            );
        }
        if let Event::Task { pid, .. } = te.ev {
            named.insert(pid);
            continue;
        }
        for pid in event_pids(&te.ev).into_iter().flatten() {
            if !named.contains(&pid) {
                s.violate(
                    offset,
                    format!(
                        "CPU {cpu}: PID {pid} mentioned at {} before this CPU named it",
                        te.ts
                    ),
                );
                named.insert(pid);
            }
        }
    }
}

/// Validates the stream read from `r`.
pub fn validate<R: Read>(r: R) -> Summary {
    let mut s = Summary::default();
    let mut sr = match StreamReader::new(r) {
        Ok(sr) => sr,
        Err(e) => {
            from_err(&mut s, e);
            return s;
        }
    };
    let n = sr.header().nr_cpus as usize;
    let version = sr.header().version;
    s.nr_cpus = n as u32;
    s.cpus = vec![CpuSummary::default(); n];
    let mut next_seq = vec![0u64; n];
    let mut last_ts: Vec<Option<u64>> = vec![None; n];
    let mut states_filter = false;
    // Snapshots: the PIDs each CPU has named so far.
    let mut named: Vec<HashSet<u32>> = vec![HashSet::new(); n];
    // Rule 11: the time of the first filter record, and the earliest
    // event the stated filter leaves out (time, offset, CPU, type).
    let mut first_filter: Option<u64> = None;
    let mut first_excluded: Option<(u64, u64, usize, u8)> = None;
    loop {
        let rec = match sr.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                from_err(&mut s, e);
                break;
            }
        };
        match rec {
            Record::Snapshot { offset, snap } => {
                if snap.window_end < snap.window_start {
                    s.violate(offset, "snapshot window ends before it starts");
                }
                s.snapshot = Some(snap);
                s.window = Some([snap.window_start, snap.window_end]);
                s.overwritten = Some(snap.overwritten);
            }
            Record::Batch {
                offset,
                hdr,
                events,
            } => {
                let cpu = hdr.cpu as usize;
                if hdr.seq != next_seq[cpu] {
                    s.violate(
                        offset,
                        format!(
                            "CPU {}: batch sequence {} where {} was due",
                            cpu, hdr.seq, next_seq[cpu]
                        ),
                    );
                }
                next_seq[cpu] = hdr.seq.wrapping_add(1);
                if hdr.seq == 0 && events.first() == Some(&EV_FILTER) {
                    states_filter = true;
                }
                if let Some(prev) = last_ts[cpu] {
                    if hdr.ts < prev {
                        s.violate(
                            offset,
                            format!(
                                "CPU {cpu}: batch time {} before previous event {prev}",
                                hdr.ts
                            ),
                        );
                    }
                }
                let c = &mut s.cpus[cpu];
                c.batches += 1;
                c.lost_in_batches = c.lost_in_batches.saturating_add(hdr.lost);
                match batch_events(offset, &hdr, &events) {
                    Ok(evs) => {
                        // Records by version: EV_COMM in version 1 only,
                        // EV_TASK and EV_FILTER from version 2 on.
                        let types = event_types(&events);
                        let (v1, v2) = (1u32 << EV_COMM, (1u32 << EV_TASK) | (1u32 << EV_FILTER));
                        if version == 1 && types & v2 != 0 {
                            s.violate(offset, "a task or filter record in a version 1 stream");
                        } else if version >= 2 && types & v1 != 0 {
                            s.violate(offset, "a version 1 task name record in a version 2 stream");
                        }
                        if let Some(snap) = s.snapshot {
                            snapshot_events(&mut s, offset, cpu, &snap, &evs, &mut named[cpu]);
                            for te in &evs {
                                let ty = te.ev.type_byte();
                                if ty == EV_FILTER {
                                    first_filter =
                                        Some(first_filter.map_or(te.ts, |f| f.min(te.ts)));
                                } else if (1..=7).contains(&ty)
                                    && snap.filter_events & (1 << ty) == 0
                                    && first_excluded.is_none_or(|(t, ..)| te.ts < t)
                                {
                                    first_excluded = Some((te.ts, offset, cpu, ty));
                                }
                            }
                        }
                        let c = &mut s.cpus[cpu];
                        c.events += evs.len() as u64;
                        s.events += evs.len() as u64;
                        if let Some(last) = evs.last() {
                            last_ts[cpu] = Some(last.ts);
                        }
                        count_switch_bytes(&events, &mut s.cpus[cpu]);
                    }
                    Err(e) => from_err(&mut s, e),
                }
            }
            Record::Footer {
                offset,
                fixed,
                cpus,
            } => {
                s.footer = true;
                if fixed.nr_cpus as usize != n {
                    s.violate(
                        offset,
                        format!("footer has {} CPUs, header {}", fixed.nr_cpus, n),
                    );
                    continue;
                }
                let (mut written, mut lost) = (0u64, 0u64);
                for (cpu, t) in cpus.iter().enumerate() {
                    s.cpus[cpu].written = t.written;
                    s.cpus[cpu].lost = t.lost;
                    let c = s.cpus[cpu].clone();
                    written = written.saturating_add(t.written);
                    lost = lost.saturating_add(t.lost);
                    if c.events.checked_add(t.lost) != Some(t.written) {
                        s.violate(
                            offset,
                            format!(
                                "CPU {cpu}: {} events in the stream + {} lost != {} written",
                                c.events, t.lost, t.written
                            ),
                        );
                    }
                    if c.batches != t.batches {
                        let b = c.batches;
                        s.violate(
                            offset,
                            format!(
                                "CPU {cpu}: {b} batches in the stream, footer says {}",
                                t.batches
                            ),
                        );
                    }
                    if c.lost_in_batches > t.lost {
                        let l = c.lost_in_batches;
                        s.violate(
                            offset,
                            format!("CPU {cpu}: batches report {l} lost, footer only {}", t.lost),
                        );
                    }
                }
                if written != fixed.written || lost != fixed.lost {
                    s.violate(offset, "footer totals differ from the sum of its CPUs");
                }
                if s.snapshot.is_some() && lost != 0 {
                    s.violate(offset, format!("a snapshot that lost {lost} events"));
                }
                if version >= 2 && !states_filter && s.snapshot.is_none() {
                    s.violate(offset, "no CPU's first batch opens with the filter record");
                }
            }
        }
        if s.violations.len() >= MAX_VIOLATIONS {
            break;
        }
    }
    if let (Some(snap), Some((ts, offset, cpu, ty))) = (s.snapshot, first_excluded) {
        if first_filter.is_none_or(|f| ts < f) {
            s.violate(
                offset,
                format!(
                    "CPU {cpu}: an event of type {ty} at {ts}, which the snapshot's stated \
                     filter (events {:#x}) leaves out, before any filter record",
                    snap.filter_events
                ),
            );
        }
    }
    s.bytes = sr.offset();
    s
}

/// Text rendering of a validation of `name`: a summary line, the
/// sched_switch size, every violation, then `valid` or `INVALID`.
pub fn render(s: &Summary, name: &str) -> String {
    let lost = s.cpus.iter().fold(0u64, |a, c| a.saturating_add(c.lost));
    let sw: u64 = s.cpus.iter().map(|c| c.switches).sum();
    let swb: u64 = s.cpus.iter().map(|c| c.switch_bytes).sum();
    let mut o = format!(
        "{name}: {} bytes, {} CPUs, {} events, {} lost, footer {}\n",
        s.bytes,
        s.nr_cpus,
        s.events,
        lost,
        if s.footer { "present" } else { "MISSING" }
    );
    if let Some(snap) = &s.snapshot {
        o += &format!(
            "snapshot: window {:.6} .. {:.6} s ({:.3} ms), {} events overwritten before it{}\n",
            snap.window_start as f64 / 1e9,
            snap.window_end as f64 / 1e9,
            snap.window_end.saturating_sub(snap.window_start) as f64 / 1e6,
            snap.overwritten,
            if snap.flags & crate::format::SNAP_F_TRIGGERED != 0 {
                format!(
                    "; taken by a trigger: PID {} waited {:.3} ms",
                    snap.trigger.pid,
                    snap.trigger.run_ns.saturating_sub(snap.trigger.wakeup_ns) as f64 / 1e6
                )
            } else {
                String::new()
            }
        );
    }
    if sw > 0 {
        o += &format!(
            "sched_switch: {sw} events, {:.2} bytes each\n",
            swb as f64 / sw as f64
        );
    }
    for v in &s.violations {
        o += &format!("VIOLATION at byte {}: {}\n", v.offset, v.what);
    }
    o += if s.ok() { "valid\n" } else { "INVALID\n" };
    o
}

/// The event types a batch's events hold, bit `1 << type` each.
fn event_types(events: &[u8]) -> u32 {
    let mut cur = crate::format::decode::Cursor::new(events);
    let mut types = 0u32;
    while !cur.at_end() {
        let ty = events[cur.pos()];
        if cur.next_event().is_err() {
            break;
        }
        types |= 1u32.checked_shl(u32::from(ty)).unwrap_or(0);
    }
    types
}

/// Adds the sched_switch events of a batch and their bytes to `c`.
fn count_switch_bytes(events: &[u8], c: &mut CpuSummary) {
    let mut cur = crate::format::decode::Cursor::new(events);
    while !cur.at_end() {
        let start = cur.pos();
        match cur.next_event() {
            Ok((_, Event::Switch { .. })) => {
                c.switches += 1;
                c.switch_bytes += (cur.pos() - start) as u64;
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}
