// SPDX-License-Identifier: GPL-2.0

//! Filters: which tasks and which event types the probes record.
//!
//! Commands written to `/dev/rust_trace` (parsed by [`FilterCmd::parse`]):
//!
//! ```text
//!   filter pid <pid>...     those tasks, and the tasks they fork from then on
//!   filter tgid <tgid>...   every thread of those processes, present and future
//!   filter cgroup <path>    the tasks in that cgroup v2 directory or below it
//!   filter clear            every task
//!   events <name>,...       the event types recorded (switch, wakeup,
//!                           wakeup_new, fork, exit, exec, migrate), or `all`
//! ```
//!
//! At most [`FILTER_IDS_MAX`] PIDs or TGIDs, numbers as the PID namespace
//! of the file's opener sees them; a cgroup path as `/proc/self/cgroup`
//! shows it to the opener (relative to the opener's cgroup namespace
//! root, starting with `/`). The opener's, not the writer's: a descriptor
//! passed to or inherited by a task in another namespace names what its
//! opener meant (cgroup.c's rule for its files, "to protect against
//! inherited fd attacks").
//! The task filter and the event types are two settings: `filter clear`
//! leaves the event types, `events all` leaves the task filter. Both stay
//! in force across sessions until changed, like ftrace's `set_event_pid`.
//!
//! # What passes
//!
//! An event is recorded when its type is selected and at least one task it
//! names passes the task filter: `sched_switch` prev or next, a wakeup the
//! woken task, fork the parent or the child, exit, exec and migrate the
//! task. Task records (names) go with the events that need them, whatever
//! the filter. An event filtered out is neither written nor lost: the
//! accounting (`written == read + lost`) counts only what the filter let
//! through.
//!
//! # Following forks
//!
//! The PID filter's set grows in the `sched_process_fork` probe: a child
//! of a task in the set joins it, and a child of a task outside it leaves
//! it (the PID may be a reused one), as ftrace's `event-fork` option does.
//! Forks are seen only while probes are attached, so when a filter is set,
//! and again when a session starts, the set is rebuilt from the PIDs given
//! plus their live descendants (by the process tree: a thread counts as its
//! group leader's child). Tasks that exited meanwhile and were reparented
//! are not found.
//!
//! # The stream says what it left out
//!
//! Each session opens with an `EV_FILTER` record of the filter in force,
//! and every change during a session writes one more, on the CPU of the
//! writer, before the change takes effect. If that record cannot be stored
//! (the CPU has no empty buffer), the command fails with `ENOBUFS` and
//! nothing changes: a capture never runs under a filter it does not state.
//! Events recorded on other CPUs within the few microseconds of a change
//! may follow either filter.
//!
//! # Changing the filter under running probes
//!
//! The probes read one word, [`Filter::state`]: the kind, the event mask and
//! which of two [`Slot`]s holds the filter's data. A change fills the slot
//! no probe reads, switches the word, then waits for an RCU grace period
//! (probes run with preemption off, so they are RCU readers): after it, no
//! probe still reads the old slot, which may then be emptied and reused.
//! Probes never see a half-built filter. A fork followed into the old slot
//! in that window is caught by walking the descendants again.
//!
//! # Context
//!
//! [`Active`] (what the probes use) runs in tracepoint context: atomic
//! loads, bit operations, and for a cgroup filter an RCU-protected read of
//! the task's cgroup; nothing sleeps. Everything else here runs in process
//! context under the session lock and may sleep.

use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

use kernel::bindings;
use kernel::ffi::{c_char, c_uint, c_void};
use kernel::prelude::*;

use crate::format::{
    EVENTS_ALL, EVENT_NAMES, FILTER_CGROUP, FILTER_IDS_MAX, FILTER_NONE, FILTER_PID, FILTER_TGID,
};
use crate::helpers::{self, cpu, Opener};
use crate::pidset::PidSet;
use crate::probes::{Task, TaskFields};

/// A change a command asks for, parsed but not yet checked against the
/// system (PIDs may not exist, the cgroup may be missing).
pub(crate) enum FilterCmd {
    /// `filter pid|tgid <id>...`: the kind and the ids as the writer sees them.
    Ids(u8, [u32; FILTER_IDS_MAX], usize),
    /// `filter cgroup <path>`: the path, NUL-terminated.
    Cgroup(KVec<u8>),
    /// `filter clear`.
    Clear,
    /// `events <list>`: the event mask.
    Events(u32),
}

/// Parses a decimal id: 1..=`i32::MAX`, digits only.
fn parse_id(w: &[u8]) -> Result<u32> {
    if w.is_empty() || w.len() > 10 {
        return Err(EINVAL);
    }
    let mut v: u64 = 0;
    for &c in w {
        if !c.is_ascii_digit() {
            return Err(EINVAL);
        }
        v = v * 10 + u64::from(c - b'0');
    }
    if v == 0 || v > i32::MAX as u64 {
        return Err(EINVAL);
    }
    Ok(v as u32)
}

/// Parses an event list: names from [`EVENT_NAMES`] separated by commas,
/// or `all`.
fn parse_events(list: &[u8]) -> Result<u32> {
    if list == b"all" {
        return Ok(EVENTS_ALL);
    }
    let mut mask = 0u32;
    for name in list.split(|&c| c == b',') {
        let ty = EVENT_NAMES
            .iter()
            .find(|(_, n)| n.as_bytes() == name)
            .map(|&(ty, _)| ty)
            .ok_or(EINVAL)?;
        mask |= 1 << ty;
    }
    Ok(mask)
}

impl FilterCmd {
    /// Parses a `filter` or `events` command, `words` being its
    /// whitespace-separated words. `EINVAL` on anything else: an unknown
    /// word, a missing or extra argument, an id that is not a positive
    /// decimal number, more than [`FILTER_IDS_MAX`] ids, a relative path.
    pub(crate) fn parse<'a>(mut words: impl Iterator<Item = &'a [u8]>) -> Result<Self> {
        let cmd = match (words.next(), words.next()) {
            (Some(b"events"), Some(list)) => FilterCmd::Events(parse_events(list)?),
            (Some(b"filter"), Some(b"clear")) => FilterCmd::Clear,
            (Some(b"filter"), Some(b"cgroup")) => {
                let path = words.next().ok_or(EINVAL)?;
                if path.first() != Some(&b'/') {
                    return Err(EINVAL);
                }
                let mut p = KVec::with_capacity(path.len() + 1, GFP_KERNEL)?;
                p.extend_from_slice(path, GFP_KERNEL)?;
                p.push(0, GFP_KERNEL)?;
                FilterCmd::Cgroup(p)
            }
            (Some(b"filter"), Some(kind @ (b"pid" | b"tgid"))) => {
                let kind = if kind == b"pid" {
                    FILTER_PID
                } else {
                    FILTER_TGID
                };
                let mut ids = [0u32; FILTER_IDS_MAX];
                let mut n = 0;
                for w in words.by_ref() {
                    *ids.get_mut(n).ok_or(EINVAL)? = parse_id(w)?;
                    n += 1;
                }
                if n == 0 {
                    return Err(EINVAL);
                }
                return Ok(FilterCmd::Ids(kind, ids, n));
            }
            _ => return Err(EINVAL),
        };
        if words.next().is_some() {
            return Err(EINVAL);
        }
        Ok(cmd)
    }
}

/// A reference on a cgroup; dropping it puts the reference.
///
/// # Invariants
///
/// `0` is a cgroup on which this value owns one reference.
pub(crate) struct CgroupRef(*mut bindings::cgroup);

// SAFETY: a cgroup reference may be put from any thread.
unsafe impl Send for CgroupRef {}
// SAFETY: shared access only reads the pointer.
unsafe impl Sync for CgroupRef {}

impl CgroupRef {
    /// Looks up the cgroup v2 directory at `path` (NUL-terminated) from
    /// the root of `opener`'s cgroup namespace: `ENOENT` if there is none
    /// (or the writer cannot see that root), `ENOTDIR` if it is a file,
    /// `EOPNOTSUPP` without cgroups. May sleep.
    fn lookup(path: &[u8], opener: &Opener) -> Result<Self> {
        if path.last() != Some(&0) {
            return Err(EINVAL);
        }
        let mut cgrp = ptr::null_mut();
        // SAFETY: `opener` is a live file's; `path` is NUL-terminated;
        // `cgrp` is valid for writing.
        let ret = unsafe {
            helpers::rust_trace_cgroup_lookup(opener, path.as_ptr().cast::<c_char>(), &mut cgrp)
        };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: the lookup took a reference on success.
        Ok(CgroupRef(cgrp))
    }

    /// Another reference on the same cgroup.
    fn clone_ref(&self) -> Self {
        // SAFETY: we hold a reference, so the cgroup is live.
        unsafe { helpers::rust_trace_cgroup_get(self.0) };
        // INVARIANT: one more reference taken.
        CgroupRef(self.0)
    }

    /// The cgroup's id (its inode number in cgroupfs), as task records give it.
    fn id(&self) -> u64 {
        // SAFETY: live cgroup.
        unsafe { helpers::rust_trace_cgroup_id(self.0) }
    }

    /// Gives up ownership of the reference, returning the pointer.
    fn into_raw(self) -> *mut bindings::cgroup {
        let p = self.0;
        core::mem::forget(self);
        p
    }
}

impl Drop for CgroupRef {
    fn drop(&mut self) {
        // SAFETY: we own this reference.
        unsafe { helpers::rust_trace_cgroup_put(self.0) };
    }
}

/// The filter the commands set, kept by the session (under its lock)
/// while the probes use [`Filter`].
///
/// # Invariants
///
/// `n <= FILTER_IDS_MAX`; `n > 0` for `FILTER_PID` and `FILTER_TGID`
/// (global ids), 0 otherwise; `cgroup` is set exactly for `FILTER_CGROUP`;
/// `events` has only bits of [`EVENTS_ALL`].
pub(crate) struct FilterSpec {
    kind: u8,                   // FILTER_*
    events: u32,                // event types recorded: bit `1 << type`
    ids: [u32; FILTER_IDS_MAX], // PIDs or TGIDs, in the initial PID namespace
    n: usize,                   // ids used
    cgroup: Option<CgroupRef>,  // FILTER_CGROUP: the cgroup
}

impl FilterSpec {
    /// No filter: every task, every event.
    pub(crate) fn all() -> Self {
        // INVARIANT: kind none, no ids, no cgroup, every event.
        FilterSpec {
            kind: FILTER_NONE,
            events: EVENTS_ALL,
            ids: [0; FILTER_IDS_MAX],
            n: 0,
            cgroup: None,
        }
    }

    /// This filter changed as `cmd` asks: PIDs are translated from the PID
    /// namespace of the file's opener (`ESRCH` if one names no task, or
    /// for `tgid` no process), the cgroup is looked up from the opener's
    /// cgroup namespace root (see [`CgroupRef::lookup`]). May sleep.
    pub(crate) fn changed(&self, cmd: &FilterCmd, opener: &Opener) -> Result<Self> {
        let mut spec = FilterSpec {
            kind: self.kind,
            events: self.events,
            ids: self.ids,
            n: self.n,
            cgroup: self.cgroup.as_ref().map(CgroupRef::clone_ref),
        };
        match cmd {
            FilterCmd::Events(mask) => spec.events = mask & EVENTS_ALL,
            FilterCmd::Clear => {
                spec.kind = FILTER_NONE;
                spec.n = 0;
                spec.cgroup = None;
            }
            FilterCmd::Cgroup(path) => {
                spec.cgroup = Some(CgroupRef::lookup(path, opener)?);
                spec.kind = FILTER_CGROUP;
                spec.n = 0;
            }
            FilterCmd::Ids(kind, ids, n) => {
                for (slot, &id) in spec.ids.iter_mut().zip(ids.iter().take(*n)) {
                    // SAFETY: `opener` is a live file's; looks the id up
                    // under RCU.
                    let global = unsafe {
                        helpers::rust_trace_pid_resolve(opener, id as i32, *kind == FILTER_TGID)
                    };
                    if global < 0 {
                        return Err(Error::from_errno(global));
                    }
                    *slot = global as u32;
                }
                spec.kind = *kind;
                spec.n = *n;
                spec.cgroup = None;
            }
        }
        // INVARIANT: each arm keeps kind, n and cgroup consistent; the mask
        // is cut to EVENTS_ALL.
        Ok(spec)
    }

    /// The ids the stream's filter record lists: the PIDs or TGIDs, or the
    /// cgroup's id.
    pub(crate) fn record_ids(&self, out: &mut [u64; FILTER_IDS_MAX]) -> usize {
        if let Some(c) = &self.cgroup {
            out[0] = c.id();
            return 1;
        }
        for (o, &id) in out.iter_mut().zip(self.ids.iter().take(self.n)) {
            *o = id.into();
        }
        self.n
    }

    /// The kind (`FILTER_*`).
    pub(crate) fn kind(&self) -> u8 {
        self.kind
    }

    /// The event mask.
    pub(crate) fn events(&self) -> u32 {
        self.events
    }
}

/// The data of one filter, read by the probes while it is the active slot.
///
/// # Invariants
///
/// While [`Filter::state`] names this slot, and for an RCU grace period
/// after it stops doing so, only the probes change it (`pids`, following
/// forks); otherwise only [`Filter::install`] does. `cgroup` is null or a
/// cgroup on which the slot owns a reference. Unused entries of `tgids`
/// hold [`NO_TGID`].
struct Slot {
    pids: PidSet,                        // FILTER_PID: the tasks followed
    tgids: [AtomicU32; FILTER_IDS_MAX],  // FILTER_TGID: the processes
    cgroup: AtomicPtr<bindings::cgroup>, // FILTER_CGROUP: the ancestor
}

/// An unused entry of [`Slot::tgids`]: above `PID_MAX_LIMIT`, no task's.
const NO_TGID: u32 = u32::MAX;

impl Slot {
    fn new() -> Result<Self> {
        Ok(Slot {
            pids: PidSet::new()?,
            tgids: [const { AtomicU32::new(NO_TGID) }; FILTER_IDS_MAX],
            cgroup: AtomicPtr::new(ptr::null_mut()),
        })
    }

    /// Drops the cgroup reference, if any. Only on a slot no probe reads.
    fn release_cgroup(&self) {
        let c = self.cgroup.swap(ptr::null_mut(), Ordering::Relaxed);
        if !c.is_null() {
            // SAFETY: the slot owned this reference (type invariant).
            unsafe { helpers::rust_trace_cgroup_put(c) };
        }
    }
}

/// Bits of [`Filter::state`]: the event mask is the low 32 bits.
const STATE_KIND_SHIFT: u32 = 32;
/// Bit of [`Filter::state`] that names the active slot.
const STATE_SLOT: u64 = 1 << 40;

/// The filter as the probes see it.
///
/// # Invariants
///
/// `state` holds an event mask (bits 0..32), a kind (bits 32..40) and the
/// active slot ([`STATE_SLOT`]); the active slot holds that kind's data.
/// Only [`Filter::install`] changes `state`, under the session lock.
pub(crate) struct Filter {
    state: AtomicU64, // events | kind << 32 | active slot
    slots: [Slot; 2], // the active one and the one being prepared
}

impl Filter {
    /// No filter; allocates the two PID sets (1 MiB). May sleep.
    pub(crate) fn new() -> Result<Self> {
        // INVARIANT: kind none needs no data; slot 0 active.
        Ok(Filter {
            state: AtomicU64::new(u64::from(EVENTS_ALL)),
            slots: [Slot::new()?, Slot::new()?],
        })
    }

    /// Bytes the filter's sets take.
    pub(crate) fn memory(&self) -> usize {
        self.slots.iter().map(|s| s.pids.memory()).sum()
    }

    /// The filter in force, for one probe call. Tracepoint context.
    #[inline(always)]
    pub(crate) fn active(&self) -> Active<'_> {
        Active {
            state: self.state.load(Ordering::Acquire),
            filter: self,
        }
    }

    /// Puts `spec` in force. `record` is called once the new filter is
    /// ready and before it takes effect: it writes the stream's filter
    /// record and returns whether it could; if not, nothing changes and
    /// the result is `ENOBUFS`; it runs with IRQs off and must not sleep.
    /// Returns when the change took effect (`local_clock()` right after
    /// the switch): the time a flight log states it from, not the return's
    /// time, which is an RCU grace period later.
    /// Process context, under the session lock (the only caller); sleeps
    /// for an RCU grace period.
    pub(crate) fn install(&self, spec: &FilterSpec, record: impl FnOnce() -> bool) -> Result<u64> {
        let old = self.state.load(Ordering::Relaxed);
        let (old_idx, new_idx) = if old & STATE_SLOT != 0 {
            (1, 0)
        } else {
            (0, 1)
        };
        let slot = &self.slots[new_idx];
        // The inactive slot: no probe reads it (type invariant of `Slot`).
        match spec.kind {
            FILTER_PID => {
                slot.pids.clear();
                for &pid in spec.ids.iter().take(spec.n) {
                    slot.pids.insert(pid);
                }
                add_descendants(&slot.pids);
            }
            FILTER_TGID => {
                for (i, t) in slot.tgids.iter().enumerate() {
                    let id = spec.ids.get(i).filter(|_| i < spec.n);
                    t.store(id.copied().unwrap_or(NO_TGID), Ordering::Relaxed);
                }
            }
            FILTER_CGROUP => {
                if let Some(c) = &spec.cgroup {
                    slot.cgroup
                        .store(c.clone_ref().into_raw(), Ordering::Relaxed);
                }
            }
            _ => {}
        }
        let slot_bit = if new_idx == 1 { STATE_SLOT } else { 0 };
        let state = u64::from(spec.events) | (u64::from(spec.kind) << STATE_KIND_SHIFT) | slot_bit;
        // IRQs off from the record to the switch: the record's time and
        // the switch are then a few hundred instructions apart, never a
        // preemption of this writer or an interrupt apart (FORMAT.md: the
        // change takes effect at most 10 ms after its record).
        // SAFETY: restored below on this CPU; `record` stores into this
        // CPU's buffer as a probe does, and nothing in between sleeps.
        let flags = unsafe { cpu::irq_save() };
        let recorded = record();
        let mut since = 0;
        if recorded {
            // INVARIANT: the slot was filled for `spec.kind` above.
            // Release: a probe that sees the new state sees the slot's
            // data.
            self.state.store(state, Ordering::Release);
            // SAFETY: local_clock() has no precondition.
            since = unsafe { helpers::local_clock() };
        }
        // SAFETY: `flags` is what `irq_save` returned on this CPU, and
        // IRQs stayed off (this CPU) since.
        unsafe { cpu::irq_restore(flags) };
        if !recorded {
            slot.release_cgroup();
            return Err(Error::from_errno(-(bindings::ENOBUFS as i32)));
        }
        // SAFETY: process context. Afterwards no probe reads the old slot.
        unsafe { bindings::synchronize_rcu() };
        self.slots[old_idx].release_cgroup();
        if spec.kind == FILTER_PID {
            // Forks the probes followed into the old slot meanwhile.
            add_descendants(&slot.pids);
        }
        Ok(since)
    }
}

impl Drop for Filter {
    fn drop(&mut self) {
        // No probe is attached any more (the tracer detaches first).
        for s in self.slots.iter() {
            s.release_cgroup();
        }
    }
}

/// Adds to `set` the live tasks descended from a task in it. May sleep.
fn add_descendants(set: &PidSet) {
    /// Whether `pid` is in the set (`ctx`).
    ///
    /// # Safety
    ///
    /// `ctx` is a live `PidSet`.
    unsafe extern "C" fn contains(ctx: *mut c_void, pid: c_uint) -> bool {
        // SAFETY: by the caller's contract.
        unsafe { &*ctx.cast::<PidSet>() }.contains(pid)
    }
    /// Adds `pid` to the set (`ctx`).
    ///
    /// # Safety
    ///
    /// `ctx` is a live `PidSet`.
    unsafe extern "C" fn insert(ctx: *mut c_void, pid: c_uint) {
        // SAFETY: by the caller's contract.
        unsafe { &*ctx.cast::<PidSet>() }.insert(pid)
    }
    let ctx = ptr::from_ref(set).cast_mut().cast::<c_void>();
    // SAFETY: both callbacks get the live set.
    unsafe { helpers::rust_trace_add_descendants(contains, insert, ctx) };
}

/// The filter in force for one probe call: the state word read once (its
/// slot is looked up only by a task filter, so that no filter costs one
/// load and a test or two).
#[derive(Clone, Copy)]
pub(crate) struct Active<'a> {
    state: u64,         // Filter::state as read
    filter: &'a Filter, // whose slot the state names
}

impl<'a> Active<'a> {
    /// The slot the state names.
    #[inline(always)]
    fn slot(self) -> &'a Slot {
        &self.filter.slots[usize::from(self.state & STATE_SLOT != 0)]
    }

    /// Whether events of type `ty` are recorded.
    #[inline(always)]
    pub(crate) fn wants(self, ty: u8) -> bool {
        self.state & (1 << ty) != 0
    }

    /// The filter's kind.
    #[inline(always)]
    fn kind(self) -> u8 {
        (self.state >> STATE_KIND_SHIFT) as u8
    }

    /// Whether a task filter is set (else every task passes): a probe
    /// whose event names two tasks tests this once, not each task.
    #[inline(always)]
    pub(crate) fn filters_tasks(self) -> bool {
        self.kind() != FILTER_NONE
    }

    /// Whether task `p` (PID `pid`) passes the task filter.
    ///
    /// # Safety
    ///
    /// `p` is a live task.
    #[inline(always)]
    pub(crate) unsafe fn passes(self, fields: &TaskFields, p: *mut Task, pid: u32) -> bool {
        // SAFETY: live task, by the caller's contract.
        !self.filters_tasks() || unsafe { self.passes_filter(fields, p, pid) }
    }

    /// [`Active::passes`] when a task filter is set. Out of line: inline,
    /// its calls into C made the compiler spill the event's fields on
    /// every probe's common path, filter or not.
    ///
    /// # Safety
    ///
    /// `p` is a live task.
    #[inline(never)]
    unsafe fn passes_filter(self, fields: &TaskFields, p: *mut Task, pid: u32) -> bool {
        // SAFETY: live task, by the caller's contract.
        unsafe { self.passes_in_line(fields, p, pid) }
    }

    /// The body of [`Active::passes_filter`] and
    /// [`Active::either_passes_filter`].
    ///
    /// # Safety
    ///
    /// `p` is a live task.
    #[inline(always)]
    unsafe fn passes_in_line(self, fields: &TaskFields, p: *mut Task, pid: u32) -> bool {
        match self.kind() {
            FILTER_PID => self.slot().pids.contains(pid),
            FILTER_TGID => {
                // SAFETY: live task, by the caller's contract.
                let tgid = unsafe { fields.tgid(p) };
                // Every entry, unused ones never match: no counter that
                // could overflow (and so panic) in a probe.
                self.slot()
                    .tgids
                    .iter()
                    .any(|t| t.load(Ordering::Relaxed) == tgid)
            }
            FILTER_CGROUP => {
                let c = self.slot().cgroup.load(Ordering::Relaxed);
                // SAFETY: live task; `c` is null or held by the slot, which
                // is not released while this probe runs (RCU).
                !c.is_null() && unsafe { helpers::rust_trace_task_in_cgroup(p.cast_const(), c) }
            }
            _ => false,
        }
    }

    /// Whether task `p0` or `p1` passes the task filter, which is set
    /// ([`Active::filters_tasks`]): a switch's two tasks in one call out of
    /// line, not two (a switch the filter leaves out tests both). Reads
    /// their PIDs itself, so that the caller's stay out of its way.
    ///
    /// Cold, though a filtered session calls it at every switch: that
    /// only moves the call off the straight path, and it kept the
    /// unfiltered path's registers as they were (the microbenchmark's
    /// switch: 192.3 instructions, 195.3 without `#[cold]`, 191.3 with
    /// two calls).
    ///
    /// # Safety
    ///
    /// `p0` and `p1` are live tasks.
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn either_passes_filter(
        self,
        fields: &TaskFields,
        p0: *mut Task,
        p1: *mut Task,
    ) -> bool {
        // SAFETY: live tasks, by the caller's contract.
        unsafe {
            self.passes_in_line(fields, p0, fields.pid(p0))
                || self.passes_in_line(fields, p1, fields.pid(p1))
        }
    }

    /// A fork: with a PID filter, the child joins the set when the parent
    /// passed, and leaves it otherwise (its PID may be a reused one).
    /// Returns whether the child passes.
    ///
    /// # Safety
    ///
    /// `child` is a live task.
    #[inline(always)]
    pub(crate) unsafe fn follow_fork(
        self,
        fields: &TaskFields,
        parent_passes: bool,
        child: *mut Task,
        child_pid: u32,
    ) -> bool {
        if self.kind() == FILTER_PID {
            if parent_passes {
                self.slot().pids.insert(child_pid);
            } else {
                self.slot().pids.remove(child_pid);
            }
            return parent_passes;
        }
        // SAFETY: live task.
        unsafe { self.passes(fields, child, child_pid) }
    }
}
