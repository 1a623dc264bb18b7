// SPDX-License-Identifier: GPL-2.0

//! The latency trigger: a snapshot taken by the kernel itself the first
//! time a task waits too long to run after it was woken.
//!
//! ```text
//!   write "trigger latency <us> [pid <pid>]"     (flight recording only)
//!        |  arms; attaches the sched_waking probe
//!        v
//!   sched_waking(p)   in the waker's context: note (pid, when, waker, its
//!                     CPU, IRQ or not) in a slot of the wakeup table
//!   sched_switch(next) if next's slot holds its wakeup and next waited more
//!                     than the threshold: the first such probe disarms,
//!                     keeps what it found and queues the irq_work
//!   irq_work          (hard IRQ, no runqueue lock) starts the delayed work
//!   work, TRIGGER_AFTER_MS later   takes the snapshot, with the trigger in
//!                     its snapshot record; a reader waiting in read() gets
//!                     it (while an earlier snapshot is pending or read, the
//!                     work is started again when its reader closes)
//! ```
//!
//! The waiting time runs from `sched_waking` (the moment the waker asked
//! for the task) to the task's `sched_switch` in: it includes the time a
//! remote wakeup spends in the target CPU's wake list, which the stream's
//! `sched_wakeup` event (the enqueue) does not show. A task preempted
//! while runnable is not woken, so its wait back is not measured.
//!
//! # May miss, never fire on a wait that did not happen
//!
//! `sched_waking` is also emitted for a task that never left its CPU:
//! `try_to_wake_up()` on `current` (it set a sleep state and was woken
//! before it called `schedule()`) and `ttwu_runnable()` (still on its
//! runqueue). No switch-in follows those; a stamp kept from one would be
//! consumed at the task's next switch-in (a return from preemption, or a
//! new task that reused the PID) and would measure its running time. So
//! such wakings are not noted ([`probe_waking`] asks
//! `rust_trace_waking_starts_wait()`): every stamp the table holds was
//! taken from a task off every runqueue, whose next switch-in ends the
//! wait it started. A stamp is consumed at that switch-in or replaced.
//! A task that reuses a PID starts runnable (`wake_up_new_task()` emits
//! only `sched_wakeup_new`) after its predecessor's exit, which consumed
//! or never had a stamp: the predecessor was off every runqueue only
//! once dead, and is woken no more.
//!
//! # The wakeup table
//!
//! [`TABLE_SLOTS`] slots, one per PID hash, no chaining: a wakeup whose
//! slot holds another task's pending wakeup replaces it, so a trigger can
//! be missed under many simultaneous wakeups, never fire wrongly. A writer
//! owns a slot by swapping its PID word to [`BUSY`], writes the rest, and
//! publishes the PID with release ordering; a reader checks the PID with
//! acquire ordering and consumes the slot by swapping the PID back to 0,
//! which fails if a writer took it meanwhile. So a latency is computed
//! only from the wakeup of the very task being switched in.
//!
//! # Context
//!
//! [`probe_waking`] runs in `try_to_wake_up()` in any context (task,
//! softirq, hard IRQ): with the task's `pi_lock` held and IRQs off, or,
//! for `current`, with only preemption off;
//! [`LatencyTrigger::on_switch`] in the `sched_switch` probe, runqueue
//! lock held. Both only touch atomics and queue the irq_work. Arming,
//! disarming and the snapshot run in process context under the session
//! lock.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use kernel::ffi::c_void;
use kernel::prelude::*;

use crate::format::{Trigger, TRIGGER_F_IRQ, TRIGGER_F_SOFTIRQ};
use crate::helpers;
use crate::probes::{Recorder, Task};

/// Slots of the wakeup table (a power of two).
pub(crate) const TABLE_SLOTS: usize = 1024;
/// A slot's PID word while a writer fills it.
const BUSY: u32 = u32::MAX;
/// How long after the late task ran the snapshot is taken, so that what
/// followed is in it (milliseconds).
pub(crate) const TRIGGER_AFTER_MS: u32 = 20;
/// Largest threshold `trigger latency` accepts (microseconds): 10 s.
pub(crate) const THRESHOLD_MAX_US: u64 = 10_000_000;

/// One pending wakeup.
struct WakeSlot {
    pid: AtomicU32,   // the woken task, 0: free, BUSY: being written
    waker: AtomicU32, // the task running where it was woken
    ctx: AtomicU32,   // waker's CPU << 8 | TRIGGER_F_* (IRQ context)
    when: AtomicU64,  // local_clock() at sched_waking
}

/// What the firing probe found, for the snapshot.
struct Hit {
    pid: AtomicU32,       // the late task
    waker: AtomicU32,     // see `WakeSlot::waker`
    ctx: AtomicU32,       // see `WakeSlot::ctx`
    cpu: AtomicU32,       // the CPU it ran on
    wakeup_ns: AtomicU64, // when it was woken
    run_ns: AtomicU64,    // when it ran
}

/// The trigger's state, shared by the probes and the session.
///
/// # Invariants
///
/// `table` has [`TABLE_SLOTS`] entries. `hit` is written only by the
/// probe that turned `armed` from true to false, before it sets `fired`;
/// it is read only after `fired` was seen set.
pub(crate) struct LatencyTrigger {
    armed: AtomicBool,       // probes look for a late task
    threshold_ns: AtomicU64, // how late is too late
    pid: AtomicU32,          // only this task (0: any)
    fired: AtomicBool,       // a probe found one: `hit` is complete
    kick: AtomicBool,        // the irq_work is to start the delayed work
    hit: Hit,                // what it found
    table: KVec<WakeSlot>,   // pending wakeups, by PID hash
}

impl LatencyTrigger {
    /// A disarmed trigger with an empty table. May sleep.
    pub(crate) fn new() -> Result<Self> {
        let mut table = KVec::with_capacity(TABLE_SLOTS, GFP_KERNEL)?;
        for _ in 0..TABLE_SLOTS {
            table.push(
                WakeSlot {
                    pid: AtomicU32::new(0),
                    waker: AtomicU32::new(0),
                    ctx: AtomicU32::new(0),
                    when: AtomicU64::new(0),
                },
                GFP_KERNEL,
            )?;
        }
        // INVARIANT: TABLE_SLOTS slots; nothing fired.
        Ok(LatencyTrigger {
            armed: AtomicBool::new(false),
            threshold_ns: AtomicU64::new(0),
            pid: AtomicU32::new(0),
            fired: AtomicBool::new(false),
            kick: AtomicBool::new(false),
            hit: Hit {
                pid: AtomicU32::new(0),
                waker: AtomicU32::new(0),
                ctx: AtomicU32::new(0),
                cpu: AtomicU32::new(0),
                wakeup_ns: AtomicU64::new(0),
                run_ns: AtomicU64::new(0),
            },
            table,
        })
    }

    /// Bytes of the wakeup table.
    pub(crate) fn memory(&self) -> usize {
        self.table.len() * size_of::<WakeSlot>()
    }

    /// Whether the probes look for a late task. Any context. Acquire:
    /// pairs with [`LatencyTrigger::arm`]'s Release, so a probe that sees
    /// it armed sees the threshold, the PID and the cleared table.
    #[inline(always)]
    pub(crate) fn armed(&self) -> bool {
        self.armed.load(Ordering::Acquire)
    }

    /// Arms: the first task (or task `pid`, if not 0) that waits more than
    /// `threshold_ns` fires. The table is cleared first. Process context,
    /// session lock held, with no snapshot of an earlier firing pending.
    pub(crate) fn arm(&self, threshold_ns: u64, pid: u32) {
        self.armed.store(false, Ordering::Relaxed);
        for s in self.table.iter() {
            s.pid.store(0, Ordering::Relaxed);
        }
        self.fired.store(false, Ordering::Relaxed);
        self.kick.store(false, Ordering::Relaxed);
        self.threshold_ns.store(threshold_ns, Ordering::Relaxed);
        self.pid.store(pid, Ordering::Relaxed);
        self.armed.store(true, Ordering::Release);
    }

    /// Disarms (a firing already seen stays). Process context.
    pub(crate) fn disarm(&self) {
        self.armed.store(false, Ordering::Relaxed);
    }

    /// Forgets a firing (its snapshot was taken, or the session ended).
    pub(crate) fn clear_fired(&self) {
        self.fired.store(false, Ordering::Relaxed);
        self.kick.store(false, Ordering::Relaxed);
    }

    /// The late task found, once a probe fired (with the threshold it
    /// exceeded). Process context.
    pub(crate) fn fired(&self) -> Option<Trigger> {
        if !self.fired.load(Ordering::Acquire) {
            return None;
        }
        let h = &self.hit;
        let ctx = h.ctx.load(Ordering::Relaxed);
        Some(Trigger {
            pid: h.pid.load(Ordering::Relaxed),
            waker: h.waker.load(Ordering::Relaxed),
            cpu: h.cpu.load(Ordering::Relaxed),
            waker_cpu: ctx >> 8,
            flags: ctx & (TRIGGER_F_IRQ | TRIGGER_F_SOFTIRQ),
            wakeup_ns: h.wakeup_ns.load(Ordering::Relaxed),
            run_ns: h.run_ns.load(Ordering::Relaxed),
            threshold_ns: self.threshold_ns.load(Ordering::Relaxed),
        })
    }

    /// Whether the irq_work is to start the delayed work (once per firing).
    /// Hard IRQ context.
    pub(crate) fn take_kick(&self) -> bool {
        self.kick.load(Ordering::Relaxed) && self.kick.swap(false, Ordering::Relaxed)
    }

    /// The slot of `pid`.
    #[inline(always)]
    fn slot(&self, pid: u32) -> Option<&WakeSlot> {
        // Fibonacci hashing: PIDs of one burst of forks are consecutive.
        let h = pid.wrapping_mul(0x9e37_79b9) >> 22;
        self.table.get(h as usize & (TABLE_SLOTS - 1))
    }

    /// Notes that `pid` was woken at `when` by `waker` on `wcpu` in
    /// context `irq` (`TRIGGER_F_*`). Any context, preemption off.
    #[inline(always)]
    fn note_waking(&self, pid: u32, waker: u32, wcpu: u32, irq: u32, when: u64) {
        let Some(s) = self.slot(pid) else {
            return;
        };
        let cur = s.pid.load(Ordering::Relaxed);
        if cur == BUSY
            || s.pid
                .compare_exchange(cur, BUSY, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            // Another CPU writes this slot: this wakeup goes unwatched.
            return;
        }
        s.when.store(when, Ordering::Relaxed);
        s.waker.store(waker, Ordering::Relaxed);
        s.ctx.store(wcpu << 8 | irq, Ordering::Relaxed);
        s.pid.store(pid, Ordering::Release);
    }

    /// `next` (PID `pid`) runs on `cpu` now: if it waited too long since
    /// its wakeup, fire (once). Returns whether it fired. `sched_switch`
    /// probe context.
    #[inline(never)]
    pub(crate) fn on_switch(&self, pid: u32, cpu: u32) -> bool {
        if pid == 0 {
            return false;
        }
        let Some(s) = self.slot(pid) else {
            return false;
        };
        if s.pid.load(Ordering::Acquire) != pid {
            return false;
        }
        let when = s.when.load(Ordering::Relaxed);
        let waker = s.waker.load(Ordering::Relaxed);
        let ctx = s.ctx.load(Ordering::Relaxed);
        // Consume the wakeup; if a writer took the slot meanwhile, what
        // was read may be another task's: give up.
        if s.pid
            .compare_exchange(pid, 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        // SAFETY: local_clock() may be called from any context.
        let now = unsafe { helpers::local_clock() };
        let want = self.pid.load(Ordering::Relaxed);
        if now.saturating_sub(when) <= self.threshold_ns.load(Ordering::Relaxed)
            || (want != 0 && want != pid)
        {
            return false;
        }
        if self
            .armed
            .compare_exchange(true, false, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        // INVARIANT: this probe disarmed the trigger: the only writer of
        // `hit` until `fired` is cleared.
        let h = &self.hit;
        h.pid.store(pid, Ordering::Relaxed);
        h.waker.store(waker, Ordering::Relaxed);
        h.ctx.store(ctx, Ordering::Relaxed);
        h.cpu.store(cpu, Ordering::Relaxed);
        h.wakeup_ns.store(when, Ordering::Relaxed);
        h.run_ns.store(now, Ordering::Relaxed);
        self.fired.store(true, Ordering::Release);
        self.kick.store(true, Ordering::Relaxed);
        // Never start the work here (the runqueue lock is held): the
        // irq_work does it.
        // SAFETY: irq_work_queue() is callable from any context.
        unsafe { helpers::rust_trace_irq_work_queue() };
        true
    }
}

/// `sched_waking(struct task_struct *p)`: attached only while the trigger
/// is armed.
///
/// # Safety
///
/// Called by the tracepoint with the `Recorder` registered as `data` and
/// the tracepoint's live arguments.
pub(crate) unsafe extern "C" fn probe_waking(data: *mut c_void, p: *mut Task) {
    // SAFETY: `data` is the `Recorder` registered with the probe, which
    // outlives the registration.
    let r = unsafe { &*data.cast::<Recorder>() };
    let t = &r.trigger;
    if !t.armed() {
        return;
    }
    // SAFETY: a tracepoint argument: a live task.
    let pid = unsafe { r.task.pid(p) };
    let want = t.pid.load(Ordering::Relaxed);
    if pid == 0 || (want != 0 && want != pid) {
        return;
    }
    // SAFETY: a live task, under its `pi_lock` or `current` (the
    // tracepoint's callers).
    if !unsafe { helpers::rust_trace_waking_starts_wait(p.cast()) } {
        return;
    }
    // SAFETY: `current` is live; the probe runs with preemption off, so
    // the CPU id is stable.
    let (waker, cpu, irq) = unsafe {
        (
            r.task.pid(helpers::rust_trace_current().cast()),
            helpers::cpu::this_cpu(),
            helpers::rust_trace_irq_context(),
        )
    };
    // SAFETY: local_clock() may be called from any context.
    let now = unsafe { helpers::local_clock() };
    t.note_waking(
        pid,
        waker,
        cpu,
        irq & (TRIGGER_F_IRQ | TRIGGER_F_SOFTIRQ),
        now,
    );
}
