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
//! task. Not every new task is a fork: io_uring's and vhost's workers
//! (create_io_thread(), vhost_task_create()) come from copy_process()
//! without `sched_process_fork`, so `task_newtask`, which copy_process()
//! traces for every task before it can run, forgets the new PID (and the
//! PID filter follows it as the creator's child). `task_rename`,
//! `task_newtask` and `sched_process_fork` are attached before the other
//! probes and detached after them, so no rename or new task goes unseen
//! while events are recorded.
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
//! `sched_migrate_task`, and IRQs off for `sched_switch` (`__schedule()`
//! disables them before it takes the lock), which its write path relies
//! on instead of saving and restoring them. They call only the pool's
//! write paths (lock-free, IRQs off inside), atomic bitmap operations and,
//! for task records and the cgroup filter, RCU-protected reads of the
//! task's cgroup; the reader's wake-up is deferred to an irq_work by the
//! pool. Registration runs in process context and may sleep.
//!
//! # The common case
//!
//! Most events are streamed and name no task that is not named yet. That
//! path is kept inline in each probe and short: the filter word, the two
//! name bits, the clock, one room check, the encoding (each event a value,
//! [`Event`], whose encoding the compiler inlines) and the commit. Naming
//! tasks is a call out of line ([`Recorder::emit_slow`]); flight
//! recording is inline too, its naming out of line as well.

use core::ptr;

use kernel::bindings;
use kernel::ffi::{c_char, c_int, c_uint, c_ulong, c_void};
use kernel::prelude::*;
use kernel::str::CStr;

use crate::bufpool::{BufPool, Encode, EncodeNamed};
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
        // SAFETY: live task, `comm`'s offset: 16 bytes, 8-aligned in
        // `task_struct` (helpers.c asserts it). Two volatile word loads
        // tolerate a concurrent rename as well as sixteen byte loads (a
        // name may mix old and new bytes, as in ftrace).
        let words = unsafe {
            let c = p.cast::<u8>().add(self.layout.comm).cast::<u64>();
            [ptr::read_volatile(c), ptr::read_volatile(c.add(1))]
        };
        // SAFETY: two u64 are sixteen bytes, in memory order.
        unsafe { core::mem::transmute::<[u64; 2], [u8; 16]>(words) }
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
#[inline(always)]
fn state_index(prev_state: u32, exit_state: u32) -> u32 {
    // Running, sleeping or blocked (0, 1, 2), the common cases: the index
    // is the state itself (what the general case below computes for them).
    let s = prev_state | exit_state;
    if s <= bindings::TASK_UNINTERRUPTIBLE {
        return s;
    }
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

/// A task to name, if any: its PID and the task.
type Named = Option<(u32, *mut Task)>;

/// One scheduler event as a probe hands it to [`Recorder::emit`]: a value,
/// not a closure, so that its encoding is inlined into each probe's common
/// path even though the out-of-line path encodes it too (the compiler
/// inlines a closure only where it has one caller).
#[derive(Clone, Copy)]
enum Event {
    /// `sched_switch`: `state` is a state index ([`state_index`]).
    Switch {
        prev_pid: u32, // the task switched out
        state: u32,    // its state index
        next_pid: u32, // the task switched in
    },
    /// `sched_wakeup` or, with `new`, `sched_wakeup_new`.
    Wakeup {
        new: bool, // sched_wakeup_new
        pid: u32,  // the task woken
        cpu: u32,  // the CPU it will run on
    },
    /// `sched_process_fork`.
    Fork {
        parent: u32, // the forking task
        child: u32,  // the new one
    },
    /// `sched_process_exit`.
    Exit {
        pid: u32, // the task exiting
    },
    /// `sched_process_exec`.
    Exec {
        pid: u32,     // the task after exec
        old_pid: u32, // its PID before (a thread's exec takes the leader's)
    },
    /// `sched_migrate_task`.
    Migrate {
        pid: u32,  // the task moved
        orig: u32, // the CPU it leaves
        dest: u32, // the CPU it goes to
    },
}

impl Event {
    /// The PIDs of the tasks it names, to be named before it if they are
    /// not yet: the tasks a probe passes along, in this order. (A fork
    /// names its parent so, and its child always: see [`Recorder::emit`].)
    #[inline(always)]
    fn pids(self) -> [Option<u32>; 2] {
        match self {
            Event::Switch {
                prev_pid, next_pid, ..
            } => [Some(prev_pid), Some(next_pid)],
            Event::Fork { parent, .. } => [Some(parent), None],
            Event::Wakeup { pid, .. }
            | Event::Exit { pid }
            | Event::Exec { pid, .. }
            | Event::Migrate { pid, .. } => [Some(pid), None],
        }
    }

    /// The tasks to name before it unless they are named already, with
    /// their PIDs, and the one to name in any case (a fork's child), given
    /// the tasks the probe passed along ([`Event::pids`]' order).
    #[inline(always)]
    fn names(self, tasks: [*mut Task; 2]) -> ([Named; 2], Named) {
        let pids = self.pids();
        let names = [
            pids[0].map(|pid| (pid, tasks[0])),
            pids[1].map(|pid| (pid, tasks[1])),
        ];
        let always = match self {
            Event::Fork { child, .. } => Some((child, tasks[1])),
            _ => None,
        };
        (names, always)
    }

    /// The event as two words: its kind and first field, its second and
    /// third ([`Event::from_words`] undoes it). An event leaves the probe
    /// this way for [`Recorder::emit_slow`]: as 16 bytes the Rust ABI
    /// passes it through memory, and the compiler then stored it on the
    /// common path as well, 5 instructions per event for nothing.
    #[inline(always)]
    fn to_words(self) -> (u64, u64) {
        let (kind, a, b, c) = match self {
            Event::Switch {
                prev_pid,
                state,
                next_pid,
            } => (0u32, prev_pid, state, next_pid),
            Event::Wakeup { new, pid, cpu } => (1, u32::from(new), pid, cpu),
            Event::Fork { parent, child } => (2, parent, child, 0),
            Event::Exit { pid } => (3, pid, 0, 0),
            Event::Exec { pid, old_pid } => (4, pid, old_pid, 0),
            Event::Migrate { pid, orig, dest } => (5, pid, orig, dest),
        };
        (
            u64::from(kind) | u64::from(a) << 32,
            u64::from(b) | u64::from(c) << 32,
        )
    }

    /// The event [`Event::to_words`] made `(w0, w1)` of.
    #[inline(always)]
    fn from_words(w0: u64, w1: u64) -> Event {
        let (a, b, c) = ((w0 >> 32) as u32, w1 as u32, (w1 >> 32) as u32);
        match w0 as u32 {
            0 => Event::Switch {
                prev_pid: a,
                state: b,
                next_pid: c,
            },
            1 => Event::Wakeup {
                new: a != 0,
                pid: b,
                cpu: c,
            },
            2 => Event::Fork {
                parent: a,
                child: b,
            },
            3 => Event::Exit { pid: a },
            4 => Event::Exec { pid: a, old_pid: b },
            _ => Event::Migrate {
                pid: a,
                orig: b,
                dest: c,
            },
        }
    }

    /// The longest encoding of this event: what is reserved for it.
    #[inline(always)]
    fn max_len(self) -> usize {
        match self {
            Event::Switch { .. } => SWITCH_MAX,
            Event::Wakeup { .. } => WAKEUP_MAX,
            Event::Fork { .. } => FORK_MAX,
            Event::Exit { .. } => EXIT_MAX,
            Event::Exec { .. } => EXEC_MAX,
            Event::Migrate { .. } => MIGRATE_MAX,
        }
    }
}

impl Encode for Event {
    /// Encodes it, `dt` after the event before.
    #[inline(always)]
    fn encode(self, enc: &mut Encoder<'_>, dt: u64) {
        match self {
            Event::Switch {
                prev_pid,
                state,
                next_pid,
            } => enc.switch(dt, prev_pid, state, next_pid),
            Event::Wakeup { new, pid, cpu } => enc.wakeup(dt, new, pid, cpu),
            Event::Fork { parent, child } => enc.fork(dt, parent, child),
            Event::Exit { pid } => enc.exit(dt, pid),
            Event::Exec { pid, old_pid } => enc.exec(dt, pid, old_pid),
            Event::Migrate { pid, orig, dest } => enc.migrate(dt, pid, orig, dest),
        }
    }
}

/// An event to record in flight recording with the tasks it may name
/// first (which ones, the CPU's name cache decides): a value, not a
/// closure, as [`Event`] is.
#[derive(Clone, Copy)]
struct FlightEvent<'a> {
    rec: &'a Recorder, // whose task fields to read
    names: [Named; 3], // the event's tasks, then the one always named (see `Event::names`)
    ev: Event,         // the event
}

impl EncodeNamed for FlightEvent<'_> {
    #[inline(always)]
    fn encode(self, enc: &mut Encoder<'_>, dt: u64, which: [bool; 3]) {
        let dt = if which == [false; 3] {
            // Every task named on this CPU in this epoch: the common case.
            dt
        } else {
            self.rec.name_tasks(enc, dt, self.names, which)
        };
        self.ev.encode(enc, dt);
    }
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

    /// Records `ev`, preceded by the task records of the tasks it names
    /// ([`Event::pids`], whose tasks are `tasks`) that are not named yet,
    /// and of a fork's child in any case. Whether a PID is named is
    /// decided by the set of named PIDs when streaming (before the write),
    /// by the CPU's name cache with IRQs off in flight recording. The
    /// callers read each PID once and pass it in `ev`. Tracepoint context.
    ///
    /// The common case, streaming an event whose tasks are all named, is
    /// the one kept inline: two bitmap tests and the write. Naming tasks
    /// is a call out of line, whose arguments are few, so that their
    /// spills stay off the common path. Flight recording is inline too
    /// (see [`Recorder::emit_flight`]), its naming out of line.
    ///
    /// `flight` is [`BufPool::in_flight`] as the probe read it (once: the
    /// mode changes only while no probe runs). `irqs_off` says that the
    /// probe runs with IRQs off already (`sched_switch`), so the common
    /// case need not save and restore them.
    ///
    /// # Safety
    ///
    /// IRQs are off on this CPU if `irqs_off`.
    #[inline(always)]
    unsafe fn emit(&self, flight: bool, irqs_off: bool, ev: Event, tasks: [*mut Task; 2]) {
        if flight {
            // SAFETY: IRQs are off if `irqs_off`, by the caller's contract.
            unsafe { self.emit_flight(irqs_off, ev, tasks[0], tasks[1]) };
            return;
        }
        let pids = ev.pids();
        let named = |n: Option<u32>| n.map_or(true, |pid| self.names.contains(pid));
        if !matches!(ev, Event::Fork { .. }) && named(pids[0]) && named(pids[1]) {
            // SAFETY: IRQs are off if `irqs_off`, by the caller's contract.
            unsafe { self.pool.record_stream_in(irqs_off, ev.max_len(), 1, ev) };
        } else {
            let (w0, w1) = ev.to_words();
            self.emit_slow(w0, w1, tasks[0], tasks[1]);
        }
    }

    /// Streaming [`Recorder::emit`] when a task must be named first: the
    /// event as [`Event::to_words`] gives it. Tracepoint context.
    #[inline(never)]
    fn emit_slow(&self, w0: u64, w1: u64, task0: *mut Task, task1: *mut Task) {
        let ev = Event::from_words(w0, w1);
        let (names, always_name) = ev.names([task0, task1]);
        self.emit_named(names, always_name, ev);
    }

    /// [`Recorder::emit_slow`]'s body: names the tasks of `names` not
    /// named yet and `always_name`, then records `ev`, in one
    /// reservation; marks the names stored, or forgets a lost fork's
    /// child. Tracepoint context.
    #[inline(always)]
    fn emit_named(&self, names: [Named; 2], always_name: Named, ev: Event) {
        let first = names[0].filter(|&(pid, _)| !self.names.contains(pid));
        let second = names[1]
            .filter(|&(pid, _)| !self.names.contains(pid) && first.map(|f| f.0) != Some(pid));
        let named = [first, second, always_name];
        // At most 3: the arithmetic below cannot overflow.
        let n = usize::from(first.is_some())
            + usize::from(second.is_some())
            + usize::from(always_name.is_some());
        let len = ev.max_len().wrapping_add(n.wrapping_mul(TASK_MAX));
        let stored = self.pool.record_stream(
            len,
            (n as u32).wrapping_add(1),
            move |enc: &mut Encoder<'_>, dt: u64| {
                let mut dt = dt;
                for &(pid, p) in named.iter().flatten() {
                    // SAFETY: live task; read with IRQs off, once.
                    unsafe { self.name_task(enc, dt, pid, p, &self.task.comm(p)) };
                    dt = 0;
                }
                ev.encode(enc, dt);
            },
        );
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

    /// [`Recorder::emit`] in flight recording: each CPU's name cache
    /// decides, with IRQs off. Tracepoint context.
    ///
    /// Inline in each probe, where the event's kind and `irqs_off` are
    /// known: out of line, one copy for every event kind, it cost 80
    /// instructions more per `sched_switch` (366 against 286 in the
    /// microbenchmark), for 7 fewer on the streaming path it leaves.
    ///
    /// # Safety
    ///
    /// IRQs are off on this CPU if `irqs_off`.
    #[inline(always)]
    unsafe fn emit_flight(&self, irqs_off: bool, ev: Event, task0: *mut Task, task1: *mut Task) {
        let (names, always_name) = ev.names([task0, task1]);
        let pid = |n: Named| n.map(|(pid, _)| pid);
        let pids = [pid(names[0]), pid(names[1])];
        let rec = FlightEvent {
            rec: self,
            names: [names[0], names[1], always_name],
            ev,
        };
        // SAFETY: IRQs are off if `irqs_off`, by the caller's contract.
        unsafe {
            self.pool
                .record_flight_in(irqs_off, ev.max_len(), 1, pids, pid(always_name), rec)
        };
    }

    /// Writes the task records of the tasks of `names` that `which` marks,
    /// the first `dt` after the event before, and returns the `dt` of the
    /// record that follows them. Out of line: most events name no task.
    /// Tracepoint context, IRQs off.
    #[inline(never)]
    fn name_tasks(
        &self,
        enc: &mut Encoder<'_>,
        dt: u64,
        names: [Named; 3],
        which: [bool; 3],
    ) -> u64 {
        let mut dt = dt;
        for (n, w) in names.iter().zip(which.iter()) {
            if let (Some((pid, p)), true) = (*n, *w) {
                // SAFETY: live task (a tracepoint argument); read with IRQs
                // off, once.
                unsafe { self.name_task(enc, dt, pid, p, &self.task.comm(p)) };
                dt = 0;
            }
        }
        dt
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
    let flight = r.pool.in_flight();
    // The trigger is armed only in flight recording: one test when
    // streaming.
    if flight && r.trigger.armed() {
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
    // The PIDs are read after the filter's calls, not before: then they
    // are not live across them, and the compiler keeps them in registers
    // on the common path.
    if f.filters_tasks()
        // SAFETY: tracepoint arguments are live tasks.
        && !unsafe { f.either_passes_filter(&r.task, prev, next) }
    {
        return;
    }
    // SAFETY: as above.
    let (prev_pid, next_pid) = unsafe { (r.task.pid(prev), r.task.pid(next)) };
    let state = if preempt {
        STATE_PREEMPTED
    } else {
        // SAFETY: as above. Read only when it matters: not on preemptions.
        state_index(prev_state, unsafe { r.task.exit_state(prev) })
    };
    // SAFETY: `__schedule()` calls the tracepoint with IRQs off.
    unsafe {
        r.emit(
            flight,
            true,
            Event::Switch {
                prev_pid,
                state,
                next_pid,
            },
            [prev, next],
        )
    };
}

/// The `sched_switch` probe as the microbenchmark calls it: `p` switches
/// to itself, leaving in state S.
#[cfg(rust_trace_microbench)]
///
/// # Safety
///
/// `p` is a live task; IRQs are off, as the scheduler calls the probe.
pub(crate) unsafe fn bench_switch(r: &Recorder, p: *mut Task) {
    let data = ptr::from_ref(r).cast_mut().cast::<c_void>();
    // SAFETY: `data` is a live recorder, `p` a live task, IRQs off.
    unsafe { probe_switch(data, false, p, p, bindings::TASK_INTERRUPTIBLE) };
}

/// An empty function of [`bench_switch`]'s signature, which the
/// microbenchmark times the same way: the cost of the timing loop and the
/// call, to tell apart from the probe's.
#[cfg(rust_trace_microbench)]
#[inline(never)]
pub(crate) fn bench_empty(r: &Recorder, p: *mut Task) {
    core::hint::black_box((r, p));
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
    // SAFETY: `irqs_off` is false.
    unsafe {
        r.emit(
            r.pool.in_flight(),
            false,
            Event::Wakeup { new, pid, cpu },
            [p, ptr::null_mut()],
        )
    };
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

/// `task_newtask(struct task_struct *task, unsigned long clone_flags)`,
/// traced by copy_process() for every new task, among them the workers
/// made outside kernel_clone() (io_uring's by create_io_thread(), vhost's
/// by vhost_task_create()), which trace no `sched_process_fork`. The new
/// task's PID may still be named after, and be in the PID filter's set
/// for, a task that had it before: it is forgotten (its next event names
/// it), and the filter follows it as a child of the task creating it,
/// as for a fork. The task cannot run yet (wake_up_new_task() comes
/// after), so no event of it precedes this. Tracepoint context.
///
/// # Safety
///
/// Called by the tracepoint with the `Recorder` registered as `data` and
/// the tracepoint's live arguments.
unsafe extern "C" fn probe_newtask(data: *mut c_void, task: *mut Task, _clone_flags: c_ulong) {
    // SAFETY: registered data.
    let r = unsafe { &*data.cast::<Recorder>() };
    let f = r.filter.active();
    // SAFETY: the creating task is `current`, live.
    let parent = unsafe { helpers::rust_trace_current() }.cast::<Task>();
    // SAFETY: live tasks.
    let (ppid, cpid) = unsafe { (r.task.pid(parent), r.task.pid(task)) };
    // SAFETY: as above.
    let parent_passes = unsafe { f.passes(&r.task, parent, ppid) };
    // SAFETY: as above.
    unsafe { f.follow_fork(&r.task, parent_passes, task, cpid) };
    r.forget(cpid);
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
    let flight = r.pool.in_flight();
    if flight || !recorded {
        r.forget(cpid);
    }
    if !recorded {
        return;
    }
    // SAFETY: `irqs_off` is false.
    unsafe {
        r.emit(
            flight,
            false,
            Event::Fork {
                parent: ppid,
                child: cpid,
            },
            [parent, child],
        )
    };
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
    // SAFETY: `irqs_off` is false.
    unsafe {
        r.emit(
            r.pool.in_flight(),
            false,
            Event::Exit { pid },
            [p, ptr::null_mut()],
        )
    };
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
    // SAFETY: `irqs_off` is false.
    unsafe {
        r.emit(
            r.pool.in_flight(),
            false,
            Event::Exec {
                pid,
                old_pid: old_pid as u32,
            },
            [p, ptr::null_mut()],
        )
    };
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
    // SAFETY: `irqs_off` is false.
    unsafe {
        r.emit(
            r.pool.in_flight(),
            false,
            Event::Migrate {
                pid,
                orig,
                dest: dest_cpu as u32,
            },
            [p, ptr::null_mut()],
        )
    };
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
    if flight {
        // The rename is the task record itself: no event follows it.
        r.pool.record_flight(
            0,
            0,
            [None, None],
            Some(pid),
            |enc: &mut Encoder<'_>, dt: u64, _: [bool; 3]| {
                // SAFETY: live task.
                unsafe { r.name_task(enc, dt, pid, p, &name) };
            },
        );
        return;
    }
    let stored = r
        .pool
        .record_stream(TASK_MAX, 1, |enc: &mut Encoder<'_>, dt: u64| {
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
const NR_SESSION: usize = 10;
/// Index of `sched_waking` in [`PROBES`].
const WAKING: usize = NR_SESSION;

/// The tracepoints rust_trace attaches to, with their probes: those that
/// name tasks (`task_rename`, `task_newtask`, fork, and
/// `cgroup_attach_task` where the kernel has cgroups), and the scheduler
/// events. Attached in this order
/// and detached in the reverse one: the probes that name tasks are in
/// place whenever any other probe records.
const PROBES: [Probe; NR_PROBES] = [
    Probe {
        name: b"task_rename",
        func: probe_rename as *const c_void,
        required: true,
    },
    Probe {
        name: b"task_newtask",
        func: probe_newtask as *const c_void,
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
