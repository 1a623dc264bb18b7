// SPDX-License-Identifier: GPL-2.0

//! The scheduler probes: what each tracepoint records, and their registration.
//!
//! The sched tracepoints are not exported to modules, so [`Tracepoints::find`]
//! looks them up by name with `for_each_kernel_tracepoint()` at module load.
//! A session attaches the probes with `tracepoint_probe_register()` and
//! detaches them with `tracepoint_probe_unregister()` followed by
//! `tracepoint_synchronize_unregister()`, after which no probe is running and
//! the buffers may be flushed, reset or freed.
//!
//! Each probe's signature is the tracepoint's `TP_PROTO` in 6.12
//! (`include/trace/events/sched.h`) preceded by the `data` pointer given at
//! registration, which is the [`Recorder`].
//!
//! # Task names
//!
//! Names are not repeated in every event. A bitmap of PIDs ([`PidSet`])
//! remembers which PIDs have their current name in the stream; an event
//! naming an unmarked PID is preceded, in the same reservation, by an
//! `EV_COMM` record read from the task. Fork always records the child's
//! name (which covers PID reuse), and the `task_rename` tracepoint records
//! every rename, exec's included. PID 0 (the idle tasks) is never named;
//! decoders call it `<idle>`.
//!
//! The rule: a name in the stream may be missing, never wrong. So a PID is
//! marked only once its name record is stored, and unmarked when a record
//! that would have changed its name is lost: a fork's (the PID may be a
//! reused one, still marked with the name of the task that had it before)
//! or a rename's. The next event of that PID then names it again, from the
//! task. `task_rename` and `sched_process_fork` are attached before the
//! other probes and detached after them, so no rename or fork happens
//! unseen while events are recorded.
//!
//! One window is left, as in ftrace: the `task_rename` tracepoint fires
//! just before the kernel copies the new name into the task, so an event
//! of that task recorded on another CPU in between carries the new name
//! (when the rename was stored) or may record the old one again (when it
//! was lost). It needs another CPU to trace the renaming task during those
//! few instructions of `__set_task_comm()`.
//!
//! # Filters
//!
//! Each probe reads the filter once ([`Filter::active`], one load) and
//! returns before it touches the buffers when its event type is not
//! selected or no task the event names passes the task filter (see
//! `filter.rs`). The fork probe follows forks for the PID filter whatever
//! the event types. A fork or a rename the filter keeps out of the stream
//! forgets the PID's name, as a lost one does.
//!
//! # The latency trigger
//!
//! While the trigger is armed (flight recording, see `trigger.rs`), the
//! `sched_switch` probe first asks it whether the task switched in waited
//! too long since its wakeup, whatever the filter; `sched_waking`, whose
//! probe notes the wakeups, is attached only then. Disarmed, the cost is
//! one load and a branch.
//!
//! # Context
//!
//! The probe functions run in tracepoint context: preemption off, the
//! runqueue lock held for `sched_switch`, `sched_wakeup*` and
//! `sched_migrate_task`. They call only [`BufPool::record`] (lock-free, IRQs
//! off inside), atomic bitmap operations and, for task records and the
//! cgroup filter, RCU-protected reads of the task's cgroup; the reader's wake-up is deferred
//! to an irq_work by the pool. Registration runs in process context and may
//! sleep.

use core::ptr;

use kernel::bindings;
use kernel::ffi::{c_char, c_int, c_uint, c_void};
use kernel::prelude::*;
use kernel::str::CStr;

use crate::bufpool::BufPool;
use crate::filter::Filter;
use crate::format::{
    Encoder, EV_EXEC, EV_EXIT, EV_FORK, EV_MIGRATE, EV_SWITCH, EV_WAKEUP, EV_WAKEUP_NEW, EXEC_MAX,
    EXIT_MAX, FORK_MAX, MIGRATE_MAX, STATE_PREEMPTED, SWITCH_MAX, TASK_MAX, TASK_NAME_MAX,
    WAKEUP_MAX,
};
use crate::helpers;
use crate::pidset::PidSet;
use crate::trigger::{probe_waking, LatencyTrigger};

/// What the probes write to: the buffers, the set of named PIDs, and the
/// filter of what to record.
pub(crate) struct Recorder {
    /// The trace buffers.
    pub(crate) pool: BufPool,
    /// PIDs whose current task record is in the stream.
    pub(crate) names: PidSet,
    /// How to read a task's fields.
    pub(crate) task: TaskFields,
    /// What to record.
    pub(crate) filter: Filter,
    /// The latency trigger of flight recording.
    pub(crate) trigger: LatencyTrigger,
}

/// Reads the task fields the probes need at the offsets the C compiler
/// gave (see [`helpers::TaskLayout`]: bindgen's `task_struct` is unreliable here).
///
/// # Invariants
///
/// `layout` holds the offsets `rust_trace_task_layout()` reported.
#[derive(Clone, Copy)]
pub(crate) struct TaskFields {
    layout: helpers::TaskLayout, // field offsets in `struct task_struct`
}

impl TaskFields {
    /// Asks the C side for the offsets.
    pub(crate) fn new() -> Self {
        let mut layout = helpers::TaskLayout::default();
        // SAFETY: `layout` is valid for writing.
        unsafe { helpers::rust_trace_task_layout(&mut layout) };
        // INVARIANT: filled in by rust_trace_task_layout().
        TaskFields { layout }
    }

    /// `READ_ONCE(p->pid)`.
    ///
    /// # Safety
    ///
    /// `p` points to a live task (tracepoint arguments are).
    #[inline(always)]
    pub(crate) unsafe fn pid(&self, p: *const Task) -> u32 {
        // SAFETY: live task; the offset is `pid`'s (type invariant). `pid`
        // changes after fork only in exec's de_thread(), which swaps it
        // with the group leader's by WRITE_ONCE(): a volatile read is the
        // READ_ONCE() that pairs with it.
        unsafe { ptr::read_volatile(p.cast::<u8>().add(self.layout.pid).cast::<i32>()) as u32 }
    }

    /// `p->tgid` (fixed for the task's life).
    ///
    /// # Safety
    ///
    /// `p` points to a live task.
    #[inline(always)]
    pub(crate) unsafe fn tgid(&self, p: *const Task) -> u32 {
        // SAFETY: live task; the offset is `tgid`'s (type invariant).
        unsafe { ptr::read_volatile(p.cast::<u8>().add(self.layout.tgid).cast::<i32>()) as u32 }
    }

    /// `p->comm`; it may change concurrently, as in ftrace.
    ///
    /// # Safety
    ///
    /// `p` points to a live task.
    #[inline(always)]
    unsafe fn comm(&self, p: *const Task) -> [u8; 16] {
        // SAFETY: live task, `comm`'s offset; a volatile copy tolerates a
        // concurrent rename.
        unsafe { ptr::read_volatile(p.cast::<u8>().add(self.layout.comm).cast::<[u8; 16]>()) }
    }

    /// `task_cpu(p)`.
    ///
    /// # Safety
    ///
    /// `p` points to a live task.
    #[inline(always)]
    unsafe fn cpu(&self, p: *const Task) -> u32 {
        // SAFETY: live task, `thread_info.cpu`'s offset; READ_ONCE as in task_cpu().
        unsafe { ptr::read_volatile(p.cast::<u8>().add(self.layout.cpu).cast::<u32>()) }
    }

    /// `p->exit_state`.
    ///
    /// # Safety
    ///
    /// `p` points to a live task.
    #[inline(always)]
    unsafe fn exit_state(&self, p: *const Task) -> u32 {
        // SAFETY: live task, `exit_state`'s offset.
        unsafe {
            ptr::read_volatile(p.cast::<u8>().add(self.layout.exit_state).cast::<i32>()) as u32
        }
    }
}

/// `struct task_struct`. The probes only pass pointers to it and read its
/// fields through [`TaskFields`], never through bindgen's layout; the type
/// is the C one so that each probe's signature is its tracepoint's
/// prototype, type for type (what kCFI checks on an indirect call).
pub(crate) type Task = bindings::task_struct;

/// The state letter index of a task that switched out without being preempted:
/// `__task_state_index()` of 6.12. (A preempted task is [`STATE_PREEMPTED`],
/// ftrace's `R+`.)
fn state_index(prev_state: u32, exit_state: u32) -> u32 {
    let mut state = (prev_state | exit_state) & bindings::TASK_REPORT;
    if prev_state & bindings::TASK_IDLE == bindings::TASK_IDLE {
        state = bindings::TASK_REPORT_IDLE;
    }
    if prev_state & (bindings::TASK_RTLOCK_WAIT | bindings::TASK_FROZEN) != 0 {
        state = bindings::TASK_UNINTERRUPTIBLE;
    }
    // fls(): leading_zeros() <= 32, so this cannot underflow.
    32u32.wrapping_sub(state.leading_zeros())
}

impl Recorder {
    /// Writes the task record of `p` (PID `pid`), named `comm`: with its
    /// process and its cgroup. Tracepoint context.
    ///
    /// # Safety
    ///
    /// `p` is a live task.
    #[inline(always)]
    unsafe fn name_task(
        &self,
        enc: &mut Encoder<'_>,
        dt: u64,
        pid: u32,
        p: *mut Task,
        comm: &[u8],
    ) {
        // SAFETY: live task, by the caller's contract.
        let (tgid, cgroup) = unsafe {
            (
                self.task.tgid(p),
                helpers::rust_trace_task_cgroup_id(p.cast_const()),
            )
        };
        enc.task(dt, pid, tgid, cgroup, comm);
    }

    /// Records `ev` (at most `max_len` bytes), preceded by the task
    /// records of the `(pid, task)` pairs of `names` not named yet, and of
    /// `always_name` in any case (a forked child). Whether a PID is named
    /// is decided with IRQs off, in the same critical section as the
    /// write: the set of named PIDs when streaming, the CPU's name cache
    /// in flight recording. The callers read each PID once and pass it.
    /// Tracepoint context.
    #[inline(always)]
    fn emit(
        &self,
        names: [Option<(u32, *mut Task)>; 2],
        always_name: Option<(u32, *mut Task)>,
        max_len: usize,
        ev: impl FnOnce(&mut Encoder<'_>, u64),
    ) {
        if self.pool.in_flight() {
            // Each CPU's name cache decides, with IRQs off.
            let pid = |n: Option<(u32, *mut Task)>| n.map(|(pid, _)| pid);
            self.pool.record_flight(
                max_len,
                1,
                [pid(names[0]), pid(names[1])],
                pid(always_name),
                |enc, dt, which| {
                    let mut dt = dt;
                    for (n, w) in [names[0], names[1], always_name].iter().zip(which.iter()) {
                        if let (Some((pid, p)), true) = (*n, *w) {
                            // SAFETY: live task; read with IRQs off, once.
                            unsafe { self.name_task(enc, dt, pid, p, &self.task.comm(p)) };
                            dt = 0;
                        }
                    }
                    ev(enc, dt);
                },
            );
            return;
        }
        // Streaming: the set of named PIDs decides, before the write.
        let first = names[0].filter(|&(pid, _)| !self.names.contains(pid));
        let second = names[1]
            .filter(|&(pid, _)| !self.names.contains(pid) && first.map(|f| f.0) != Some(pid));
        let named = [first, second, always_name];
        // At most 3: the arithmetic below cannot overflow.
        let n = usize::from(first.is_some())
            + usize::from(second.is_some())
            + usize::from(always_name.is_some());
        let len = max_len.wrapping_add(n.wrapping_mul(TASK_MAX));
        let stored = self
            .pool
            .record_stream(len, (n as u32).wrapping_add(1), |enc, dt| {
                let mut dt = dt;
                for &(pid, p) in named.iter().flatten() {
                    // SAFETY: live task; read with IRQs off, once.
                    unsafe { self.name_task(enc, dt, pid, p, &self.task.comm(p)) };
                    dt = 0;
                }
                ev(enc, dt);
            });
        if stored {
            for &(pid, _) in named.iter().flatten() {
                self.names.insert(pid);
            }
        } else if let Some((pid, _)) = always_name {
            // A lost fork: the child's PID may still be marked with the
            // name of a task that had it before.
            self.names.remove(pid);
        }
    }

    /// Forgets `pid`'s name everywhere: its next event names it again.
    /// Tracepoint context.
    #[inline(always)]
    fn forget(&self, pid: u32) {
        if self.pool.in_flight() {
            self.pool.forget_name(pid);
        } else {
            self.names.remove(pid);
        }
    }
}

/// `sched_switch(bool preempt, struct task_struct *prev, struct task_struct
/// *next, unsigned int prev_state)`.
///
/// # Safety
///
/// Called by the tracepoint with the `Recorder` registered as `data` and
/// the tracepoint's live arguments.
unsafe extern "C" fn probe_switch(
    data: *mut c_void,
    preempt: bool,
    prev: *mut Task,
    next: *mut Task,
    prev_state: c_uint,
) {
    // SAFETY: `data` is the `Recorder` registered with the probe, which
    // outlives the registration.
    let r = unsafe { &*data.cast::<Recorder>() };
    if r.trigger.armed() {
        // SAFETY: `next` is a live task; the probe runs with preemption off.
        unsafe {
            r.trigger
                .on_switch(r.task.pid(next), helpers::cpu::this_cpu())
        };
    }
    let f = r.filter.active();
    if !f.wants(EV_SWITCH) {
        return;
    }
    // SAFETY: tracepoint arguments are live tasks.
    let (prev_pid, next_pid) = unsafe { (r.task.pid(prev), r.task.pid(next)) };
    // SAFETY: as above.
    if !unsafe { f.passes(&r.task, prev, prev_pid) || f.passes(&r.task, next, next_pid) } {
        return;
    }
    let state = if preempt {
        STATE_PREEMPTED
    } else {
        // SAFETY: as above. Read only when it matters: not on preemptions.
        state_index(prev_state, unsafe { r.task.exit_state(prev) })
    };
    r.emit(
        [Some((prev_pid, prev)), Some((next_pid, next))],
        None,
        SWITCH_MAX,
        |enc, dt| enc.switch(dt, prev_pid, state, next_pid),
    );
}

/// The `sched_switch` probe as the microbenchmark calls it: `p` switches
/// to itself, leaving in state S.
#[cfg(rust_trace_microbench)]
///
/// # Safety
///
/// `p` is a live task; preemption is off or the caller accepts that the
/// event lands on whichever CPU it runs on.
pub(crate) unsafe fn bench_switch(r: &Recorder, p: *mut Task) {
    let data = ptr::from_ref(r).cast_mut().cast::<c_void>();
    // SAFETY: `data` is a live recorder, `p` a live task.
    unsafe { probe_switch(data, false, p, p, bindings::TASK_INTERRUPTIBLE) };
}

/// Shared body of `sched_wakeup` and `sched_wakeup_new`.
///
/// # Safety
///
/// `data` is the registered `Recorder`; `p` a live task.
#[inline(always)]
unsafe fn wakeup(data: *mut c_void, p: *mut Task, new: bool) {
    // SAFETY: by the caller's contract.
    let r = unsafe { &*data.cast::<Recorder>() };
    let f = r.filter.active();
    if !f.wants(if new { EV_WAKEUP_NEW } else { EV_WAKEUP }) {
        return;
    }
    // SAFETY: live task.
    let (pid, cpu) = unsafe { (r.task.pid(p), r.task.cpu(p)) };
    // SAFETY: as above.
    if !unsafe { f.passes(&r.task, p, pid) } {
        return;
    }
    r.emit([Some((pid, p)), None], None, WAKEUP_MAX, |enc, dt| {
        enc.wakeup(dt, new, pid, cpu)
    });
}

/// `sched_wakeup(struct task_struct *p)`.
///
/// # Safety
///
/// Called by the tracepoint with the `Recorder` registered as `data` and
/// the tracepoint's live arguments.
unsafe extern "C" fn probe_wakeup(data: *mut c_void, p: *mut Task) {
    // SAFETY: registered data and a tracepoint argument.
    unsafe { wakeup(data, p, false) }
}

/// `sched_wakeup_new(struct task_struct *p)`.
///
/// # Safety
///
/// Called by the tracepoint with the `Recorder` registered as `data` and
/// the tracepoint's live arguments.
unsafe extern "C" fn probe_wakeup_new(data: *mut c_void, p: *mut Task) {
    // SAFETY: registered data and a tracepoint argument.
    unsafe { wakeup(data, p, true) }
}

/// `sched_process_fork(struct task_struct *parent, struct task_struct *child)`.
///
/// # Safety
///
/// Called by the tracepoint with the `Recorder` registered as `data` and
/// the tracepoint's live arguments.
unsafe extern "C" fn probe_fork(data: *mut c_void, parent: *mut Task, child: *mut Task) {
    // SAFETY: registered data.
    let r = unsafe { &*data.cast::<Recorder>() };
    let f = r.filter.active();
    // SAFETY: live tasks.
    let (ppid, cpid) = unsafe { (r.task.pid(parent), r.task.pid(child)) };
    // Forks are followed whatever the event types recorded.
    // SAFETY: as above.
    let parent_passes = unsafe { f.passes(&r.task, parent, ppid) };
    // SAFETY: as above.
    let child_passes = unsafe { f.follow_fork(&r.task, parent_passes, child, cpid) };
    // The child's PID may still be named after a task that had it before:
    // forget it (in flight recording on every CPU; when streaming, the
    // fork record below names it in any case).
    let recorded = f.wants(EV_FORK) && (parent_passes || child_passes);
    if r.pool.in_flight() || !recorded {
        r.forget(cpid);
    }
    if !recorded {
        return;
    }
    r.emit(
        [Some((ppid, parent)), None],
        Some((cpid, child)),
        FORK_MAX,
        |enc, dt| enc.fork(dt, ppid, cpid),
    );
}

/// `sched_process_exit(struct task_struct *p)`.
///
/// # Safety
///
/// Called by the tracepoint with the `Recorder` registered as `data` and
/// the tracepoint's live arguments.
unsafe extern "C" fn probe_exit(data: *mut c_void, p: *mut Task) {
    // SAFETY: registered data.
    let r = unsafe { &*data.cast::<Recorder>() };
    let f = r.filter.active();
    if !f.wants(EV_EXIT) {
        return;
    }
    // SAFETY: live task.
    let pid = unsafe { r.task.pid(p) };
    // SAFETY: as above.
    if !unsafe { f.passes(&r.task, p, pid) } {
        return;
    }
    r.emit([Some((pid, p)), None], None, EXIT_MAX, |enc, dt| {
        enc.exit(dt, pid)
    });
}

/// `sched_process_exec(struct task_struct *p, pid_t old_pid, struct
/// linux_binprm *bprm)`.
///
/// # Safety
///
/// Called by the tracepoint with the `Recorder` registered as `data` and
/// the tracepoint's live arguments.
unsafe extern "C" fn probe_exec(
    data: *mut c_void,
    p: *mut Task,
    old_pid: bindings::pid_t,
    _bprm: *mut bindings::linux_binprm,
) {
    // SAFETY: registered data.
    let r = unsafe { &*data.cast::<Recorder>() };
    let f = r.filter.active();
    if !f.wants(EV_EXEC) {
        return;
    }
    // SAFETY: live task.
    let pid = unsafe { r.task.pid(p) };
    // SAFETY: as above.
    if !unsafe { f.passes(&r.task, p, pid) } {
        return;
    }
    // The new name was recorded by task_rename, just before this event.
    r.emit([Some((pid, p)), None], None, EXEC_MAX, |enc, dt| {
        enc.exec(dt, pid, old_pid as u32)
    });
}

/// `sched_migrate_task(struct task_struct *p, int dest_cpu)`.
///
/// # Safety
///
/// Called by the tracepoint with the `Recorder` registered as `data` and
/// the tracepoint's live arguments.
unsafe extern "C" fn probe_migrate(data: *mut c_void, p: *mut Task, dest_cpu: c_int) {
    // SAFETY: registered data.
    let r = unsafe { &*data.cast::<Recorder>() };
    let f = r.filter.active();
    if !f.wants(EV_MIGRATE) {
        return;
    }
    // SAFETY: live task; task_cpu() is still the CPU it leaves.
    let (pid, orig) = unsafe { (r.task.pid(p), r.task.cpu(p)) };
    // SAFETY: live task.
    if !unsafe { f.passes(&r.task, p, pid) } {
        return;
    }
    r.emit([Some((pid, p)), None], None, MIGRATE_MAX, |enc, dt| {
        enc.migrate(dt, pid, orig, dest_cpu as u32)
    });
}

/// `task_rename(struct task_struct *task, const char *comm)`: records the
/// new name (prctl(PR_SET_NAME), pthread_setname_np, and every exec), so a
/// task renamed after it was first named is not shown with a stale name.
///
/// # Safety
///
/// Called by the tracepoint with the `Recorder` registered as `data` and
/// the tracepoint's live arguments.
unsafe extern "C" fn probe_rename(data: *mut c_void, p: *mut Task, comm: *const c_char) {
    // SAFETY: registered data.
    let r = unsafe { &*data.cast::<Recorder>() };
    // SAFETY: live task.
    let pid = unsafe { r.task.pid(p) };
    // Every CPU that named the task must name it again (in flight
    // recording each CPU keeps its own names); when streaming, only a
    // rename left out of the stream leaves the old name there.
    let flight = r.pool.in_flight();
    if flight {
        r.forget(pid);
    }
    // SAFETY: as above.
    if !unsafe { r.filter.active().passes(&r.task, p, pid) } {
        if !flight {
            r.forget(pid);
        }
        return;
    }
    let mut name = [0u8; 16];
    for (i, slot) in name.iter_mut().take(TASK_NAME_MAX).enumerate() {
        // SAFETY: `comm` is NUL-terminated and every byte before `i` was
        // non-NUL, so index `i` is within the string.
        let c = unsafe { *comm.add(i) };
        if c == 0 {
            break;
        }
        *slot = c;
    }
    if r.pool.in_flight() {
        // The rename is the task record itself: no event follows it.
        r.pool
            .record_flight(0, 0, [None, None], Some(pid), |enc, dt, _| {
                // SAFETY: live task.
                unsafe { r.name_task(enc, dt, pid, p, &name) };
            });
        return;
    }
    let stored = r.pool.record_stream(TASK_MAX, 1, |enc, dt| {
        // SAFETY: live task.
        unsafe { r.name_task(enc, dt, pid, p, &name) };
    });
    if stored {
        r.names.insert(pid);
    } else {
        // The stream still has the old name: forget it, so the next event
        // of this task names it again.
        r.names.remove(pid);
    }
}

/// `cgroup_attach_task(struct cgroup *dst_cgrp, const char *path, struct
/// task_struct *task, bool threadgroup)`: a task, or its whole thread
/// group, moved to another cgroup. Their task records carry the cgroup, so
/// each is forgotten: its next event names it again, with the new cgroup.
/// Called with IRQs off (under `trace_cgroup_path_lock`).
///
/// # Safety
///
/// Called by the tracepoint with the `Recorder` registered as `data` and
/// the tracepoint's live arguments.
unsafe extern "C" fn probe_cgroup_attach(
    data: *mut c_void,
    _dst: *mut bindings::cgroup,
    _path: *const c_char,
    task: *mut Task,
    threadgroup: bool,
) {
    /// Forgets the PID given (the `Recorder` is `ctx`).
    ///
    /// # Safety
    ///
    /// `ctx` is a live `Recorder`.
    unsafe extern "C" fn forget(ctx: *mut c_void, pid: c_uint) {
        // SAFETY: by the caller's contract.
        unsafe { &*ctx.cast::<Recorder>() }.forget(pid);
    }
    // SAFETY: `data` is the registered `Recorder`; `task` is live and
    // `forget` gets the live recorder.
    unsafe { helpers::rust_trace_for_each_thread(task, threadgroup, forget, data) };
}

/// A tracepoint rust_trace attaches to, and its probe.
struct Probe {
    name: &'static [u8], // the tracepoint's name
    func: *const c_void, // the probe, with the tracepoint's TP_PROTO
    required: bool,      // the module does not load without it
}

/// Number of tracepoints: those attached for a session, and
/// `sched_waking`, attached only while the latency trigger is armed.
const NR_PROBES: usize = NR_SESSION + 1;
/// Number of tracepoints attached for every session.
const NR_SESSION: usize = 9;
/// Index of `sched_waking` in [`PROBES`].
const WAKING: usize = NR_SESSION;

/// The tracepoints rust_trace attaches to, with their probes: those that
/// name tasks (`task_rename`, fork, and `cgroup_attach_task` where the
/// kernel has cgroups), and the scheduler events. Attached in this order
/// and detached in the reverse one: the probes that name tasks are in
/// place whenever any other probe records.
const PROBES: [Probe; NR_PROBES] = [
    Probe {
        name: b"task_rename",
        func: probe_rename as *const c_void,
        required: true,
    },
    Probe {
        name: b"sched_process_fork",
        func: probe_fork as *const c_void,
        required: true,
    },
    Probe {
        name: b"cgroup_attach_task",
        func: probe_cgroup_attach as *const c_void,
        required: false,
    },
    Probe {
        name: b"sched_switch",
        func: probe_switch as *const c_void,
        required: true,
    },
    Probe {
        name: b"sched_wakeup",
        func: probe_wakeup as *const c_void,
        required: true,
    },
    Probe {
        name: b"sched_wakeup_new",
        func: probe_wakeup_new as *const c_void,
        required: true,
    },
    Probe {
        name: b"sched_process_exit",
        func: probe_exit as *const c_void,
        required: true,
    },
    Probe {
        name: b"sched_process_exec",
        func: probe_exec as *const c_void,
        required: true,
    },
    Probe {
        name: b"sched_migrate_task",
        func: probe_migrate as *const c_void,
        required: true,
    },
    Probe {
        name: b"sched_waking",
        func: probe_waking as *const c_void,
        required: false,
    },
];

/// The scheduler tracepoints, found at load.
///
/// # Invariants
///
/// Every non-null entry of `tps` is a core-kernel tracepoint (which lives
/// as long as the kernel), named as the same entry of [`PROBES`]; an entry
/// is null only for a tracepoint not [`Probe::required`] that this kernel
/// lacks. `attached` (at most [`NR_SESSION`]) is the number of leading
/// entries processed: their probes are registered where the tracepoint is
/// there. `waking` says whether the [`WAKING`] probe is registered (only
/// while `attached` is [`NR_SESSION`]).
pub(crate) struct Tracepoints {
    tps: [*mut bindings::tracepoint; NR_PROBES], // the tracepoints, in PROBES order
    attached: usize,                             // how many session probes are registered
    waking: bool,                                // the sched_waking probe is registered
}

// SAFETY: tracepoints are global kernel objects; the handle only names them.
unsafe impl Send for Tracepoints {}
// SAFETY: as above; mutation goes through `&mut self`.
unsafe impl Sync for Tracepoints {}

/// `for_each_kernel_tracepoint` callback: fills the table by name.
///
/// # Safety
///
/// `tp` is a live tracepoint and `data` the table passed by [`Tracepoints::find`].
unsafe extern "C" fn find_one(tp: *mut bindings::tracepoint, data: *mut c_void) {
    // SAFETY: `data` is the table `find` passed.
    let tps = unsafe { &mut *data.cast::<[*mut bindings::tracepoint; NR_PROBES]>() };
    // SAFETY: `tp` is a live tracepoint (bindgen's offset of `name` was
    // checked at load) with a NUL-terminated name, static like the tracepoint.
    let tp_name = unsafe { CStr::from_char_ptr((*tp).name) }.as_bytes();
    for (slot, probe) in tps.iter_mut().zip(PROBES.iter()) {
        if tp_name == probe.name {
            *slot = tp;
        }
    }
}

impl Tracepoints {
    /// Looks up the tracepoints of [`PROBES`]. May sleep.
    pub(crate) fn find() -> Result<Self> {
        let mut tps: [*mut bindings::tracepoint; NR_PROBES] = [ptr::null_mut(); NR_PROBES];
        // SAFETY: `find_one` matches the callback type; `tps` outlives the call.
        unsafe { helpers::for_each_kernel_tracepoint(find_one, ptr::addr_of_mut!(tps).cast()) };
        for (tp, probe) in tps.iter().zip(PROBES.iter()) {
            if tp.is_null() && probe.required {
                pr_err!(
                    "tracepoint {} not found\n",
                    core::str::from_utf8(probe.name).unwrap_or("?")
                );
                return Err(ENODEV);
            }
        }
        // INVARIANT: every required entry was found by name; nothing is
        // attached.
        Ok(Tracepoints {
            tps,
            attached: 0,
            waking: false,
        })
    }

    /// Attaches every probe with `rec` as its data. On failure detaches the
    /// ones attached and returns the error. May sleep.
    ///
    /// # Safety
    ///
    /// `rec` must stay valid until [`Tracepoints::detach`] has returned.
    pub(crate) unsafe fn attach(&mut self, rec: &Recorder) -> Result {
        let data = ptr::from_ref(rec).cast_mut().cast::<c_void>();
        while self.attached < NR_SESSION {
            let i = self.attached;
            if self.tps[i].is_null() {
                // INVARIANT: an absent optional tracepoint, processed.
                self.attached += 1;
                continue;
            }
            // SAFETY: `tps[i]` is a live tracepoint (type invariant) and
            // `PROBES[i].func` has its TP_PROTO; `data` outlives the
            // registration by the caller's contract.
            let ret = unsafe {
                helpers::tracepoint_probe_register(self.tps[i], PROBES[i].func.cast_mut(), data)
            };
            if ret != 0 {
                // SAFETY: detaching exactly what was attached, same `rec`.
                unsafe { self.detach(rec) };
                return Err(Error::from_errno(ret));
            }
            // INVARIANT: one more probe registered.
            self.attached += 1;
        }
        Ok(())
    }

    /// Detaches the attached probes and waits until none is running. May sleep.
    ///
    /// # Safety
    ///
    /// `rec` must be the one given to [`Tracepoints::attach`].
    pub(crate) unsafe fn detach(&mut self, rec: &Recorder) {
        if self.attached == 0 {
            return;
        }
        let data = ptr::from_ref(rec).cast_mut().cast::<c_void>();
        if self.waking {
            // SAFETY: registered with this `rec`.
            unsafe { self.unregister(WAKING, data) };
            self.waking = false;
        }
        while self.attached > 0 {
            self.attached -= 1;
            let i = self.attached;
            if self.tps[i].is_null() {
                continue;
            }
            // SAFETY: this (tracepoint, probe, data) triple was registered.
            let ret = unsafe {
                helpers::tracepoint_probe_unregister(self.tps[i], PROBES[i].func.cast_mut(), data)
            };
            if ret != 0 {
                pr_warn!("unregistering probe {} failed: {}\n", i, ret);
            }
        }
        // SAFETY: process context; waits for probes still running.
        unsafe { helpers::rust_trace_tracepoint_sync() };
    }

    /// Attaches the `sched_waking` probe of the latency trigger (nothing
    /// if attached already); `ENODEV` if the kernel lacks the tracepoint.
    /// May sleep.
    ///
    /// # Safety
    ///
    /// The session probes are attached with `rec`, which stays valid until
    /// [`Tracepoints::detach`] has returned.
    pub(crate) unsafe fn attach_waking(&mut self, rec: &Recorder) -> Result {
        if self.waking {
            return Ok(());
        }
        let tp = self.tps[WAKING];
        if tp.is_null() || self.attached != NR_SESSION {
            return Err(ENODEV);
        }
        let data = ptr::from_ref(rec).cast_mut().cast::<c_void>();
        // SAFETY: `tp` is a live tracepoint with the probe's TP_PROTO;
        // `data` outlives the registration by the caller's contract.
        let ret =
            unsafe { helpers::tracepoint_probe_register(tp, PROBES[WAKING].func.cast_mut(), data) };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: registered while the session probes are.
        self.waking = true;
        Ok(())
    }

    /// Detaches the `sched_waking` probe, if attached, and waits until it
    /// is not running. May sleep.
    ///
    /// # Safety
    ///
    /// `rec` must be the one given to [`Tracepoints::attach_waking`].
    pub(crate) unsafe fn detach_waking(&mut self, rec: &Recorder) {
        if !self.waking {
            return;
        }
        let data = ptr::from_ref(rec).cast_mut().cast::<c_void>();
        // SAFETY: registered with this `rec`.
        unsafe { self.unregister(WAKING, data) };
        self.waking = false;
        // SAFETY: process context.
        unsafe { helpers::rust_trace_tracepoint_sync() };
    }

    /// Unregisters probe `i` with `data`.
    ///
    /// # Safety
    ///
    /// Probe `i` is registered with `data`.
    unsafe fn unregister(&self, i: usize, data: *mut c_void) {
        // SAFETY: by the caller's contract.
        let ret = unsafe {
            helpers::tracepoint_probe_unregister(self.tps[i], PROBES[i].func.cast_mut(), data)
        };
        if ret != 0 {
            pr_warn!("unregistering probe {} failed: {}\n", i, ret);
        }
    }
}
