// SPDX-License-Identifier: GPL-2.0

//! The write path's microbenchmark (`RT_IOC_BENCH`).
//!
//! Times the `sched_switch` probe itself, called back to back by the calling
//! thread with the current task as `prev` and `next`, against a pool of its
//! own (four buffers per CPU, never seen by a reader): task field reads, the
//! PID-name check, IRQ save/restore, the clock read, the encoding, the
//! reservation and, every few thousand events, the buffer switch. Buffers
//! are drained (outside the timed part) before they run out, so no event is
//! lost and every event takes the common path. Two baselines are timed the
//! same way: `local_clock()` alone and an IRQ save/restore pair alone, so the
//! cost of the rest (encoding and reservation) can be told apart.
//!
//! Context: process context, may sleep between chunks; each timed chunk
//! runs with preemption disabled (a few milliseconds at most).

use kernel::bindings;
use kernel::prelude::*;

use crate::bufpool::BufPool;
use crate::probes::{self, PidSet, Recorder, TaskFields};
use crate::sys;

/// Events timed per chunk: fewer than two 4 KiB-minimum buffers hold.
const CHUNK: u64 = 256;
/// Most events one call may ask for.
pub(crate) const MAX_EVENTS: u64 = 100_000_000;

/// What one run measured.
#[derive(Default)]
pub(crate) struct BenchResult {
    /// Events written.
    pub(crate) events: u64,
    /// Nanoseconds spent in the probe for all of them.
    pub(crate) ns_probe: u64,
    /// Nanoseconds for as many `local_clock()` calls.
    pub(crate) ns_clock: u64,
    /// Nanoseconds for as many IRQ save/restore pairs.
    pub(crate) ns_irq: u64,
    /// Events lost (0 unless something is wrong).
    pub(crate) lost: u64,
    /// Buffers filled (buffer switches).
    pub(crate) batches: u64,
}

/// Times `f` run `n` times in chunks with preemption off.
fn timed(n: u64, mut between: impl FnMut(), mut f: impl FnMut()) -> u64 {
    let mut total = 0;
    let mut done = 0;
    while done < n {
        let k = CHUNK.min(n - done);
        // SAFETY: balanced by rt_preempt_enable() below; nothing sleeps between.
        unsafe { sys::rt_preempt_disable() };
        // SAFETY: local_clock() has no precondition.
        let t0 = unsafe { sys::local_clock() };
        for _ in 0..k {
            f();
        }
        // SAFETY: as above.
        let t1 = unsafe { sys::local_clock() };
        // SAFETY: balances rt_preempt_disable() above.
        unsafe { sys::rt_preempt_enable() };
        total += t1.saturating_sub(t0);
        done += k;
        between();
    }
    total
}

/// Runs the benchmark for `n` events. Must not be called from atomic context.
pub(crate) fn run(nr_cpus: usize, buf_size: usize, n: u64) -> Result<BenchResult> {
    if n == 0 || n > MAX_EVENTS {
        return Err(EINVAL);
    }
    let rec = Recorder {
        pool: BufPool::new(nr_cpus, buf_size, 4)?,
        names: PidSet::new()?,
        task: TaskFields::new(),
    };
    rec.names.clear();
    // SAFETY: the current task outlives this call.
    let cur = unsafe { bindings::get_current() };
    let drain = || {
        let mut b = rec.pool.take_full();
        while !b.is_null() {
            // SAFETY: we took `b` from the full queue: we are its reader.
            let (_, next) = unsafe { rec.pool.batch(b) };
            // SAFETY: as above; the handle is dropped.
            unsafe { rec.pool.recycle(b) };
            b = next;
        }
    };
    let mut r = BenchResult {
        events: n,
        ..BenchResult::default()
    };
    // SAFETY: `rec` is a live recorder and `cur` the live current task.
    r.ns_probe = timed(n, drain, || unsafe { probes::bench_switch(&rec, cur) });
    r.ns_clock = timed(
        n,
        || {},
        || {
            // SAFETY: local_clock() has no precondition.
            core::hint::black_box(unsafe { sys::local_clock() });
        },
    );
    r.ns_irq = timed(
        n,
        || {},
        // SAFETY: a balanced save/restore pair.
        || unsafe { sys::rt_irq_restore(core::hint::black_box(sys::rt_irq_save())) },
    );
    for cpu in 0..rec.pool.nr_cpus() {
        if let Some(c) = rec.pool.counters(cpu) {
            r.lost += c.lost.load(core::sync::atomic::Ordering::Relaxed);
            r.batches += c.batches.load(core::sync::atomic::Ordering::Relaxed);
        }
    }
    Ok(r)
}
