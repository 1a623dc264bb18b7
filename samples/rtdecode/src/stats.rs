//! `stats`: per-CPU load, per-task run time and switches, and wakeup
//! latency (wakeup to switch-in), as `perf sched latency` reports it.
//!
//! Latencies go into log-linear histograms (32 sub-buckets per power of
//! two, so percentiles are within about 3%; min and max are exact): memory
//! stays bounded by the number of tasks, not of events.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek};

use serde::Serialize;

use crate::format::decode::Event;
use crate::format::STATE_PREEMPTED;
use crate::replay::{OnCpu, Replay};
use crate::stream::{display_name, DecodeError, Timeline};

/// A latency histogram with exact min, max, count and sum.
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    buckets: Vec<u64>, // counts per bucket (see `bucket`)
    count: u64,        // samples
    sum: u128,         // their sum
    min: u64,          // smallest sample
    max: u64,          // largest sample
}

fn bucket(v: u64) -> usize {
    if v < 64 {
        v as usize
    } else {
        let e = 63 - v.leading_zeros() as usize; // >= 6
        let sub = ((v >> (e - 5)) & 31) as usize;
        64 + (e - 6) * 32 + sub
    }
}

fn bucket_low(i: usize) -> u64 {
    if i < 64 {
        i as u64
    } else {
        let e = (i - 64) / 32 + 6;
        let sub = ((i - 64) % 32) as u64;
        (1u64 << e) | (sub << (e - 5))
    }
}

impl Histogram {
    /// Adds a sample.
    pub fn add(&mut self, v: u64) {
        let b = bucket(v);
        if self.buckets.len() <= b {
            self.buckets.resize(b + 1, 0);
        }
        self.buckets[b] += 1;
        if self.count == 0 || v < self.min {
            self.min = v;
        }
        self.max = self.max.max(v);
        self.count += 1;
        self.sum += u128::from(v);
    }

    /// Adds the samples of `o` to these.
    pub fn merge(&mut self, o: &Histogram) {
        if o.count == 0 {
            return;
        }
        if self.buckets.len() < o.buckets.len() {
            self.buckets.resize(o.buckets.len(), 0);
        }
        for (a, b) in self.buckets.iter_mut().zip(&o.buckets) {
            *a += b;
        }
        self.min = if self.count == 0 {
            o.min
        } else {
            self.min.min(o.min)
        };
        self.max = self.max.max(o.max);
        self.count += o.count;
        self.sum += o.sum;
    }

    /// The `p`-th percentile (0..=100), clamped to [min, max].
    pub fn percentile(&self, p: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((p / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.buckets.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_low(i).clamp(self.min, self.max);
            }
        }
        self.max
    }

    /// Summary figures.
    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            count: self.count,
            min_ns: if self.count > 0 { self.min } else { 0 },
            p50_ns: self.percentile(50.0),
            p90_ns: self.percentile(90.0),
            p99_ns: self.percentile(99.0),
            max_ns: self.max,
            avg_ns: if self.count > 0 {
                (self.sum / u128::from(self.count)) as u64
            } else {
                0
            },
        }
    }
}

/// Latency figures of a histogram.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Smallest.
    pub min_ns: u64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// Largest.
    pub max_ns: u64,
    /// Mean.
    pub avg_ns: u64,
}

/// Per-CPU statistics.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CpuStats {
    /// CPU id.
    pub cpu: u32,
    /// Events recorded in the stream.
    pub events: u64,
    /// Events lost (footer, or batch headers without a footer).
    pub lost: u64,
    /// Time a task other than idle ran, between the first and last switch.
    pub busy_ns: u64,
    /// Time the idle task ran.
    pub idle_ns: u64,
}

/// Per-task statistics.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TaskStats {
    /// PID.
    pub pid: u32,
    /// Name.
    pub comm: String,
    /// Time it ran.
    pub run_ns: u64,
    /// Times it was switched in.
    pub switches_in: u64,
    /// Times it left the CPU blocking (state other than R).
    pub voluntary: u64,
    /// Times it left the CPU runnable (preempted).
    pub involuntary: u64,
    /// Its wakeup latencies.
    pub wakeup_latency: LatencySummary,
}

/// The whole `stats` result.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    /// Events in the stream.
    pub events: u64,
    /// Events in the stream by type, named as their tracepoints
    /// (`task_name`: task records, `filter`: filter statements).
    pub by_type: BTreeMap<&'static str, u64>,
    /// The scheduler's events among them (all but task records and filter
    /// statements): what ftrace would have recorded.
    pub sched_events: u64,
    /// Events lost.
    pub lost: u64,
    /// Time from the first to the last event.
    pub span_ns: u64,
    /// Per CPU.
    pub cpus: Vec<CpuStats>,
    /// Wakeup latency over all tasks.
    pub wakeup_latency: LatencySummary,
    /// Tasks, by run time, largest first.
    pub tasks: Vec<TaskStats>,
    /// Processes (their threads summed), by run time, largest first.
    pub processes: Vec<GroupStats>,
    /// Cgroups (their tasks summed), by run time, largest first; empty
    /// unless asked for.
    pub cgroups: Vec<GroupStats>,
}

/// Totals of a group of tasks: a process, or a cgroup.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GroupStats {
    /// The process's thread-group id, or the cgroup's id.
    pub id: u64,
    /// The process's name (its leader's), or the cgroup's path when known.
    pub name: String,
    /// Tasks in the group that ran or were woken.
    pub tasks: u64,
    /// Time they ran.
    pub run_ns: u64,
    /// Times they were switched in.
    pub switches_in: u64,
    /// Times they left the CPU blocking.
    pub voluntary: u64,
    /// Times they left the CPU runnable.
    pub involuntary: u64,
    /// Their wakeup latencies, together.
    pub wakeup_latency: LatencySummary,
}

/// How `stats` groups tasks beyond processes.
#[derive(Clone, Debug, Default)]
pub struct Grouping {
    /// Also sum the tasks by cgroup.
    pub by_cgroup: bool,
    /// Paths of cgroup ids, where known (see [`cgroup_paths`]).
    pub cgroup_paths: HashMap<u64, String>,
}

#[derive(Default, Clone)]
struct TaskAcc {
    run_ns: u64,
    switches_in: u64,
    voluntary: u64,
    involuntary: u64,
    lat: Histogram,
}

impl TaskAcc {
    /// Adds `o`'s counts and latencies to these.
    fn add(&mut self, o: &TaskAcc) {
        self.run_ns = self.run_ns.saturating_add(o.run_ns);
        self.switches_in += o.switches_in;
        self.voluntary += o.voluntary;
        self.involuntary += o.involuntary;
        self.lat.merge(&o.lat);
    }
}

/// The cgroup v2 ids of the directories under `root` (a mounted cgroup2,
/// usually `/sys/fs/cgroup`), with their paths relative to it: a cgroup's
/// id is its directory's inode number. Unreadable directories are skipped.
pub fn cgroup_paths(root: &std::path::Path) -> HashMap<u64, String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = HashMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        if let Ok(m) = std::fs::metadata(&dir) {
            let rel = dir.strip_prefix(root).unwrap_or(&dir);
            out.insert(m.ino(), format!("/{}", rel.display()));
        }
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    todo.push(e.path());
                }
            }
        }
    }
    out
}

/// Reads a map of cgroup ids to paths: one `ID PATH` a line.
pub fn read_cgroup_map(text: &str) -> HashMap<u64, String> {
    text.lines()
        .filter_map(|l| {
            let (id, path) = l.trim().split_once(char::is_whitespace)?;
            Some((id.parse().ok()?, path.trim().to_string()))
        })
        .collect()
}

/// Computes the statistics of `tl`, tasks summed by process.
pub fn stats<R: Read + Seek>(tl: &mut Timeline<R>) -> Result<Stats, DecodeError> {
    stats_grouped(tl, &Grouping::default())
}

/// Computes the statistics of `tl`, tasks summed by process and as `g` asks.
pub fn stats_grouped<R: Read + Seek>(
    tl: &mut Timeline<R>,
    g: &Grouping,
) -> Result<Stats, DecodeError> {
    let n = tl.header().nr_cpus as usize;
    let mut cpus: Vec<CpuStats> = (0..n)
        .map(|c| CpuStats {
            cpu: c as u32,
            ..Default::default()
        })
        .collect();
    let mut replay = Replay::new(n);
    let mut tasks: HashMap<u32, TaskAcc> = HashMap::new();
    let mut pending_wake: HashMap<u32, u64> = HashMap::new();
    let mut all = Histogram::default();
    let (mut first, mut last) = (None, 0u64);
    let mut events = 0u64;
    let mut by_type: BTreeMap<&'static str, u64> = BTreeMap::new();
    tl.for_each(|te| {
        events += 1;
        *by_type.entry(type_name(&te.ev)).or_default() += 1;
        first.get_or_insert(te.ts);
        last = te.ts;
        let c = te.cpu as usize;
        cpus[c].events += 1;
        let before = replay.apply(te);
        match te.ev {
            Event::Switch {
                prev_pid,
                prev_state,
                next_pid,
            } => {
                if let Some(OnCpu { pid, since }) = before {
                    let d = te.ts.saturating_sub(since);
                    if pid == 0 {
                        cpus[c].idle_ns = cpus[c].idle_ns.saturating_add(d);
                    } else {
                        cpus[c].busy_ns = cpus[c].busy_ns.saturating_add(d);
                        let t = tasks.entry(pid).or_default();
                        t.run_ns = t.run_ns.saturating_add(d);
                    }
                }
                if prev_pid != 0 {
                    let t = tasks.entry(prev_pid).or_default();
                    if prev_state == 0 || prev_state == STATE_PREEMPTED {
                        t.involuntary += 1;
                    } else {
                        t.voluntary += 1;
                    }
                }
                if next_pid != 0 {
                    let t = tasks.entry(next_pid).or_default();
                    t.switches_in += 1;
                    if let Some(w) = pending_wake.remove(&next_pid) {
                        let lat = te.ts.saturating_sub(w);
                        t.lat.add(lat);
                        all.add(lat);
                    }
                }
            }
            Event::Wakeup { pid, .. } => {
                pending_wake.entry(pid).or_insert(te.ts);
            }
            Event::Exit { pid } => {
                pending_wake.remove(&pid);
            }
            _ => {}
        }
    })?;
    let lost_batches = tl.lost_in_batches().to_vec();
    let footer = tl.footer().cloned();
    for (c, s) in cpus.iter_mut().enumerate() {
        s.lost = match &footer {
            Some((_, per)) => per.get(c).map(|t| t.lost).unwrap_or(0),
            None => lost_batches[c],
        };
    }
    // Processes and cgroups, from each task's last record.
    let mut procs: HashMap<u32, (u64, TaskAcc)> = HashMap::new();
    let mut cgroups: HashMap<u64, (u64, TaskAcc)> = HashMap::new();
    for (&pid, a) in &tasks {
        let info = tl.tasks().get(&pid);
        let tgid = info.map(|t| t.tgid).filter(|&t| t != 0).unwrap_or(pid);
        let p = procs.entry(tgid).or_default();
        p.0 += 1;
        p.1.add(a);
        if g.by_cgroup {
            let c = cgroups
                .entry(info.map(|t| t.cgroup).unwrap_or(0))
                .or_default();
            c.0 += 1;
            c.1.add(a);
        }
    }
    let group = |id: u64, name: String, (n, a): (u64, TaskAcc)| GroupStats {
        id,
        name,
        tasks: n,
        run_ns: a.run_ns,
        switches_in: a.switches_in,
        voluntary: a.voluntary,
        involuntary: a.involuntary,
        wakeup_latency: a.lat.summary(),
    };
    let mut processes: Vec<GroupStats> = procs
        .into_iter()
        .map(|(tgid, acc)| group(u64::from(tgid), display_name(tl.name(tgid), tgid), acc))
        .collect();
    processes.sort_by(|a, b| b.run_ns.cmp(&a.run_ns).then(a.id.cmp(&b.id)));
    let mut cgroup_list: Vec<GroupStats> = cgroups
        .into_iter()
        .map(|(id, acc)| {
            let name = match (id, g.cgroup_paths.get(&id)) {
                (0, _) => "(not recorded)".to_string(),
                (_, Some(p)) => p.clone(),
                (_, None) => format!("cgroup {id}"),
            };
            group(id, name, acc)
        })
        .collect();
    cgroup_list.sort_by(|a, b| b.run_ns.cmp(&a.run_ns).then(a.id.cmp(&b.id)));
    let mut list: Vec<TaskStats> = tasks
        .into_iter()
        .map(|(pid, a)| TaskStats {
            pid,
            comm: display_name(tl.name(pid), pid),
            run_ns: a.run_ns,
            switches_in: a.switches_in,
            voluntary: a.voluntary,
            involuntary: a.involuntary,
            wakeup_latency: a.lat.summary(),
        })
        .collect();
    list.sort_by(|a, b| b.run_ns.cmp(&a.run_ns).then(a.pid.cmp(&b.pid)));
    let sched_events = by_type
        .iter()
        .filter(|(k, _)| k.starts_with("sched_"))
        .map(|(_, n)| n)
        .sum();
    Ok(Stats {
        events,
        by_type,
        sched_events,
        lost: cpus.iter().fold(0u64, |a, c| a.saturating_add(c.lost)),
        span_ns: last.saturating_sub(first.unwrap_or(last)),
        cpus,
        wakeup_latency: all.summary(),
        tasks: list,
        processes,
        cgroups: cgroup_list,
    })
}

/// An event's type as its tracepoint is named (ftrace's names).
fn type_name(ev: &Event) -> &'static str {
    match ev {
        Event::Switch { .. } => "sched_switch",
        Event::Wakeup { new: false, .. } => "sched_wakeup",
        Event::Wakeup { new: true, .. } => "sched_wakeup_new",
        Event::Fork { .. } => "sched_process_fork",
        Event::Exit { .. } => "sched_process_exit",
        Event::Exec { .. } => "sched_process_exec",
        Event::Migrate { .. } => "sched_migrate_task",
        Event::Task { .. } => "task_name",
        Event::Filter { .. } => "filter",
    }
}

fn us(ns: u64) -> String {
    format!("{:.3}", ns as f64 / 1000.0)
}

/// Human-readable rendering, with the `top` tasks by run time.
pub fn render(s: &Stats, top: usize) -> String {
    let mut o = String::new();
    o += &format!(
        "events {}  lost {}  span {:.6} s\n",
        s.events,
        s.lost,
        s.span_ns as f64 / 1e9
    );
    o += "by type";
    for (k, n) in &s.by_type {
        o += &format!("  {k} {n}");
    }
    o += &format!(
        "\nscheduler events {}\n\nCPU     events       lost     busy ms     idle ms\n",
        s.sched_events
    );
    for c in &s.cpus {
        o += &format!(
            "{:>3} {:>10} {:>10} {:>11.3} {:>11.3}\n",
            c.cpu,
            c.events,
            c.lost,
            c.busy_ns as f64 / 1e6,
            c.idle_ns as f64 / 1e6
        );
    }
    let l = &s.wakeup_latency;
    o += &format!(
        "\nwakeup latency (us): n={} min {} p50 {} p90 {} p99 {} max {}\n",
        l.count,
        us(l.min_ns),
        us(l.p50_ns),
        us(l.p90_ns),
        us(l.p99_ns),
        us(l.max_ns)
    );
    o +=
        "\n  pid comm             run ms   in  vol  invol   lat p50 us   lat p99 us   lat max us\n";
    for t in s.tasks.iter().take(top) {
        o += &format!(
            "{:>5} {:<16} {:>8.3} {:>4} {:>4} {:>6} {:>12} {:>12} {:>12}\n",
            t.pid,
            t.comm,
            t.run_ns as f64 / 1e6,
            t.switches_in,
            t.voluntary,
            t.involuntary,
            us(t.wakeup_latency.p50_ns),
            us(t.wakeup_latency.p99_ns),
            us(t.wakeup_latency.max_ns)
        );
    }
    o += &render_groups("processes", " tgid", &s.processes, top);
    if !s.cgroups.is_empty() {
        o += &render_groups("cgroups", "   id", &s.cgroups, top);
    }
    o
}

/// A table of groups (processes or cgroups), the `top` by run time.
fn render_groups(what: &str, id: &str, groups: &[GroupStats], top: usize) -> String {
    let mut o = format!(
        "\n{what}\n{id} name           tasks   run ms   in  vol  invol   lat p50 us   lat p99 us   lat max us\n"
    );
    for g in groups.iter().take(top) {
        o += &format!(
            "{:>5} {:<16} {:>3} {:>8.3} {:>4} {:>4} {:>6} {:>12} {:>12} {:>12}\n",
            g.id,
            g.name,
            g.tasks,
            g.run_ns as f64 / 1e6,
            g.switches_in,
            g.voluntary,
            g.involuntary,
            us(g.wakeup_latency.p50_ns),
            us(g.wakeup_latency.p99_ns),
            us(g.wakeup_latency.max_ns)
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_percentiles_are_within_3_percent() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.add(v);
        }
        for (p, want) in [(50.0, 50_000.0), (90.0, 90_000.0), (99.0, 99_000.0)] {
            let got = h.percentile(p) as f64;
            assert!((got - want).abs() / want < 0.035, "p{p}: {got} vs {want}");
        }
        assert_eq!(h.summary().min_ns, 1);
        assert_eq!(h.summary().max_ns, 100_000);
    }

    #[test]
    fn merged_histograms_hold_both_samples() {
        let (mut a, mut b) = (Histogram::default(), Histogram::default());
        for v in 1..=10 {
            a.add(v);
        }
        for v in 100..=109 {
            b.add(v);
        }
        a.merge(&b);
        let s = a.summary();
        assert_eq!((s.count, s.min_ns, s.max_ns), (20, 1, 109));
        assert_eq!(a.percentile(50.0), 10);
    }

    #[test]
    fn a_cgroup_map_file_is_id_then_path() {
        let m = read_cgroup_map("812 /system.slice\n  9 /\nbad line\n");
        assert_eq!(m.get(&812).map(String::as_str), Some("/system.slice"));
        assert_eq!(m.get(&9).map(String::as_str), Some("/"));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn bucket_bounds_are_monotonic() {
        let mut prev = 0;
        for i in 1..1900 {
            let low = bucket_low(i);
            assert!(low > prev, "bucket {i}");
            assert_eq!(bucket(low), i);
            prev = low;
        }
    }
}
