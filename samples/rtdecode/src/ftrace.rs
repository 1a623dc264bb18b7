//! `ftrace-diff`: a capture checked event by event against ftrace.
//!
//! ftrace attached to the same tracepoints in the same boot, with a buffer
//! large enough to lose nothing and its clock set to `perf` (the kernel's
//! `local_clock()`, the clock of rust_trace's timestamps), is an oracle
//! nobody here wrote. [`parse`] reads its text output (the `trace` file);
//! [`diff`] lines the capture up with it, CPU by CPU, batch by batch:
//!
//! ```text
//!   ftrace  CPU 1:  A  B  C  D  E  F  G  H          (task_rename left aside)
//!   capture CPU 1: [A  B  C]       [F  G  H]        batch 8 says "lost 2"
//!                   batch 7   `--'  batch 8
//!                        missing D, E: in batch 8's loss gap, at most 2: explained
//! ```
//!
//! A CPU records its events in batches, in order, and loses events only
//! between two batches (the later one reports how many), never inside one.
//! So each batch is a contiguous run of ftrace's events on that CPU: it is
//! placed where its events pair with ftrace's one for one (same type and
//! arguments: PIDs, state, CPUs), at the offset whose times agree best (the
//! two tracers read the same clock, microseconds apart, unless the host
//! preempted the vCPU in between). Up to [`REORDER`] neighbours may swap:
//! an interrupt between ftrace's probe and rust_trace's on a tracepoint
//! that runs with IRQs on (fork, exit, exec) records its events in between.
//!
//! - An event of the capture with no pair is *extra*: the capture holds
//!   something that did not happen.
//! - A ftrace event with no pair is *missing*. It is explained only in the
//!   gap before a batch, and only as many as that batch reports lost (or
//!   after the last batch, as many as only the footer reports).
//! - For every pair, each PID's name in the capture (what [`Replay`] knows
//!   at that event) is compared with the comm ftrace read from the task at
//!   that event: a different name is *wrong*, none is *unnamed*.
//!
//! Only events inside the window are judged: from the `task_rename` to the
//! begin mark to the one to the end mark (or a snapshot's stated window, or
//! the capture's whole span), less
//! `margin_ns` at each edge, where the two tracers were not both attached,
//! and a snapshot's stated clock skew (`skew_ns`) before its end, where a
//! CPU may miss events or hold some past it.
//! ftrace's own `[LOST n EVENTS]` lines void the comparison.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Read, Seek};

use regex::Regex;
use serde::Serialize;

use crate::format::decode::Event;
use crate::format::{EVENTS_ALL, STATE_CHARS, STATE_PREEMPTED, TASK_NAME_MAX};
use crate::replay::Replay;
use crate::stream::{DecodeError, Timeline};

/// One ftrace event of the sched and task_rename kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FtraceEvent {
    /// CPU that recorded it.
    pub cpu: u32,
    /// Time in nanoseconds (microsecond resolution in ftrace's text).
    pub ts: u64,
    /// The event in rust_trace's terms; a rename is an [`Event::Task`] with
    /// the new name.
    pub ev: Event,
    /// The comm ftrace recorded for each PID the event names.
    pub comms: Vec<(u32, String)>,
}

/// What [`parse`] found.
#[derive(Clone, Debug, Default)]
pub struct FtraceTrace {
    /// The events, in file order (time order, CPUs merged).
    pub events: Vec<FtraceEvent>,
    /// Events ftrace itself reported lost (`[LOST n EVENTS]` lines).
    pub lost: u64,
}

/// Regular expressions for the lines of ftrace's text output.
struct Patterns {
    line: Regex,
    lost: Regex,
    switch: Regex,
    wakeup: Regex,
    fork: Regex,
    exit: Regex,
    exec: Regex,
    migrate: Regex,
    rename: Regex,
}

impl Patterns {
    fn new() -> Self {
        let re = |s: &str| Regex::new(s).expect("constant pattern");
        Patterns {
            // "  comm-pid  (tgid) [cpu] flags  secs.usecs: event: args"
            line: re(
                r"^\s*.*-\d+\s+(?:\(\s*[\d-]+\)\s+)?\[(\d+)\]\s+(?:\S+\s+)?(\d+)\.(\d+):\s+(\w+):\s+(.*)$",
            ),
            lost: re(r"^CPU:(\d+) \[LOST (\d+) EVENTS\]"),
            switch: re(
                r"^prev_comm=(.*) prev_pid=(\d+) prev_prio=-?\d+ prev_state=(\S+) ==> next_comm=(.*) next_pid=(\d+) next_prio=-?\d+$",
            ),
            wakeup: re(r"^comm=(.*) pid=(\d+) prio=-?\d+ target_cpu=(\d+)$"),
            fork: re(r"^comm=(.*) pid=(\d+) child_comm=(.*) child_pid=(\d+)$"),
            exit: re(r"^comm=(.*) pid=(\d+) prio=-?\d+$"),
            exec: re(r"^filename=(.*) pid=(\d+) old_pid=(\d+)$"),
            migrate: re(r"^comm=(.*) pid=(\d+) prio=-?\d+ orig_cpu=(\d+) dest_cpu=(\d+)$"),
            rename: re(r"^pid=(\d+) oldcomm=(.*) newcomm=(.*) oom_score_adj=-?\d+$"),
        }
    }
}

/// The state index of ftrace's `prev_state` text (`R`, `S`, ..., `R+`).
fn state_index(s: &str) -> Option<u32> {
    if s == "R+" {
        return Some(STATE_PREEMPTED);
    }
    let b = s.as_bytes();
    if b.len() != 1 {
        return None;
    }
    STATE_CHARS
        .iter()
        .position(|&c| c == b[0])
        .map(|i| i as u32)
}

fn comm_event(pid: u32, name: &str) -> Event {
    let mut n = [0u8; TASK_NAME_MAX];
    let b = name.as_bytes();
    let len = b.len().min(TASK_NAME_MAX);
    n[..len].copy_from_slice(&b[..len]);
    Event::Task {
        pid,
        tgid: 0,
        cgroup: 0,
        name: n,
        len: len as u8,
    }
}

/// Parses one event's arguments; `None` for events this tool ignores.
fn parse_args(p: &Patterns, name: &str, args: &str) -> Option<(Event, Vec<(u32, String)>)> {
    let num = |s: &str| s.parse::<u32>().ok();
    match name {
        "sched_switch" => {
            let c = p.switch.captures(args)?;
            let (prev, next) = (num(&c[2])?, num(&c[5])?);
            Some((
                Event::Switch {
                    prev_pid: prev,
                    prev_state: state_index(&c[3])?,
                    next_pid: next,
                },
                vec![(prev, c[1].to_string()), (next, c[4].to_string())],
            ))
        }
        "sched_wakeup" | "sched_wakeup_new" => {
            let c = p.wakeup.captures(args)?;
            let pid = num(&c[2])?;
            Some((
                Event::Wakeup {
                    new: name == "sched_wakeup_new",
                    pid,
                    target_cpu: num(&c[3])?,
                },
                vec![(pid, c[1].to_string())],
            ))
        }
        "sched_process_fork" => {
            let c = p.fork.captures(args)?;
            let (parent, child) = (num(&c[2])?, num(&c[4])?);
            Some((
                Event::Fork {
                    parent_pid: parent,
                    child_pid: child,
                },
                vec![(parent, c[1].to_string()), (child, c[3].to_string())],
            ))
        }
        "sched_process_exit" => {
            let c = p.exit.captures(args)?;
            let pid = num(&c[2])?;
            Some((Event::Exit { pid }, vec![(pid, c[1].to_string())]))
        }
        "sched_process_exec" => {
            let c = p.exec.captures(args)?;
            Some((
                Event::Exec {
                    pid: num(&c[2])?,
                    old_pid: num(&c[3])?,
                },
                Vec::new(),
            ))
        }
        "sched_migrate_task" => {
            let c = p.migrate.captures(args)?;
            let pid = num(&c[2])?;
            Some((
                Event::Migrate {
                    pid,
                    orig_cpu: num(&c[3])?,
                    dest_cpu: num(&c[4])?,
                },
                vec![(pid, c[1].to_string())],
            ))
        }
        "task_rename" => {
            let c = p.rename.captures(args)?;
            let pid = num(&c[1])?;
            Some((comm_event(pid, &c[3]), Vec::new()))
        }
        _ => None,
    }
}

/// Reads ftrace's text output (`/sys/kernel/tracing/trace`). Lines of other
/// events are skipped; a sched line that does not parse is an error.
pub fn parse<R: BufRead>(r: R) -> anyhow::Result<FtraceTrace> {
    let p = Patterns::new();
    let mut t = FtraceTrace::default();
    for (i, line) in r.lines().enumerate() {
        let line = line?;
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(c) = p.lost.captures(&line) {
            t.lost = t
                .lost
                .saturating_add(c[2].parse::<u64>().unwrap_or(u64::MAX));
            continue;
        }
        let Some(c) = p.line.captures(&line) else {
            continue;
        };
        let cpu: u32 = c[1].parse()?;
        let secs: u64 = c[2].parse()?;
        let frac = &c[3];
        let scale = 10u64.pow(9u32.saturating_sub(frac.len() as u32));
        let ts = secs * 1_000_000_000 + frac.parse::<u64>()? * scale;
        let name = &c[4];
        match parse_args(&p, name, &c[5]) {
            Some((ev, comms)) => t.events.push(FtraceEvent { cpu, ts, ev, comms }),
            None if name.starts_with("sched_") || name == "task_rename" => {
                let known = [
                    "sched_switch",
                    "sched_wakeup",
                    "sched_wakeup_new",
                    "sched_process_fork",
                    "sched_process_exit",
                    "sched_process_exec",
                    "sched_migrate_task",
                    "task_rename",
                ];
                if known.contains(&name) {
                    anyhow::bail!("line {}: cannot parse {name}: {line}", i + 1);
                }
            }
            None => {}
        }
    }
    Ok(t)
}

/// The filter a capture was taken under, applied to ftrace's (unfiltered)
/// events so that the comparison expects exactly what the filter lets
/// through: an event passes when its type is in `events` and, with a task
/// set, a task it names is in the set (`sched_switch` prev or next, fork
/// parent or child, the others their one task), the module's rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The tasks that pass; `None` for every task.
    pub pids: Option<HashSet<u32>>,
    /// Forks change the set as `filter pid` does: the child of a task in
    /// the set joins it, any other child leaves it.
    pub follow_forks: bool,
    /// Event types kept: bit `1 << type`.
    pub events: u32,
}

impl Default for Rule {
    fn default() -> Self {
        Rule {
            pids: None,
            follow_forks: false,
            events: EVENTS_ALL,
        }
    }
}

impl Rule {
    /// Whether `ev` passes, updating the set on a fork (events in time order).
    fn passes(&mut self, ev: &Event) -> bool {
        let ty = ev.type_byte();
        let pids = match &mut self.pids {
            None => return self.events & (1 << ty) != 0,
            Some(p) => p,
        };
        let pass = match *ev {
            Event::Fork {
                parent_pid,
                child_pid,
            } => {
                let parent = pids.contains(&parent_pid);
                if self.follow_forks {
                    if parent {
                        pids.insert(child_pid);
                    } else {
                        pids.remove(&child_pid);
                    }
                }
                parent || pids.contains(&child_pid)
            }
            // The task after exec (ftrace prints no comm for it).
            Event::Exec { pid, .. } => pids.contains(&pid),
            _ => pids_of(ev).iter().any(|p| pids.contains(p)),
        };
        pass && self.events & (1 << ty) != 0
    }
}

/// How [`diff`] judges.
#[derive(Clone, Debug)]
pub struct Options {
    /// The comm a task renames itself to at the start of the window.
    pub begin_mark: Option<String>,
    /// The comm a task renames itself to at the end of the window.
    pub end_mark: Option<String>,
    /// Events this close to a window edge are not judged.
    pub margin_ns: u64,
    /// Largest time difference between a batch's first event and its
    /// ftrace pair.
    pub tolerance_ns: u64,
    /// The capture's filter, if it had one.
    pub rule: Option<Rule>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            begin_mark: None,
            end_mark: None,
            margin_ns: 1_000_000,
            tolerance_ns: 200_000_000,
            rule: None,
        }
    }
}

/// How far before the last pair an event may be found in ftrace's order.
pub const REORDER: usize = 8;

/// Start positions tried for one batch, the nearest in time first.
const MAX_STARTS: usize = 64;

/// The comparison on one CPU, inside the window.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CpuDiff {
    /// CPU id.
    pub cpu: u32,
    /// Events of the capture paired with ftrace's.
    pub matched: u64,
    /// Events of the capture ftrace does not have.
    pub extra: u64,
    /// ftrace events the capture does not have.
    pub missing: u64,
    /// Of those, how many no reported loss explains.
    pub missing_unexplained: u64,
    /// Events the capture's batches report lost in the window.
    pub lost: u64,
    /// Names compared (PID 0 excluded).
    pub names_checked: u64,
    /// Names that differ from ftrace's comm.
    pub names_wrong: u64,
    /// PIDs the capture had no name for.
    pub names_missing: u64,
}

impl CpuDiff {
    fn add(&mut self, c: &CpuDiff) {
        self.matched += c.matched;
        self.extra += c.extra;
        self.missing += c.missing;
        self.missing_unexplained += c.missing_unexplained;
        self.lost += c.lost;
        self.names_checked += c.names_checked;
        self.names_wrong += c.names_wrong;
        self.names_missing += c.names_missing;
    }
}

/// The result of [`diff`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct Diff {
    /// Start of the judged window (ns, after the margin).
    pub window_start_ns: u64,
    /// End of the judged window (ns, before the margin).
    pub window_end_ns: u64,
    /// Per CPU.
    pub cpus: Vec<CpuDiff>,
    /// Sums over the CPUs.
    pub total: CpuDiff,
    /// Events ftrace reported lost (the comparison is void if any).
    pub ftrace_lost: u64,
    /// `task_rename` events ftrace saw in the window.
    pub renames: u64,
    /// Forks in the window whose child PID had been a child before
    /// (PID reuse), in ftrace's events.
    pub pid_reuses: u64,
    /// ftrace events in the window the filter ([`Options::rule`]) leaves out.
    pub filtered_out: u64,
    /// The first problems found, for people.
    pub problems: Vec<String>,
}

/// Problems listed in [`Diff::problems`] at most.
const MAX_PROBLEMS: usize = 30;

impl Diff {
    /// Whether the capture holds exactly ftrace's events with right names,
    /// less what it reported lost.
    pub fn ok(&self) -> bool {
        self.ftrace_lost == 0
            && self.total.extra == 0
            && self.total.missing_unexplained == 0
            && self.total.names_wrong == 0
    }

    fn problem(&mut self, s: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(s);
        }
    }

    /// Text rendering.
    pub fn render(&self) -> String {
        let mut o = format!(
            "window {:.6} .. {:.6} s; ftrace lost {}; renames {}; PID reuses {}; \
             filtered out {}\n\
             CPU  matched    extra  missing  unexpl.     lost    names    wrong  unnamed\n",
            self.window_start_ns as f64 / 1e9,
            self.window_end_ns as f64 / 1e9,
            self.ftrace_lost,
            self.renames,
            self.pid_reuses,
            self.filtered_out
        );
        let row = |name: String, c: &CpuDiff| {
            format!(
                "{name:>3} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}\n",
                c.matched,
                c.extra,
                c.missing,
                c.missing_unexplained,
                c.lost,
                c.names_checked,
                c.names_wrong,
                c.names_missing
            )
        };
        for c in &self.cpus {
            o += &row(c.cpu.to_string(), c);
        }
        o += &row("all".into(), &self.total);
        for p in &self.problems {
            o += &format!("PROBLEM: {p}\n");
        }
        o += if self.ok() {
            "ftrace-diff: same events, no wrong name\n"
        } else {
            "ftrace-diff: DIFFERENT\n"
        };
        o
    }
}

/// An event of the capture, as [`diff`] keeps it.
struct Ours {
    ts: u64,                            // time
    ev: Event,                          // the event
    names: Vec<(u32, Option<Vec<u8>>)>, // each PID it names, with its name then
}

/// The PIDs an event names, as ftrace's comms list them.
fn pids_of(ev: &Event) -> Vec<u32> {
    match *ev {
        Event::Switch {
            prev_pid, next_pid, ..
        } => vec![prev_pid, next_pid],
        Event::Wakeup { pid, .. } | Event::Exit { pid } | Event::Migrate { pid, .. } => vec![pid],
        Event::Fork {
            parent_pid,
            child_pid,
        } => vec![parent_pid, child_pid],
        Event::Exec { .. } | Event::Task { .. } | Event::Filter { .. } => Vec::new(),
    }
}

/// The event as [`diff`] pairs it: a switch's state `X` (dead) and `Z`
/// (zombie) are one, because a task's last switch reads `exit_state`, which
/// its parent may change from zombie to dead on another CPU between
/// ftrace's probe and rust_trace's.
fn key(ev: &Event) -> Event {
    match *ev {
        Event::Switch {
            prev_pid,
            prev_state: 6,
            next_pid,
        } => Event::Switch {
            prev_pid,
            prev_state: 5,
            next_pid,
        },
        e => e,
    }
}

/// How far past the last pair a batch's next event is looked for in
/// ftrace's events (holes wider than this are not followed).
const SEARCH: usize = 4096;

/// Where one batch lies in ftrace's events of its CPU.
struct Placement {
    pairs: Vec<Option<usize>>, // per event of the batch, its position in ftrace's list
    first: usize,              // first position paired
    end: usize,                // one past the last position paired
    misses: usize,             // events unpaired, and ftrace events skipped inside the run
    skew: u64,                 // median time difference of the pairs
}

/// Pairs the events `evs` of one batch with ftrace's list `fl` (times and
/// keys) from position `start`, none before `lower`. Each event pairs with
/// the first free equal one after the last pair, or with a free equal one
/// up to [`REORDER`] places before it when that one is nearer in time (an
/// interrupt swapped them); ftrace events left behind are misses, like
/// events without a pair.
fn place(
    evs: &[Ours],
    fl: &[(u64, Event)],
    used: &[bool],
    lower: usize,
    start: usize,
) -> Placement {
    let mut taken: HashSet<usize> = HashSet::new();
    let mut pairs = Vec::with_capacity(evs.len());
    let mut unpaired = 0;
    let mut last: Option<usize> = None;
    for o in evs {
        let k = key(&o.ev);
        let free = |j: &usize| !used[*j] && !taken.contains(j) && fl[*j].1 == k;
        let next = last.map_or(start, |l| l + 1);
        let ahead = (next..fl.len().min(next + SEARCH)).find(free);
        let back = last.and_then(|l| {
            (l.saturating_sub(REORDER).max(lower)..l)
                .filter(free)
                .min_by_key(|&j| fl[j].0.abs_diff(o.ts))
        });
        let found = match (ahead, back) {
            (Some(a), Some(b)) if fl[b].0.abs_diff(o.ts) < fl[a].0.abs_diff(o.ts) => Some(b),
            (None, b) => b,
            (a, _) => a,
        };
        match found {
            Some(j) => {
                taken.insert(j);
                pairs.push(Some(j));
                last = Some(last.map_or(j, |l| l.max(j)));
            }
            None => {
                unpaired += 1;
                pairs.push(None);
            }
        }
    }
    let first = taken.iter().copied().min().unwrap_or(start);
    let end = taken.iter().copied().max().map_or(start, |m| m + 1);
    let skipped = (first..end)
        .filter(|j| !used[*j] && !taken.contains(j))
        .count();
    let mut skews: Vec<u64> = evs
        .iter()
        .zip(&pairs)
        .filter_map(|(o, p)| p.map(|j| o.ts.abs_diff(fl[j].0)))
        .collect();
    skews.sort_unstable();
    Placement {
        pairs,
        first,
        end,
        misses: unpaired + skipped,
        skew: skews.get(skews.len() / 2).copied().unwrap_or(u64::MAX),
    }
}

/// Compares the capture `tl` with ftrace's `ft`.
pub fn diff<R: Read + Seek>(
    tl: &mut Timeline<R>,
    ft: &FtraceTrace,
    opt: &Options,
) -> Result<Diff, DecodeError> {
    let nr = tl.header().nr_cpus as usize;
    let mark = |m: &Option<String>| {
        m.as_ref().and_then(|m| {
            ft.events.iter().find_map(|e| match e.ev {
                Event::Task { .. } if e.ev.comm_bytes() == Some(m.as_bytes()) => Some(e.ts),
                _ => None,
            })
        })
    };
    // Replay the capture: every event with the names it implies, by batch.
    let mut replay = Replay::new(nr);
    let mut ours: HashMap<(u32, u64), Vec<Ours>> = HashMap::new();
    let (mut first_ts, mut last_ts) = (u64::MAX, 0u64);
    tl.for_each(|te| {
        replay.apply(te);
        first_ts = first_ts.min(te.ts);
        last_ts = last_ts.max(te.ts);
        if matches!(te.ev, Event::Task { .. } | Event::Filter { .. }) {
            return;
        }
        let names = pids_of(&te.ev)
            .into_iter()
            .map(|pid| (pid, replay.name(pid).map(|n| n.to_vec())))
            .collect();
        ours.entry((te.cpu, te.seq)).or_default().push(Ours {
            ts: te.ts,
            ev: te.ev,
            names,
        });
    })?;
    // A snapshot states its window: judge all of it, not just the span of
    // its events (a CPU missing the window's first events must show).
    let stated = tl.snapshot().map(|s| (s.window_start, s.window_end));
    let begin = mark(&opt.begin_mark).unwrap_or(stated.map_or(first_ts, |w| w.0));
    let end = mark(&opt.end_mark).unwrap_or(stated.map_or(last_ts, |w| w.1));
    // Nor the end of a snapshot's window within the clock skew its freeze
    // saw: a CPU may miss events there, or hold some past it.
    let skew = tl.snapshot().map_or(0, |s| u64::from(s.skew_ns));
    let (lo, hi) = (
        begin.saturating_add(opt.margin_ns),
        end.saturating_sub(opt.margin_ns.saturating_add(skew)),
    );
    let inside = |t: u64| t >= lo && t <= hi;
    let mut d = Diff {
        window_start_ns: lo,
        window_end_ns: hi,
        ftrace_lost: ft.lost,
        cpus: (0..nr as u32)
            .map(|cpu| CpuDiff {
                cpu,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    if ft.lost > 0 {
        d.problem(format!(
            "ftrace lost {} events: enlarge buffer_size_kb",
            ft.lost
        ));
    }

    // ftrace's events per CPU, in order; renames are judged through names.
    let mut lists: Vec<Vec<(u64, Event, usize)>> = (0..nr).map(|_| Vec::new()).collect();
    let mut children = HashSet::new();
    let mut rule = opt.rule.clone();
    for (i, e) in ft.events.iter().enumerate() {
        if let Event::Task { .. } = e.ev {
            if inside(e.ts) {
                d.renames += 1;
            }
            continue;
        }
        if let Some(r) = &mut rule {
            if !r.passes(&e.ev) {
                if inside(e.ts) {
                    d.filtered_out += 1;
                }
                continue;
            }
        }
        if let Event::Fork { child_pid, .. } = e.ev {
            if !children.insert(child_pid) && inside(e.ts) {
                d.pid_reuses += 1;
            }
        }
        if let Some(l) = lists.get_mut(e.cpu as usize) {
            l.push((e.ts, e.ev, i));
        }
    }
    let trailing: Vec<u64> = match tl.footer() {
        Some((_, per)) => (0..nr)
            .map(|c| {
                let in_batches = tl.lost_in_batches().get(c).copied().unwrap_or(0);
                per.get(c).map_or(0, |t| t.lost.saturating_sub(in_batches))
            })
            .collect(),
        None => vec![0; nr],
    };

    for cpu in 0..nr {
        let fl: Vec<(u64, Event)> = lists[cpu].iter().map(|&(t, e, _)| (t, key(&e))).collect();
        let mut used = vec![false; fl.len()];
        let mut cd = CpuDiff {
            cpu: cpu as u32,
            ..Default::default()
        };
        let mut problems = Vec::new();
        // Position after the last batch placed (None before the first), and
        // the losses reported since. ftrace's events before `checked` are
        // judged; the last [`REORDER`] places of a batch wait for the next
        // one, which may hold one of them (an interrupt between ftrace's
        // probe and ours swaps neighbours across a batch boundary too).
        let mut next: Option<usize> = None;
        let mut checked = 0usize;
        let mut budget = 0u64;
        // Missing ftrace events in fl[from..to], `budget` of them explained.
        let gap = |from: usize,
                   to: usize,
                   budget: u64,
                   used: &[bool],
                   cd: &mut CpuDiff,
                   problems: &mut Vec<String>| {
            let mut left = budget;
            for j in from..to {
                if used[j] || !inside(fl[j].0) {
                    continue;
                }
                cd.missing += 1;
                if left > 0 {
                    left -= 1;
                } else {
                    cd.missing_unexplained += 1;
                    problems.push(format!(
                        "CPU {cpu} at {:.6}: ftrace's {:?} is missing, outside any reported loss",
                        fl[j].0 as f64 / 1e9,
                        fl[j].1
                    ));
                }
            }
        };
        for b in tl.batches(cpu) {
            budget = budget.saturating_add(b.lost);
            if b.lost > 0 && inside(b.ts) {
                cd.lost += b.lost;
            }
            let Some(evs) = ours.get(&(cpu as u32, b.seq)) else {
                continue;
            };
            // Where the batch may start: the first event's matches, after
            // the previous batch, no further than its losses allow, within
            // the time tolerance.
            let o0 = &evs[0];
            let from = checked;
            let upto = match next {
                Some(n) => n
                    .saturating_add(usize::try_from(budget).unwrap_or(usize::MAX))
                    .saturating_add(REORDER),
                None => fl.len(),
            };
            // The nearest in time first; a few dozen are plenty.
            let mut starts: Vec<usize> = (from..fl.len().min(upto.saturating_add(1)))
                .filter(|&j| {
                    !used[j]
                        && fl[j].1 == key(&o0.ev)
                        && fl[j].0.abs_diff(o0.ts) <= opt.tolerance_ns
                })
                .collect();
            starts.sort_by_key(|&j| fl[j].0.abs_diff(o0.ts));
            starts.truncate(MAX_STARTS);
            // The best start leaves the fewest ftrace events unexplained:
            // those skipped inside the run, and those before it beyond the
            // losses reported (a run starting late must not look better).
            let unexplained = |p: &Placement| {
                let before = (from..p.first)
                    .filter(|&j| !used[j] && inside(fl[j].0))
                    .count() as u64;
                p.misses as u64 + before.saturating_sub(budget)
            };
            let mut best: Option<(Placement, u64)> = None;
            for j in starts {
                let p = place(evs, &fl, &used, from, j);
                let u = unexplained(&p);
                let better = match &best {
                    None => true,
                    Some((q, v)) => (u, p.skew) < (*v, q.skew),
                };
                if better {
                    best = Some((p, u));
                }
            }
            let best = best.map(|(p, _)| p);
            let extra = |o: &Ours, cd: &mut CpuDiff, problems: &mut Vec<String>| {
                cd.extra += 1;
                problems.push(format!(
                    "CPU {cpu} at {:.6}: {:?} is not in ftrace",
                    o.ts as f64 / 1e9,
                    o.ev
                ));
            };
            let Some(p) = best else {
                for o in evs.iter().filter(|o| inside(o.ts)) {
                    extra(o, &mut cd, &mut problems);
                }
                continue;
            };
            gap(from, p.first, budget, &used, &mut cd, &mut problems);
            for (o, pair) in evs.iter().zip(&p.pairs) {
                if let Some(j) = *pair {
                    used[j] = true;
                }
                if !inside(o.ts) {
                    continue;
                }
                let Some(j) = *pair else {
                    extra(o, &mut cd, &mut problems);
                    continue;
                };
                cd.matched += 1;
                let fe = &ft.events[lists[cpu][j].2];
                for (pid, comm) in &fe.comms {
                    if *pid == 0 {
                        continue;
                    }
                    let Some((_, name)) = o.names.iter().find(|(p, _)| p == pid) else {
                        continue;
                    };
                    cd.names_checked += 1;
                    match name {
                        None => cd.names_missing += 1,
                        Some(n) if n.as_slice() == comm.as_bytes() => {}
                        Some(n) => {
                            cd.names_wrong += 1;
                            problems.push(format!(
                                "CPU {cpu} at {:.6}: {:?}: PID {pid} named {:?}, ftrace says {comm:?}",
                                o.ts as f64 / 1e9,
                                o.ev,
                                String::from_utf8_lossy(n)
                            ));
                        }
                    }
                }
            }
            // Skipped inside the run: missing where nothing was lost (its
            // last places once the next batch had its chance at them).
            checked = p.end.saturating_sub(REORDER).max(p.first);
            gap(p.first, checked, 0, &used, &mut cd, &mut problems);
            next = Some(p.end);
            budget = 0;
        }
        let t = trailing[cpu];
        if t > 0 {
            cd.lost += t;
        }
        gap(
            checked,
            fl.len(),
            budget.saturating_add(t),
            &used,
            &mut cd,
            &mut problems,
        );
        for p in problems {
            d.problem(p);
        }
        d.cpus[cpu] = cd;
    }
    let mut t = CpuDiff {
        cpu: u32::MAX,
        ..Default::default()
    };
    for c in &d.cpus {
        t.add(c);
    }
    d.total = t;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sched_lines_parse_with_their_comms() {
        let text = "\
# tracer: nop
          <idle>-0       [001] d..2.   45.123456: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=rt ping next_pid=123 next_prio=120
         rt ping-123     [001] d..2.   45.123460: sched_switch: prev_comm=rt ping prev_pid=123 prev_prio=120 prev_state=R+ ==> next_comm=swapper/1 next_pid=0 next_prio=120
            bash-99      [000] d..3.   45.200000: sched_wakeup: comm=kworker/0:1 pid=12 prio=120 target_cpu=000
            bash-99      [000] .....   45.300001: sched_process_fork: comm=bash pid=99 child_comm=bash child_pid=140
            bash-140     [000] .....   45.300101: task_rename: pid=140 oldcomm=bash newcomm=rn-1 oom_score_adj=0
CPU:1 [LOST 3 EVENTS]
            bash-140     [000] d..2.   45.400000: sched_migrate_task: comm=rn-1 pid=140 prio=120 orig_cpu=0 dest_cpu=1
";
        let t = parse(text.as_bytes()).unwrap();
        assert_eq!(t.lost, 3);
        assert_eq!(t.events.len(), 6);
        assert_eq!(t.events[0].ts, 45_123_456_000);
        assert_eq!(
            t.events[1].ev,
            Event::Switch {
                prev_pid: 123,
                prev_state: STATE_PREEMPTED,
                next_pid: 0
            }
        );
        assert_eq!(t.events[1].comms[0], (123, "rt ping".to_string()));
        assert_eq!(t.events[4].ev.comm_bytes(), Some(&b"rn-1"[..]));
        assert_eq!(
            t.events[5].ev,
            Event::Migrate {
                pid: 140,
                orig_cpu: 0,
                dest_cpu: 1
            }
        );
    }

    #[test]
    fn the_pid_rule_follows_forks_and_forgets_reused_pids() {
        use crate::format::{EV_SWITCH, EV_WAKEUP};
        let mut r = Rule {
            pids: Some([10].into_iter().collect()),
            follow_forks: true,
            events: (1 << EV_SWITCH) | (1 << EV_WAKEUP) | (1 << crate::format::EV_FORK),
        };
        let fork = |parent_pid, child_pid| Event::Fork {
            parent_pid,
            child_pid,
        };
        let wake = |pid| Event::Wakeup {
            new: false,
            pid,
            target_cpu: 0,
        };
        let switch = |prev_pid, next_pid| Event::Switch {
            prev_pid,
            prev_state: 1,
            next_pid,
        };
        assert!(r.passes(&fork(10, 11)));
        assert!(r.passes(&wake(11)));
        assert!(r.passes(&switch(0, 11)) && r.passes(&switch(11, 0)));
        r.events |= 1 << crate::format::EV_EXEC;
        assert!(r.passes(&Event::Exec {
            pid: 11,
            old_pid: 11
        }));
        assert!(!r.passes(&switch(0, 12)));
        // PID 11 exits and is reused by a child of an unfiltered task.
        assert!(!r.passes(&Event::Exit { pid: 11 }));
        assert!(!r.passes(&fork(20, 11)));
        assert!(!r.passes(&wake(11)));
        // Without the rule's event types nothing passes.
        r.events = 1 << EV_SWITCH;
        assert!(!r.passes(&wake(10)));
        assert!(r.passes(&switch(10, 0)));
    }

    #[test]
    fn a_sched_line_that_does_not_parse_is_an_error() {
        let text = "  a-1 [000] ..... 1.000001: sched_switch: garbage\n";
        assert!(parse(text.as_bytes()).is_err());
    }
}
