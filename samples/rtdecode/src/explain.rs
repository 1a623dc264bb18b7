//! `explain`: why a task that was woken did not run at once.
//!
//! For one wait of one task (a snapshot's trigger, or a `--pid` and time)
//! it answers what people hunting scheduling delays ask first:
//!
//! ```text
//!   woken  (sched_waking: the trigger's; else the wakeup itself)
//!     |  delivery: the wakeup on its way to the CPU's runqueue
//!   queued (sched_wakeup on CPU q)
//!     |  on CPU q: every task that ran there meanwhile, with how long;
//!     |  a migration moves the wait to another CPU
//!   ran    (sched_switch in, on CPU r)
//! ```
//!
//! The time from queued to ran is split by what each CPU the task was
//! queued on did meanwhile: the tasks that ran there, idle, or unknown
//! (before the capture's first event on that CPU). The waker is the task
//! that was running where the wakeup happened; a wakeup from interrupt
//! context (a timer, a device) shows the task it interrupted, which the
//! trigger says.

use std::collections::HashMap;
use std::io::{Read, Seek};

use serde::Serialize;

use crate::format::decode::Event;
use crate::format::{TRIGGER_F_IRQ, TRIGGER_F_SOFTIRQ};
use crate::replay::Replay;
use crate::stream::{DecodeError, Timeline};

/// Which wait to explain.
#[derive(Clone, Copy, Debug, Default)]
pub struct Target {
    /// The task; `None`: the snapshot's trigger.
    pub pid: Option<u32>,
    /// A time (ns, absolute) inside the wait, or before its wakeup: the
    /// first wait of the task that ends after it. `None`: its longest.
    pub at: Option<u64>,
}

/// A task that ran on a CPU the waiting task was queued on.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Runner {
    /// Its PID (0: idle).
    pub pid: u32,
    /// Its name, as recorded.
    pub name: String,
    /// Its process, 0 if not recorded.
    pub tgid: u32,
    /// Time it ran while the task waited (ns).
    pub ns: u64,
    /// Times it was switched in, or was running when the wait began.
    pub slices: u32,
}

/// A migration of the waiting task.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Move {
    /// When.
    pub ts: u64,
    /// From CPU.
    pub from: u32,
    /// To CPU.
    pub to: u32,
}

/// The answer.
#[derive(Clone, Debug, Serialize, Default)]
pub struct Explanation {
    /// The task that waited.
    pub pid: u32,
    /// Its name.
    pub name: String,
    /// Its process, 0 if not recorded.
    pub tgid: u32,
    /// The capture's start (times below are absolute; the text shows them
    /// relative to it).
    pub start_ns: u64,
    /// When it was woken (`sched_waking` for a trigger, else the wakeup).
    pub woken_ns: u64,
    /// When it was queued (its `sched_wakeup`), if the capture has it.
    pub queued_ns: Option<u64>,
    /// The CPU it was queued on, if known.
    pub queued_cpu: Option<u32>,
    /// When it ran.
    pub ran_ns: u64,
    /// The CPU it ran on.
    pub ran_cpu: u32,
    /// From woken to ran (ns).
    pub waited_ns: u64,
    /// The trigger's threshold, when a trigger took the snapshot.
    pub threshold_ns: Option<u64>,
    /// The waker (the task running where it was woken), if known.
    pub waker: Option<u32>,
    /// Its name.
    pub waker_name: Option<String>,
    /// The CPU the wakeup ran on, if known.
    pub waker_cpu: Option<u32>,
    /// Woken from hard IRQ context (known for a trigger only).
    pub from_hardirq: Option<bool>,
    /// Woken from a softirq (known for a trigger only).
    pub from_softirq: Option<bool>,
    /// Woken to queued (ns): the wakeup on its way.
    pub delivery_ns: u64,
    /// What ran on the CPUs it was queued on, longest first.
    pub runners: Vec<Runner>,
    /// Of the wait after queued: time those CPUs were idle (ns).
    pub idle_ns: u64,
    /// Of the wait after queued: time not covered by the capture (ns).
    pub unknown_ns: u64,
    /// Its migrations while it waited.
    pub migrations: Vec<Move>,
}

/// Why [`explain`] found nothing to explain.
#[derive(Debug)]
pub enum ExplainError {
    /// Reading the capture failed.
    Decode(DecodeError),
    /// No `--pid` and the capture is no triggered snapshot.
    NoTrigger,
    /// The task has no wait (wakeup then run) in the capture.
    NoWait(u32),
}

impl From<DecodeError> for ExplainError {
    fn from(e: DecodeError) -> Self {
        ExplainError::Decode(e)
    }
}

impl std::fmt::Display for ExplainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExplainError::Decode(e) => write!(f, "{e}"),
            ExplainError::NoTrigger => write!(
                f,
                "the capture is not a snapshot a trigger took: give --pid (and --at)"
            ),
            ExplainError::NoWait(p) => {
                write!(f, "PID {p} was not woken and then run within the capture")
            }
        }
    }
}

impl std::error::Error for ExplainError {}

/// The wait [`explain`] looks at.
#[derive(Clone, Copy, Debug)]
struct Wait {
    pid: u32,
    woken: u64,
    ran: u64,
    ran_cpu: u32,
}

/// Finds the wait of `pid` the target asks for: from a wakeup that starts
/// a wait to the next switch in.
///
/// The kernel traces `sched_wakeup` for a task still on its runqueue too
/// (running, or preempted and queued: `ttwu_runnable()`); its next switch
/// in ends no wait that wakeup started. So, as for the trigger, a wait
/// starts only at a wakeup of a task the capture shows off every
/// runqueue: switched out asleep (any state but `R` and `R+`), or new (a
/// fork's child, `sched_wakeup_new`). A switch out of the task before its
/// switch in (it was running, unseen) drops the wakeup. A wait whose start
/// the capture does not show is missed, never made up.
fn find_wait<R: Read + Seek>(
    tl: &mut Timeline<R>,
    pid: u32,
    at: Option<u64>,
) -> Result<Option<Wait>, DecodeError> {
    // Whether the capture shows `pid` off every runqueue now.
    let mut asleep = false;
    let mut pending: Option<u64> = None;
    let mut best: Option<Wait> = None;
    tl.for_each(|te| match te.ev {
        Event::Wakeup { pid: p, new, .. } if p == pid => {
            if (asleep || new) && pending.is_none() {
                pending = Some(te.ts);
            }
            asleep = false;
        }
        Event::Fork { child_pid, .. } if child_pid == pid => {
            // A new task (or a reused PID): not queued until woken.
            asleep = true;
            pending = None;
        }
        Event::Exit { pid: p } if p == pid => {
            asleep = false;
            pending = None;
        }
        Event::Switch {
            prev_pid,
            prev_state,
            next_pid,
        } if prev_pid == pid || next_pid == pid => {
            if prev_pid == pid {
                // Running until now: a wakeup meanwhile started no wait.
                pending = None;
                asleep = prev_state != 0 && prev_state != crate::format::STATE_PREEMPTED;
            }
            if next_pid == pid {
                asleep = false;
                if let Some(w) = pending.take() {
                    let cand = Wait {
                        pid,
                        woken: w,
                        ran: te.ts,
                        ran_cpu: te.cpu,
                    };
                    best = match (at, best) {
                        (Some(t), None) if te.ts >= t => Some(cand),
                        (Some(_), b) => b,
                        (None, Some(b)) if b.ran - b.woken >= cand.ran - cand.woken => Some(b),
                        (None, _) => Some(cand),
                    };
                }
            }
        }
        _ => {}
    })?;
    Ok(best)
}

/// Explains one wait of the capture `tl`.
pub fn explain<R: Read + Seek>(
    tl: &mut Timeline<R>,
    target: Target,
) -> Result<Explanation, ExplainError> {
    let trig = tl
        .snapshot()
        .filter(|s| s.flags & crate::format::SNAP_F_TRIGGERED != 0)
        .map(|s| s.trigger);
    let wait = match (target.pid, trig) {
        (Some(p), _) if trig.is_none_or(|t| t.pid != p || target.at.is_some()) => {
            find_wait(tl, p, target.at)?.ok_or(ExplainError::NoWait(p))?
        }
        (_, Some(t)) => Wait {
            pid: t.pid,
            woken: t.wakeup_ns,
            ran: t.run_ns,
            ran_cpu: t.cpu,
        },
        (None, None) => return Err(ExplainError::NoTrigger),
        (Some(p), None) => return Err(ExplainError::NoWait(p)),
    };
    let from_trigger = trig.filter(|t| t.pid == wait.pid && t.wakeup_ns == wait.woken);

    // One pass: the state of every CPU when the wait began, the switches,
    // the wakeup and the migrations during it.
    let nr = tl.header().nr_cpus as usize;
    let start_ns = tl.header().start_ns;
    let mut replay = Replay::new(nr);
    let mut at_start: Option<Vec<Option<u32>>> = None;
    let mut switches: Vec<(u64, u32, u32)> = Vec::new(); // (ts, cpu, next)
    let mut queued: Option<(u64, u32, Option<u32>, u32)> = None; // ts, target, waker, cpu
    let mut migrations = Vec::new();
    let mut names: HashMap<u32, (String, u32)> = HashMap::new();
    tl.for_each(|te| {
        if te.ts >= wait.woken && at_start.is_none() {
            at_start = Some(
                (0..nr as u32)
                    .map(|c| replay.on_cpu(c).map(|o| o.pid))
                    .collect(),
            );
        }
        let before = replay.apply(te);
        if te.ts < wait.woken || te.ts > wait.ran {
            return;
        }
        match te.ev {
            Event::Switch { next_pid, .. } => {
                switches.push((te.ts, te.cpu, next_pid));
                names.entry(next_pid).or_insert_with(|| {
                    (replay.display(next_pid), replay.tgid(next_pid).unwrap_or(0))
                });
            }
            Event::Wakeup {
                pid, target_cpu, ..
            } if pid == wait.pid && queued.is_none() => {
                queued = Some((te.ts, target_cpu, before.map(|o| o.pid), te.cpu));
            }
            Event::Migrate {
                pid,
                orig_cpu,
                dest_cpu,
            } if pid == wait.pid => migrations.push(Move {
                ts: te.ts,
                from: orig_cpu,
                to: dest_cpu,
            }),
            _ => {}
        }
    })?;
    let at_start = at_start.unwrap_or_else(|| vec![None; nr]);
    let mut name_of = |pid: u32| -> (String, u32) {
        names
            .entry(pid)
            .or_insert_with(|| (replay.display(pid), replay.tgid(pid).unwrap_or(0)))
            .clone()
    };

    let mut e = Explanation {
        pid: wait.pid,
        start_ns,
        woken_ns: wait.woken,
        ran_ns: wait.ran,
        ran_cpu: wait.ran_cpu,
        waited_ns: wait.ran.saturating_sub(wait.woken),
        migrations,
        ..Default::default()
    };
    (e.name, e.tgid) = name_of(wait.pid);
    if let Some(t) = from_trigger {
        e.threshold_ns = Some(t.threshold_ns);
        e.waker = Some(t.waker);
        e.waker_cpu = Some(t.waker_cpu);
        e.from_hardirq = Some(t.flags & TRIGGER_F_IRQ != 0);
        e.from_softirq = Some(t.flags & TRIGGER_F_SOFTIRQ != 0);
    }
    let q_from = match queued {
        Some((ts, cpu, waker, wcpu)) => {
            e.queued_ns = Some(ts);
            e.queued_cpu = Some(cpu);
            if e.waker.is_none() {
                e.waker = waker;
                e.waker_cpu = Some(wcpu);
            }
            ts
        }
        None => wait.woken,
    };
    e.waker_name = e.waker.map(|w| name_of(w).0);
    e.delivery_ns = q_from.saturating_sub(wait.woken);

    // The CPUs it waited on: the queued one, then each migration's.
    let mut segs = Vec::new();
    let mut cpu = e.queued_cpu.unwrap_or(wait.ran_cpu);
    let mut t0 = q_from;
    for m in &e.migrations {
        segs.push((t0, m.ts, cpu));
        (t0, cpu) = (m.ts, m.to);
    }
    segs.push((t0, wait.ran, cpu));
    let mut by_pid: HashMap<u32, (u64, u32)> = HashMap::new();
    for (from, to, c) in segs {
        // Who ran on `c` at `from`: the state when the wait began, then
        // the switches up to `from`.
        let mut cur = at_start.get(c as usize).copied().flatten();
        let mut t = from;
        let mut first = true;
        for &(ts, _, next) in switches.iter().filter(|s| s.1 == c) {
            if ts <= from {
                cur = Some(next);
                continue;
            }
            if ts >= to {
                break;
            }
            account(&mut by_pid, &mut e, cur, ts - t, first);
            first = false;
            cur = Some(next);
            t = ts;
        }
        account(&mut by_pid, &mut e, cur, to.saturating_sub(t), first);
    }
    let mut runners: Vec<Runner> = by_pid
        .into_iter()
        .map(|(pid, (ns, slices))| {
            let (name, tgid) = name_of(pid);
            Runner {
                pid,
                name,
                tgid,
                ns,
                slices,
            }
        })
        .collect();
    runners.sort_by(|a, b| b.ns.cmp(&a.ns).then(a.pid.cmp(&b.pid)));
    e.runners = runners;
    Ok(e)
}

/// Adds `ns` of the task `cur` (idle for PID 0, unknown for `None`).
fn account(
    by_pid: &mut HashMap<u32, (u64, u32)>,
    e: &mut Explanation,
    cur: Option<u32>,
    ns: u64,
    first: bool,
) {
    match cur {
        None => e.unknown_ns += ns,
        Some(0) => e.idle_ns += ns,
        Some(p) => {
            let r = by_pid.entry(p).or_insert((0, 0));
            r.0 += ns;
            if first || ns > 0 {
                r.1 += 1;
            }
        }
    }
}

/// Milliseconds with three decimals.
fn ms(ns: u64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
}

impl Explanation {
    /// The time relative to the capture's start, in seconds.
    fn at(&self, ns: u64) -> String {
        format!("{:.6} s", ns.saturating_sub(self.start_ns) as f64 / 1e9)
    }

    /// The share of the wait `ns` is.
    fn share(&self, ns: u64) -> String {
        format!("{:5.1}%", 100.0 * ns as f64 / self.waited_ns.max(1) as f64)
    }

    /// The explanation as text.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let who = |n: &str, pid: u32, tgid: u32| {
            if tgid != 0 && tgid != pid {
                format!("{n}-{pid} (process {tgid})")
            } else {
                format!("{n}-{pid}")
            }
        };
        o += &format!(
            "{} waited {} to run{}\n",
            who(&self.name, self.pid, self.tgid),
            ms(self.waited_ns),
            self.threshold_ns
                .map(|t| format!(" (the trigger's threshold: {})", ms(t)))
                .unwrap_or_default()
        );
        let ctx = match (self.from_hardirq, self.from_softirq) {
            (Some(true), _) => {
                ", from hard IRQ context (the waker shown is the task it interrupted)"
            }
            (_, Some(true)) => ", from a softirq (the waker shown is the task it ran on)",
            (Some(false), Some(false)) => ", from task context",
            _ => "",
        };
        let waker = match (&self.waker_name, self.waker, self.waker_cpu) {
            (Some(n), Some(w), Some(c)) => format!(" by {n} on CPU {c}", n = who(n, w, 0)),
            _ => String::new(),
        };
        o += &format!("  woken   at {}{}{}\n", self.at(self.woken_ns), waker, ctx);
        match (self.queued_ns, self.queued_cpu) {
            (Some(q), Some(c)) => {
                o += &format!(
                    "  queued  at {} on CPU {} ({} after it was woken)\n",
                    self.at(q),
                    c,
                    ms(q.saturating_sub(self.woken_ns))
                )
            }
            _ => o += "  queued  where: not in the capture (its sched_wakeup is missing)\n",
        }
        o += &format!(
            "  ran     at {} on CPU {}\n",
            self.at(self.ran_ns),
            self.ran_cpu
        );
        if self.migrations.is_empty() {
            o += "  migrations while it waited: none\n";
        }
        for m in &self.migrations {
            o += &format!(
                "  migrated at {} from CPU {} to CPU {}\n",
                self.at(m.ts),
                m.from,
                m.to
            );
        }
        o += "  the wait, split:\n";
        if self.delivery_ns > 0 {
            o += &format!(
                "    {:>12}  {}  the wakeup on its way to the runqueue\n",
                ms(self.delivery_ns),
                self.share(self.delivery_ns)
            );
        }
        for r in &self.runners {
            o += &format!(
                "    {:>12}  {}  {} ran ({} slice{})\n",
                ms(r.ns),
                self.share(r.ns),
                who(&r.name, r.pid, r.tgid),
                r.slices,
                if r.slices == 1 { "" } else { "s" }
            );
        }
        if self.idle_ns > 0 {
            o += &format!(
                "    {:>12}  {}  the CPU was idle\n",
                ms(self.idle_ns),
                self.share(self.idle_ns)
            );
        }
        if self.unknown_ns > 0 {
            o += &format!(
                "    {:>12}  {}  unknown (before the capture's first event on that CPU)\n",
                ms(self.unknown_ns),
                self.share(self.unknown_ns)
            );
        }
        o
    }
}
