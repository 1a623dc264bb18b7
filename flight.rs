// SPDX-License-Identifier: GPL-2.0

//! The flight recorder: always-on recording in the memory the module
//! parameters allocated, and snapshots of the recent past that decode on
//! their own.
//!
//! ```text
//!   write "flight"     probes attach; each CPU records into its buffers and,
//!                      out of them, reuses its oldest (its ring), counting
//!                      what it overwrites; nothing is streamed
//!   write "snapshot"   freezes the recent past: every CPU's events before a
//!                      common time E, cut at a common start W
//!   open + read        the snapshot: header, snapshot record, batches,
//!                      footer, EOF; recording goes on meanwhile
//!   write "stop"       ends flight recording
//! ```
//!
//! # A consistent cut
//!
//! Per-CPU rings wrap at different speeds, so each CPU's oldest event is
//! from a different time. A snapshot holds one window `[W, E)` for all
//! CPUs: every event any CPU recorded in it, none outside it.
//!
//! - The end: the snapshot command picks `E` a little in the future
//!   ([`FREEZE_LEAD_NS`]) and publishes it. Each writer, at its first event
//!   at or after `E`, freezes: its current buffer and its whole ring (all
//!   events before `E`) move to its frozen list, and it goes on in free
//!   buffers, so nothing before `E` is ever overwritten by what follows.
//!   Once `E` has passed, an IPI freezes each CPU that had no event since
//!   (an offline CPU is frozen by the command itself). Every event before
//!   `E` that the CPUs still hold is then in the frozen lists; none after.
//! - The start: each writer notes the time of the newest event it has
//!   overwritten (or lost). If no CPU overwrote anything since the last
//!   snapshot, the window starts where that one ended: its freeze handed
//!   every earlier buffer over. Otherwise time is divided into generations
//!   of `gen_ns` (module parameter `flight_gen_ms`), each writer notes
//!   where each generation starts in its buffers (a crossing, kept at the
//!   buffer's end), and `W` is the first generation boundary after the
//!   newest event any CPU overwrote. Each CPU's buffers are cut at their
//!   crossing into that generation: the events before are dropped, in
//!   place. The first snapshot starts at the first boundary after every
//!   probe was attached.
//!
//! # Self-contained names
//!
//! A name recorded before `W` may have been overwritten, so a snapshot
//! cannot rely on it. In flight recording each CPU names every task it
//! mentions again after each of its generation starts and after each
//! freeze (the two places a window may start), with a small per-CPU cache of the PIDs it named since; a
//! rename, a fork (the child's PID may be reused) or a move to another
//! cgroup forgets the PID on every CPU. So from `W` on, every CPU names
//! each task before its first event that mentions it, with the name it
//! had then. The filter in force at `W` is in the snapshot record.
//!
//! # Memory
//!
//! Fixed: the buffers allocated at load. A writer's ring holds all its
//! buffers but the current one and two kept free, which it records into
//! while a snapshot holds the rest; a reader that closes hands them back.
//! The window is about what the busiest CPU's ring holds, less up to a
//! generation.
//!
//! # Context
//!
//! Everything here runs in process context under the session lock and
//! may sleep, except [`freeze_ipi`] (IRQs off, on the CPU it freezes).

use core::ffi::c_void;

use kernel::bindings;
use kernel::prelude::*;

use crate::bufpool::{BufPool, TraceBufPtr};
use crate::format::{
    CpuTotals, FooterFixed, Snapshot, Trigger, FILTER_IDS_MAX, FOOTER_CPU_LEN, FOOTER_FIXED_LEN,
    SNAP_F_TRIGGERED,
};
use crate::helpers;

/// How far in the future a snapshot's end is set: enough for the command
/// to publish it before any CPU reaches it.
const FREEZE_LEAD_NS: u64 = 200_000;

/// The filter in force from a time on, as a snapshot states it.
#[derive(Clone, Copy, Default)]
pub(crate) struct FilterAt {
    /// When it took effect.
    pub(crate) since: u64,
    /// Its kind (`FILTER_*`).
    pub(crate) kind: u8,
    /// Its event mask.
    pub(crate) events: u32,
    /// Its ids.
    pub(crate) ids: [u64; FILTER_IDS_MAX],
    /// Ids used.
    pub(crate) n: u8,
}

/// Filter changes remembered per flight session. When the log is full the
/// oldest is forgotten, and with it what was in force before the next:
/// a window then starts after that time, as after an overwritten event
/// (see [`Flight::forgotten`]), so a snapshot never states a wrong filter.
const FILTER_LOG_LEN: usize = 16;

/// A flight recording session's state, kept under the session lock.
pub(crate) struct Flight {
    /// When flight recording started.
    pub(crate) start_ns: u64,
    /// The end of the last snapshot taken (0: none yet).
    pub(crate) last_end: u64,
    /// The filter changes since the start, oldest first.
    filters: [FilterAt; FILTER_LOG_LEN],
    /// Entries of `filters` used (at least 1).
    nfilters: usize,
    /// Before this time the log no longer knows the filter (0: it knows
    /// all since the start): a window starts after it.
    forgotten: u64,
}

impl Flight {
    /// A flight session started at `start_ns` under `filter`.
    pub(crate) fn new(start_ns: u64, filter: FilterAt) -> Self {
        let mut filters = [FilterAt::default(); FILTER_LOG_LEN];
        filters[0] = filter;
        Flight {
            start_ns,
            last_end: 0,
            filters,
            nfilters: 1,
            forgotten: 0,
        }
    }

    /// Remembers a filter change.
    pub(crate) fn log_filter(&mut self, f: FilterAt) {
        if self.nfilters == FILTER_LOG_LEN {
            self.filters.copy_within(1.., 0);
            self.nfilters -= 1;
            // What was in force before the oldest kept change is gone.
            self.forgotten = self.filters[0].since;
        }
        self.filters[self.nfilters] = f;
        self.nfilters += 1;
    }

    /// The filter in force at `t`, for `t` at or after `forgotten`.
    fn filter_at(&self, t: u64) -> FilterAt {
        let mut cur = self.filters[0];
        for f in self.filters.iter().take(self.nfilters) {
            if f.since <= t {
                cur = *f;
            }
        }
        cur
    }
}

/// What [`take_snapshot`] made: the snapshot record and the footer; its
/// batches are in the pool's full queue.
pub(crate) struct Taken {
    /// The snapshot record.
    pub(crate) snap: Snapshot,
    /// The footer.
    pub(crate) footer: KVec<u8>,
    /// Events and batches kept, for the log.
    pub(crate) events: u64,
    /// Time spent waiting for the end to pass (ns).
    pub(crate) wait_ns: u64,
    /// Time of the freezing IPIs, all CPUs (ns).
    pub(crate) freeze_ns: u64,
    /// Time cutting and queueing the buffers (ns).
    pub(crate) cut_ns: u64,
}

/// Argument of [`freeze_ipi`].
struct FreezeArg<'a> {
    pool: &'a BufPool, // the buffers
    at: u64,           // the freeze time
}

/// IPI handler of a snapshot: takes this CPU's buffers of events before
/// the freeze time. Runs on the CPU, IRQs off.
///
/// # Safety
///
/// `info` is a live `FreezeArg` whose time has passed.
unsafe extern "C" fn freeze_ipi(info: *mut c_void) {
    // SAFETY: by the caller's contract.
    let a = unsafe { &*info.cast::<FreezeArg<'_>>() };
    // SAFETY: an IPI runs with IRQs off.
    let cpu = unsafe { helpers::cpu::this_cpu() } as usize;
    // SAFETY: local_clock() has no precondition.
    let now = unsafe { helpers::local_clock() };
    // SAFETY: on `cpu` with IRQs off: the only user of its writer state.
    unsafe { a.pool.freeze_local(cpu, a.at, now) };
}

/// Takes a snapshot of `pool`, which is flight recording: freezes every
/// CPU at a common end, cuts every CPU at a common start, and queues the
/// batches for the reader. May sleep (it waits for the end to pass).
///
/// Everything it allocates is allocated before the freeze: from the
/// freeze on nothing can fail, so an error (`ENOMEM`) leaves the CPUs
/// recording as before, with no buffer handed over.
pub(crate) fn take_snapshot(
    pool: &BufPool,
    fl: &mut Flight,
    nr_cpus: usize,
    trigger: Option<Trigger>,
) -> Result<Taken> {
    let mut footer = KVec::from_elem(0u8, FooterFixed::len_for(nr_cpus as u32), GFP_KERNEL)?;
    let mut lists = KVec::from_elem(TraceBufPtr::NULL, nr_cpus, GFP_KERNEL)?;
    // SAFETY: local_clock() has no precondition.
    let t0 = unsafe { helpers::local_clock() };
    let end = t0.saturating_add(FREEZE_LEAD_NS);
    pool.set_freeze(end);
    // Wait until every CPU's clock is past `end` (they agree to within far
    // less than a millisecond).
    loop {
        // An hrtimer sleep: msleep(1) would take a jiffy or two.
        // SAFETY: process context.
        unsafe { helpers::rust_trace_usleep((FREEZE_LEAD_NS / 1000) as _) };
        // SAFETY: as above.
        if unsafe { helpers::local_clock() } > end.saturating_add(FREEZE_LEAD_NS) {
            break;
        }
    }
    // SAFETY: local_clock() has no precondition.
    let t1 = unsafe { helpers::local_clock() };
    let arg = FreezeArg { pool, at: end };
    let info = core::ptr::from_ref(&arg).cast_mut().cast::<c_void>();
    // SAFETY: process context; balanced below. No CPU comes or goes meanwhile.
    unsafe { bindings::cpus_read_lock() };
    for cpu in 0..nr_cpus {
        if !pool.has_cpu(cpu) {
            continue;
        }
        // SAFETY: plain cpumask query.
        if unsafe { helpers::rust_trace_cpu_online(cpu as u32) } {
            // SAFETY: `freeze_ipi` gets `arg`, which outlives the call (it
            // waits); `end` has passed.
            unsafe { bindings::smp_call_function_single(cpu as _, Some(freeze_ipi), info, 1) };
        } else {
            // SAFETY: `cpu` is offline and stays so (hotplug locked); the
            // session lock excludes other snapshots. Its clock is not
            // read: `end` stands for it (it records nothing).
            unsafe { pool.freeze_local(cpu, end, end) };
        }
    }
    // SAFETY: taken above.
    unsafe { bindings::cpus_read_unlock() };
    // SAFETY: local_clock() has no precondition.
    let t2 = unsafe { helpers::local_clock() };

    // The lists, and the first generation every CPU holds entirely.
    let gen_ns = pool.gen_ns();
    // The window starts where every CPU holds every event since: after the
    // last snapshot's end (whose buffers went to it, and after which
    // every CPU named its tasks again) or the start, unless a CPU has
    // overwritten or lost an event since, or the filter log forgot what
    // was in force; then at the first generation after the newest such
    // time, where each CPU's buffers are cut.
    let g = gen_ns.max(1);
    let mut gone = fl.forgotten;
    let mut skew = 0u64;
    for (cpu, list) in lists.iter_mut().enumerate() {
        let (head, t, s) = pool.take_frozen(cpu);
        gone = gone.max(t);
        skew = skew.max(s);
        *list = head;
    }
    let (start, wgen) = if fl.last_end > 0 && gone < fl.last_end {
        (fl.last_end, fl.last_end / g)
    } else {
        // The first generation that starts after the flight session did
        // and after the newest event gone.
        let from = fl.start_ns.div_ceil(g);
        let after = if gone > 0 { gone / g + 1 } else { 0 };
        let wgen = from.max(after);
        (wgen.saturating_mul(g), wgen)
    };
    let wend = end.max(start);

    // Cut and queue, CPU by CPU, oldest first; each CPU's totals follow
    // the footer's fixed part.
    let (fixed_part, cpu_parts) = footer.split_at_mut(FOOTER_FIXED_LEN);
    let mut written = 0u64;
    for (cpu, &head) in lists.iter().enumerate() {
        let at = cpu * FOOTER_CPU_LEN;
        let (mut seq, mut n) = (0u64, 0u64);
        let mut b = head;
        let mut keeping = false;
        while !b.is_null() {
            // SAFETY: ours.
            let m = unsafe { pool.frozen_meta(b) };
            let next = m.next;
            if !keeping {
                let keep = if m.nevents == 0 || m.last_ts < start {
                    false
                } else if m.gen_first >= wgen {
                    true
                } else {
                    // SAFETY: ours; process context.
                    unsafe { pool.cut_before_gen(b, wgen) }.is_some()
                };
                if !keep {
                    // SAFETY: ours, on no list once unlinked by the walk.
                    unsafe { pool.give_back(b) };
                    b = next;
                    continue;
                }
                keeping = true;
            }
            // SAFETY: ours.
            n += u64::from(unsafe { pool.seal(b, seq) });
            seq += 1;
            // SAFETY: ours; the handle is dropped: `next` was read before.
            unsafe { pool.queue(b) };
            b = next;
        }
        let t = CpuTotals {
            written: n,
            lost: 0,
            batches: seq,
        };
        cpu_parts[at..at + FOOTER_CPU_LEN].copy_from_slice(&t.to_bytes());
        written += n;
    }
    // SAFETY: local_clock() has no precondition.
    let end_ns = unsafe { helpers::local_clock() };
    let fixed = FooterFixed {
        nr_cpus: nr_cpus as u32,
        clock_hz: 1_000_000_000,
        end_ns,
        written,
        lost: 0,
    };
    fixed_part.copy_from_slice(&fixed.to_bytes());

    let overwritten = (0..nr_cpus).map(|c| pool.overwritten(c)).sum();
    let f = fl.filter_at(start);
    fl.last_end = end;
    Ok(Taken {
        snap: Snapshot {
            window_start: start,
            window_end: wend,
            gen_ns,
            overwritten,
            flags: if trigger.is_some() {
                SNAP_F_TRIGGERED
            } else {
                0
            },
            filter_kind: f.kind,
            filter_events: f.events,
            filter_ids: f.ids,
            filter_n: f.n,
            trigger: trigger.unwrap_or_default(),
            skew_ns: u32::try_from(skew).unwrap_or(u32::MAX),
        },
        footer,
        events: written,
        wait_ns: t1.saturating_sub(t0),
        freeze_ns: t2.saturating_sub(t1),
        cut_ns: end_ns.saturating_sub(t2),
    })
}

/// Unused handles to a snapshot's buffers (a reader that closed early,
/// a flight session stopped with a snapshot pending) go back to their
/// CPUs.
///
/// # Safety
///
/// `list` is a list of buffers the caller holds (linked by `link`, or
/// the full queue's), on no other list.
pub(crate) unsafe fn give_back_all(pool: &BufPool, mut list: TraceBufPtr) {
    while !list.is_null() {
        // SAFETY: held by the caller.
        let next = unsafe { pool.frozen_meta(list) }.next;
        // SAFETY: as above; the handle is dropped.
        unsafe { pool.give_back(list) };
        list = next;
    }
}
