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
//!     after it starts; every event lies in the window (or within the
//!     record's `skew_ns` after its end: a CPU whose clock ran ahead of the
//!     freeze); each CPU names every task it
//!     mentions before it mentions it (a snapshot names its tasks itself,
//!     whatever was overwritten); nothing is lost;
//! 11. every event obeys a filter the stream states for its time: the
//!     first one stated (a snapshot's record, else the first filter record)
//!     from the start, each later one from [`FILTER_SKEW_NS`] before its
//!     record's time (other CPUs' clocks); each until the next change takes
//!     effect (before the record after it, and [`FILTER_EFFECT_NS`] after
//!     its own record), plus [`FILTER_SKEW_NS`]: its type is in the
//!     filter's event mask and, for a TGID filter, when the processes of
//!     every task it names are known (named earlier in its batch; the idle
//!     task's is 0), one of them is listed;
//! 12. the fixed fields hold their values: the header's `clock_id` is 1
//!     and its `clock_name` `local_clock`, the footer's `clock_hz` 10^9;
//!     reserved fields are zero (header, footer, snapshot record), and so
//!     are a snapshot's unused flag bits, its ids past `filter_n` and, when
//!     no trigger took it, its trigger fields; a trigger's wait (run -
//!     wakeup) is above its threshold;
//! 13. event fields are in range: `prev_state` at most 9, CPU arguments
//!     (`target_cpu`, `orig_cpu`, `dest_cpu`) below the header's CPU count,
//!     no task record names PID 0 or holds a NUL byte in its name, and a
//!     filter (record or snapshot) has a
//!     known kind, `n` ids as its kind needs (none: 0; PIDs or TGIDs: 1 to
//!     8; cgroup: exactly 1) and a nonempty event mask of types 1 to 7.

use std::io::Read;

use serde::Serialize;

use std::collections::HashSet;

use std::collections::HashMap;

use crate::format::decode::Event;
use crate::format::{
    Snapshot, CLOCK_LOCAL, EVENTS_ALL, EV_COMM, EV_FILTER, EV_TASK, FILTER_CGROUP, FILTER_IDS_MAX,
    FILTER_NONE, FILTER_TGID, SNAP_F_TRIGGERED, STATE_PREEMPTED,
};
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
    /// A snapshot's clock skew seen at its freeze (ns).
    pub skew_ns: Option<u32>,
    /// Rules broken, in stream order (at most [`MAX_VIOLATIONS`]).
    pub violations: Vec<Violation>,
}

/// Violations kept before validation stops.
pub const MAX_VIOLATIONS: usize = 50;

/// How far the CPUs' clocks may differ, for rule 11: a filter change may
/// show on another CPU this long before its record's time.
pub const FILTER_SKEW_NS: u64 = 1_000_000;

/// How long after its record a filter change takes effect at most (the
/// module writes the record, then switches one word): rule 11.
pub const FILTER_EFFECT_NS: u64 = 10_000_000;

/// A filter as a filter record or a snapshot record states it.
#[derive(Clone, Copy, Debug)]
struct Stated {
    kind: u8,                   // FILTER_*
    events: u32,                // event mask, bit 1 << type
    ids: [u64; FILTER_IDS_MAX], // its ids, `n` of them
    n: u8,                      // ids used
}

impl Stated {
    /// Rule 13 for a filter: what is wrong with it, if anything.
    fn fault(&self) -> Option<String> {
        let n = usize::from(self.n);
        let ids_ok = match self.kind {
            FILTER_NONE => n == 0,
            FILTER_CGROUP => n == 1,
            FILTER_TGID | crate::format::FILTER_PID => (1..=FILTER_IDS_MAX).contains(&n),
            _ => return Some(format!("a filter of unknown kind {}", self.kind)),
        };
        if !ids_ok {
            return Some(format!("a filter of kind {} with {n} ids", self.kind));
        }
        if self.events == 0 || self.events & !EVENTS_ALL != 0 {
            return Some(format!("a filter with event mask {:#x}", self.events));
        }
        None
    }

    /// Whether an event of type `ty` passes this filter (`None`: any
    /// type), and one whose tasks belong to the processes `tgids`
    /// (`None`: some unknown), as far as the stream can tell.
    fn passes(&self, ty: Option<u8>, tgids: Option<&[u32]>) -> bool {
        if ty.is_some_and(|ty| self.events & (1 << ty) == 0) {
            return false;
        }
        match (self.kind, tgids) {
            (FILTER_TGID, Some(t)) => t
                .iter()
                .any(|&g| self.ids[..usize::from(self.n)].contains(&u64::from(g))),
            _ => true,
        }
    }
}

/// What rule 11 needs of one batch: per event type the earliest and latest
/// time, and per set of processes (an event's tasks' TGIDs, when all are
/// known) the same.
struct BatchFacts {
    offset: u64,                          // the batch's offset
    cpu: usize,                           // its CPU
    types: [Option<(u64, u64)>; 8],       // per event type 1..=7: first, last time
    tgids: HashMap<[u32; 2], (u64, u64)>, // per TGID pair: first, last time
}

/// The first and last of the times seen, `t` added.
fn widen(span: Option<(u64, u64)>, t: u64) -> (u64, u64) {
    span.map_or((t, t), |(a, b)| (a.min(t), b.max(t)))
}

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
        if te.ts < snap.window_start
            || te.ts >= snap.window_end.saturating_add(u64::from(snap.skew_ns))
        {
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

/// Rules 11 and 13 for one batch's events: checks their fields, adds
/// their filter records to `stated`, returns what rule 11 checks later.
fn batch_facts(
    s: &mut Summary,
    offset: u64,
    cpu: usize,
    nr_cpus: u32,
    evs: &[crate::stream::TimedEvent],
    stated: &mut Vec<(Option<u64>, Stated)>,
) -> BatchFacts {
    let mut f = BatchFacts {
        offset,
        cpu,
        types: [None; 8],
        tgids: HashMap::new(),
    };
    // The process of each PID named so far in this batch (idle: 0).
    let mut tgid: HashMap<u32, u32> = HashMap::from([(0, 0)]);
    for te in evs {
        let bad_cpu = |c: u32| c >= nr_cpus;
        let fault = match te.ev {
            Event::Switch { prev_state, .. } if prev_state > STATE_PREEMPTED => {
                Some(format!("prev_state {prev_state}"))
            }
            Event::Wakeup { target_cpu, .. } if bad_cpu(target_cpu) => {
                Some(format!("target_cpu {target_cpu}"))
            }
            Event::Migrate {
                orig_cpu, dest_cpu, ..
            } if bad_cpu(orig_cpu) || bad_cpu(dest_cpu) => {
                Some(format!("a migration from CPU {orig_cpu} to {dest_cpu}"))
            }
            Event::Task { pid: 0, .. } => Some("a task record naming PID 0".into()),
            Event::Task { pid, name, len, .. } if name[..usize::from(len)].contains(&0) => {
                Some(format!("PID {pid}'s name holds a NUL byte"))
            }
            _ => None,
        };
        if let Some(what) = fault {
            s.violate(offset, format!("CPU {cpu}: at {}: {what}", te.ts));
        }
        match te.ev {
            Event::Task { pid, tgid: g, .. } => {
                tgid.insert(pid, g);
                continue;
            }
            Event::Filter {
                kind,
                events,
                ids,
                n,
            } => {
                let st = Stated {
                    kind,
                    events,
                    ids,
                    n,
                };
                if let Some(why) = st.fault() {
                    s.violate(offset, format!("CPU {cpu}: at {}: {why}", te.ts));
                }
                stated.push((Some(te.ts), st));
                continue;
            }
            _ => {}
        }
        let ty = te.ev.type_byte();
        let slot = &mut f.types[usize::from(ty) & 7];
        *slot = Some(widen(*slot, te.ts));
        // The processes of its tasks, when all are known.
        let pids = match te.ev {
            Event::Switch {
                prev_pid, next_pid, ..
            } => [prev_pid, next_pid],
            Event::Fork {
                parent_pid,
                child_pid,
            } => [parent_pid, child_pid],
            Event::Wakeup { pid, .. }
            | Event::Exit { pid }
            | Event::Exec { pid, .. }
            | Event::Migrate { pid, .. } => [pid, pid],
            Event::Task { .. } | Event::Filter { .. } => continue,
        };
        if let (Some(&a), Some(&b)) = (tgid.get(&pids[0]), tgid.get(&pids[1])) {
            let key = [a.min(b), a.max(b)];
            let span = f.tgids.get(&key).copied();
            f.tgids.insert(key, widen(span, te.ts));
        }
    }
    f
}

/// Rule 11 at the end: every batch's first and last event of each type,
/// and of each set of processes, obeys a filter stated for its time.
fn filters_obeyed(s: &mut Summary, mut stated: Vec<(Option<u64>, Stated)>, facts: &[BatchFacts]) {
    if stated.is_empty() {
        return;
    }
    // In time order, the first in force from the start.
    stated.sort_by_key(|&(t, _)| t);
    let n = stated.len();
    let from = |j: usize| -> u64 {
        match stated[j].0 {
            _ if j == 0 => 0,
            Some(t) => t.saturating_sub(FILTER_SKEW_NS),
            None => 0,
        }
    };
    let until = |j: usize| -> u64 {
        // The next change's effect: after its record, before the one after.
        let next = stated.get(j + 1).and_then(|&(t, _)| t);
        let after = stated.get(j + 2).and_then(|&(t, _)| t);
        match (next, after) {
            (Some(r1), r2) => r1
                .saturating_add(FILTER_EFFECT_NS)
                .min(r2.unwrap_or(u64::MAX))
                .saturating_add(FILTER_SKEW_NS),
            (None, _) => u64::MAX,
        }
    };
    let ok = |t: u64, ty: Option<u8>, tgids: Option<&[u32]>| {
        (0..n).any(|j| from(j) <= t && t < until(j) && stated[j].1.passes(ty, tgids))
    };
    for f in facts {
        for (ty, span) in f.types.iter().enumerate() {
            let Some((a, b)) = *span else { continue };
            for t in if a == b { vec![a] } else { vec![a, b] } {
                if !ok(t, Some(ty as u8), None) {
                    s.violate(
                        f.offset,
                        format!(
                            "CPU {}: an event of type {ty} at {t}, which the filter stated \
                             for that time leaves out",
                            f.cpu
                        ),
                    );
                }
            }
        }
        for (g, &(a, b)) in &f.tgids {
            for t in if a == b { vec![a] } else { vec![a, b] } {
                if !ok(t, None, Some(&g[..])) {
                    s.violate(
                        f.offset,
                        format!(
                            "CPU {}: an event at {t} of processes {} and {} only, which the \
                             TGID filter stated for that time leaves out",
                            f.cpu, g[0], g[1]
                        ),
                    );
                }
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
    // Rule 11: the filters stated (time, or None from the start) and
    // what each batch holds.
    let mut stated: Vec<(Option<u64>, Stated)> = Vec::new();
    let mut facts: Vec<BatchFacts> = Vec::new();
    // Rule 12: the header.
    if sr.header().clock_id != CLOCK_LOCAL {
        s.violate(
            0,
            format!("header clock_id {} is not 1", sr.header().clock_id),
        );
    }
    if let Some(f) = sr.header_fault() {
        s.violate(0, f);
    }
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
            Record::Snapshot {
                offset,
                snap,
                zero_fault,
            } => {
                if snap.window_end < snap.window_start {
                    s.violate(offset, "snapshot window ends before it starts");
                }
                if let Some(f) = zero_fault {
                    s.violate(offset, f);
                }
                let t = &snap.trigger;
                if snap.flags & SNAP_F_TRIGGERED != 0
                    && t.run_ns
                        .checked_sub(t.wakeup_ns)
                        .is_none_or(|w| w <= t.threshold_ns)
                {
                    s.violate(
                        offset,
                        format!(
                            "the trigger's wait {}..{} is not above its threshold {} ns",
                            t.wakeup_ns, t.run_ns, t.threshold_ns
                        ),
                    );
                }
                let f = Stated {
                    kind: snap.filter_kind,
                    events: snap.filter_events,
                    ids: snap.filter_ids,
                    n: snap.filter_n,
                };
                if let Some(why) = f.fault() {
                    s.violate(offset, format!("the snapshot record states {why}"));
                }
                stated.push((None, f));
                s.snapshot = Some(snap);
                s.window = Some([snap.window_start, snap.window_end]);
                s.overwritten = Some(snap.overwritten);
                s.skew_ns = Some(snap.skew_ns);
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
                        }
                        let f = batch_facts(&mut s, offset, cpu, n as u32, &evs, &mut stated);
                        facts.push(f);
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
                zero_fault,
            } => {
                s.footer = true;
                if let Some(f) = zero_fault {
                    s.violate(offset, f);
                }
                if fixed.clock_hz != 1_000_000_000 {
                    s.violate(
                        offset,
                        format!("footer clock_hz {} is not 10^9", fixed.clock_hz),
                    );
                }
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
    filters_obeyed(&mut s, stated, &facts);
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
            "snapshot: window {:.6} .. {:.6} s ({:.3} ms), {} events overwritten before it{}{}\n",
            snap.window_start as f64 / 1e9,
            snap.window_end as f64 / 1e9,
            snap.window_end.saturating_sub(snap.window_start) as f64 / 1e6,
            snap.overwritten,
            if snap.skew_ns > 0 {
                format!(
                    "; the CPUs' clocks disagreed by up to {} ns at its end: events within \
                     that of the end may be missing (a CPU behind) or past it (a CPU ahead)",
                    snap.skew_ns
                )
            } else {
                String::new()
            },
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
