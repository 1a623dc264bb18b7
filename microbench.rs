// SPDX-License-Identifier: GPL-2.0

//! The write path's microbenchmark (`RUST_TRACE_IOC_MICROBENCH`), built only on request
//! (`make MICROBENCH=1`, which compiles the crate with `--cfg rust_trace_microbench`),
//! as the kernel keeps `ring_buffer_benchmark` behind its own config: a
//! production `rust_trace.ko` has no benchmark ioctl.
//!
//! Times the `sched_switch` probe itself, called back to back by the calling
//! thread with the current task as `prev` and `next` and IRQs off (as
//! `__schedule()` calls it), against a pool of its own (four buffers per
//! CPU, never seen by a reader): task field reads, the filter and PID-name
//! checks, the clock read, the encoding, the reservation and, every few
//! thousand events, the buffer switch. Buffers are drained (outside the
//! timed part) before they run out, so no event is lost and every event
//! takes the common path. Baselines are timed the same way, so that the
//! parts can be told apart: the loop calling an empty function of the
//! probe's signature (what the timing itself costs), `local_clock()`
//! alone, the encoding of the event alone (into a local buffer), and an
//! IRQ save/restore pair (with IRQs on: what the other probes pay). With
//! `RUST_TRACE_MICROBENCH_FLIGHT`, the pool flight records (100 ms
//! generations, its rings reused: nothing to drain), which times that path.
//!
//! One run at a time (`EBUSY` for another meanwhile): each allocates a pool
//! and a PID set. A run is at most [`MAX_EVENTS`] events, and a fatal
//! signal ends it within a chunk (`EINTR`).
//!
//! Context: process context, may sleep between chunks (`cond_resched()`);
//! each timed chunk runs with preemption, and for all but the IRQ baseline
//! IRQs, disabled (well under a millisecond).

use core::sync::atomic::{AtomicBool, Ordering};

use kernel::bindings;
use kernel::ioctl::_IOWR;
use kernel::prelude::*;
use kernel::types::{AsBytes, FromBytes};
use kernel::uaccess::UserSlice;

use crate::bufpool::BufPool;
use crate::filter::Filter;
use crate::format::{Encoder, SWITCH_MAX};
use crate::helpers;
use crate::pidset::PidSet;
use crate::probes::{self, Recorder, TaskFields};
use crate::session::Tracer;
use crate::trigger::LatencyTrigger;

/// Events timed per chunk: fewer than two 4 KiB-minimum buffers hold.
const CHUNK: u64 = 256;
/// Most events one call may ask for.
pub(crate) const MAX_EVENTS: u64 = 10_000_000;

/// Argument of `RUST_TRACE_IOC_MICROBENCH` (`uapi/rust_trace.h`, `struct rust_trace_microbench`).
#[repr(C)]
#[derive(Default, Clone, Copy)]
struct RustTraceMicrobench {
    nevents: u64,   // in: events to write (1..=MAX_EVENTS)
    ns_probe: u64,  // out: ns in the sched_switch probe for all of them
    ns_clock: u64,  // out: ns for as many local_clock() calls
    ns_irq: u64,    // out: ns for as many IRQ save/restore pairs
    lost: u64,      // out: events lost (0 unless something is wrong)
    batches: u64,   // out: buffers filled
    flags: u64,     // in: FLIGHT: the pool flight records
    ns_call: u64,   // out: ns for as many calls of an empty probe (the loop's cost)
    ns_encode: u64, // out: ns for as many encodings of the event alone
}

/// `RUST_TRACE_MICROBENCH_FLIGHT`: time the flight recording path.
const FLIGHT: u64 = 1;

// The uapi header's size, which helpers.c asserts on the C side too.
kernel::static_assert!(core::mem::size_of::<RustTraceMicrobench>() == 72);

// SAFETY: only u64 fields, no padding.
unsafe impl FromBytes for RustTraceMicrobench {}
// SAFETY: as above.
unsafe impl AsBytes for RustTraceMicrobench {}

/// `_IOWR('R', 2, struct rust_trace_microbench)`.
pub(crate) const RUST_TRACE_IOC_MICROBENCH: u32 = _IOWR::<RustTraceMicrobench>(b'R' as u32, 2);

/// A run is in progress.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// What one run measured.
#[derive(Default)]
struct BenchResult {
    events: u64,    // events written
    ns_probe: u64,  // nanoseconds spent in the probe for all of them
    ns_clock: u64,  // nanoseconds for as many `local_clock()` calls
    ns_irq: u64,    // nanoseconds for as many IRQ save/restore pairs
    lost: u64,      // events lost (0 unless something is wrong)
    batches: u64,   // buffers filled (buffer switches)
    ns_call: u64,   // nanoseconds for as many calls of an empty probe
    ns_encode: u64, // nanoseconds for as many encodings of the event
}

/// The `RUST_TRACE_IOC_MICROBENCH` ioctl. Must not be called from atomic context.
pub(crate) fn ioctl(t: &Tracer, arg: usize) -> Result {
    let (mut reader, mut writer) =
        UserSlice::new(arg, core::mem::size_of::<RustTraceMicrobench>()).reader_writer();
    let req: RustTraceMicrobench = reader.read()?;
    if RUNNING.swap(true, Ordering::Acquire) {
        return Err(EBUSY);
    }
    if req.flags & !FLIGHT != 0 {
        return Err(EINVAL);
    }
    let res = run(
        t.nr_cpus(),
        t.buf_size(),
        req.nevents,
        req.flags & FLIGHT != 0,
    );
    RUNNING.store(false, Ordering::Release);
    let r = res?;
    writer.write(&RustTraceMicrobench {
        nevents: r.events,
        ns_probe: r.ns_probe,
        ns_clock: r.ns_clock,
        ns_irq: r.ns_irq,
        lost: r.lost,
        batches: r.batches,
        flags: req.flags,
        ns_call: r.ns_call,
        ns_encode: r.ns_encode,
    })
}

/// Times `f` run `n` times in chunks with preemption off, and IRQs too
/// if `irqs_off`; `EINTR` once a fatal signal is pending.
fn timed(n: u64, irqs_off: bool, mut between: impl FnMut(), mut f: impl FnMut()) -> Result<u64> {
    let mut total = 0;
    let mut done = 0;
    while done < n {
        let k = CHUNK.min(n - done);
        // SAFETY: balanced by rust_trace_preempt_enable() below; nothing sleeps between.
        unsafe { helpers::rust_trace_preempt_disable() };
        // SAFETY: restored below, on this CPU (preemption is off).
        let flags = irqs_off.then(|| unsafe { helpers::cpu::irq_save() });
        // SAFETY: local_clock() has no precondition.
        let t0 = unsafe { helpers::local_clock() };
        for _ in 0..k {
            f();
        }
        // SAFETY: as above.
        let t1 = unsafe { helpers::local_clock() };
        if let Some(flags) = flags {
            // SAFETY: what irq_save() returned above, on this CPU.
            unsafe { helpers::cpu::irq_restore(flags) };
        }
        // SAFETY: balances rust_trace_preempt_disable() above.
        unsafe { helpers::rust_trace_preempt_enable() };
        total += t1.saturating_sub(t0);
        done += k;
        between();
        // SAFETY: process context, preemption enabled.
        unsafe { helpers::rust_trace_cond_resched() };
        // SAFETY: plain check on the current task.
        if unsafe { helpers::rust_trace_fatal_signal_pending() } {
            return Err(EINTR);
        }
    }
    Ok(total)
}

/// Runs the benchmark for `n` events. Must not be called from atomic context.
fn run(nr_cpus: usize, buf_size: usize, n: u64, flight: bool) -> Result<BenchResult> {
    if n == 0 || n > MAX_EVENTS {
        return Err(EINVAL);
    }
    let rec = Recorder {
        pool: BufPool::new(nr_cpus, buf_size, 4)?,
        names: PidSet::new()?,
        task: TaskFields::new(),
        filter: Filter::new()?,
        trigger: LatencyTrigger::new()?,
    };
    // The online CPUs' buffers: this pool does not follow hotplug.
    rec.pool.give_online_cpus()?;
    rec.names.insert(0);
    if flight {
        // SAFETY: no probe runs on this private pool.
        unsafe { rec.pool.start_flight(100_000_000) }?;
    }
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
    // SAFETY: `rec` is a live recorder and `cur` the live current task;
    // IRQs are off.
    r.ns_probe = timed(n, true, drain, || unsafe {
        probes::bench_switch(&rec, cur)
    })?;
    r.ns_call = timed(n, true, || {}, || probes::bench_empty(&rec, cur))?;
    r.ns_clock = timed(
        n,
        true,
        || {},
        || {
            // SAFETY: local_clock() has no precondition.
            core::hint::black_box(unsafe { helpers::local_clock() });
        },
    )?;
    // SAFETY: the current task is live.
    let pid = unsafe { rec.task.pid(cur) };
    let mut buf = [0u8; SWITCH_MAX];
    r.ns_encode = timed(
        n,
        true,
        || {},
        || {
            // A time since the event before as the probe sees (about 200
            // ns), the task's PID (its encoded size is what matters).
            let (dt, pid) = core::hint::black_box((200, pid));
            let mut enc = Encoder::new(&mut buf);
            enc.switch(dt, pid, 1, pid);
            core::hint::black_box(enc.fitted_len());
        },
    )?;
    r.ns_irq = timed(
        n,
        false,
        || {},
        // SAFETY: a balanced save/restore pair.
        || unsafe { helpers::cpu::irq_restore(core::hint::black_box(helpers::cpu::irq_save())) },
    )?;
    let total = rec.pool.total();
    r.lost = total.lost;
    r.batches = total.batches;
    Ok(r)
}
