// SPDX-License-Identifier: GPL-2.0

//! Trace buffers: per-CPU pools of vmalloc'd buffers handled by raw handles.
//!
//! The design is the Go runtime tracer's (`traceBuf`, `traceBufPtr`, the
//! `empty` stack and the `full` queue), carried into the kernel with per-CPU
//! pools and lock-free lists in place of Go's `trace.lock`:
//!
//! ```text
//!              probe on CPU n (IRQs off)                     reader (process context)
//!   CPU n pool  +-----------+   full: retire()   +-----------+  take_full()  +--------------+
//!   empty ----> | cur slot  | -----------------> | full queue| ------------> | reader list  |
//!   stack  pop  +-----------+  (push, any CPU)   | (global)  |  (swap head,  | and the one  |
//!     ^  (owner CPU only)                        +-----------+   reverse)    | being copied |
//!     |                                                                     +--------------+
//!     +-------------------------- recycle(): push back to the owner's stack -------+
//! ```
//!
//! Every buffer is, at any time, in exactly one of four places: the current
//! slot of its CPU, its CPU's empty stack, the full queue, or the reader
//! (its list or the buffer it is copying). A buffer only moves by one of the
//! arrows above, each done by the one context that holds it.
//!
//! # Why raw handles
//!
//! A buffer moves between a probe on its CPU, the full queue, the reader and
//! the empty stack, and these run in different contexts (a tracepoint with
//! IRQs off and the runqueue lock held, an IPI, a sleeping `read()`). No Rust
//! owner can follow it across them and no lock can be taken on the event
//! path. So, like Go's `traceBufPtr`, a buffer is named by [`TraceBufPtr`], a
//! plain address into the pool's vmalloc area, and the "exactly one place"
//! invariant above is what makes dereferencing it sound. The memory itself is
//! owned by [`BufPool`] (one [`VmallocArea`] per CPU) and freed only when the
//! pool is dropped, after the probes are gone.
//!
//! # Memory for the CPUs that run
//!
//! A CPU gets its buffers when it first comes online, from a CPU hotplug
//! callback ([`BufPool::follow_hotplug`], as ftrace's ring buffer does),
//! and keeps them when it goes offline: a machine with hundreds of
//! hotpluggable CPU ids that never come up spends nothing on them (one
//! [`CpuPool`] of bookkeeping each, in a `kvmalloc`'d array). A CPU's
//! events before its callback ran (its idle task and per-CPU threads, as
//! it comes up) find no buffer and are counted as lost.
//!
//! # The lists
//!
//! [`BufStack`] is a Treiber stack linked through each buffer's `link` word
//! (the kernel's `llist` in Rust atomics). Pushes may come from any CPU.
//! Pops are single-consumer: a CPU's empty stack is popped only by that CPU's
//! probe with IRQs off (or by process context while no probe runs), which is
//! what rules out ABA: between reading the head and the compare-exchange,
//! only pushes can happen, and a push changes the head. The full queue is a
//! stack as well; the reader takes it whole with one swap and reverses it,
//! which restores each CPU's order (a CPU pushes its batches in order).
//!
//! # Context rules
//!
//! - The write paths, [`BufPool::record_stream`] and
//!   [`BufPool::record_flight`], run in tracepoint context: preemption off,
//!   maybe the runqueue lock held. They run with IRQs off on this CPU for
//!   the reserve and commit (so a nested event from an interrupt cannot
//!   interleave with a half-written one): they disable them, or, called as
//!   `*_in(irqs_off = true, ..)` by a probe the kernel calls with IRQs off
//!   (`sched_switch`), rely on that (lockdep checks it). They never sleep,
//!   never allocate, take no lock, and drop (counting) an event for which
//!   no empty buffer is left.
//! - [`BufPool::flush_local`] runs on the CPU whose buffer it retires, with
//!   IRQs off (an IPI), so it cannot race that CPU's writer.
//! - [`BufPool::flush_offline`] runs in process context on behalf of a CPU
//!   that is offline and cannot come online meanwhile (`cpus_read_lock()`
//!   held): a dead CPU runs no probe, so its writer state is free.
//! - [`BufPool::flush_quiescent`] and [`BufPool::reset`] run in process
//!   context and require that no probe is running (unregistered and
//!   `tracepoint_synchronize_unregister()` done).
//! - [`BufPool::new`] and dropping the pool may sleep (vmalloc, vfree).
//! - The hotplug callback ([`BufPool::give_buffers`]) runs in the CPU's
//!   hotplug thread, under the hotplug write lock, and may sleep
//!   (vmalloc); the code that walks every CPU's buffers from process
//!   context holds `cpus_read_lock()`, so it never sees half of a CPU's.

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::mem::size_of;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use kernel::alloc::allocator::Vmalloc;
use kernel::alloc::Allocator;
use kernel::bindings;
use kernel::ffi::{c_int, c_uint, c_ulong};
use kernel::prelude::*;

use crate::format::{BatchHeader, Encoder, BATCH_HDR_LEN, TASK_MAX};
use crate::helpers;
use crate::pidset::{NameCache, NameForgets};

/// What [`BufPool::record_stream`] writes: records, given the time since
/// the event before. A closure is one; so is a probe's event, a value
/// whose `encode` the compiler inlines wherever it is written, where it
/// inlines a closure's body only into its single caller.
pub(crate) trait Encode {
    /// Writes the records.
    fn encode(self, enc: &mut Encoder<'_>, dt: u64);
}

impl<F: FnOnce(&mut Encoder<'_>, u64)> Encode for F {
    #[inline(always)]
    fn encode(self, enc: &mut Encoder<'_>, dt: u64) {
        self(enc, dt)
    }
}

/// What [`BufPool::record_flight`] writes: [`Encode`]'s counterpart, told
/// which task records to write first (`which`, see there).
pub(crate) trait EncodeNamed {
    /// Writes the task records `which` marks, then the events.
    fn encode(self, enc: &mut Encoder<'_>, dt: u64, which: [bool; 3]);
}

impl<F: FnOnce(&mut Encoder<'_>, u64, [bool; 3])> EncodeNamed for F {
    #[inline(always)]
    fn encode(self, enc: &mut Encoder<'_>, dt: u64, which: [bool; 3]) {
        self(enc, dt, which)
    }
}

/// In-memory header at the start of every trace buffer; not part of the
/// stream. The batch (stream record) follows it.
#[repr(C)]
struct TraceBufHdr {
    link: AtomicUsize, // next buffer in the list this one is on (0 = end)
    cpu: u32,          // CPU whose pool holds this buffer
    used: u32,         // bytes of the batch written, its header included
    nevents: u32,      // events in the batch
    ncross: u32,       // flight: generation crossings at the buffer's end
    seq: u64,          // batch sequence number on its CPU
    ts: u64,           // time of the batch start
    lost: u64,         // events the CPU lost just before this batch
    last_ts: u64,      // flight: time of its last event
    gen_first: u64,    // flight: generation of its first event
}

/// Where a generation starts inside a flight recorder's buffer, kept in a
/// directory at the buffer's end (entry `i` at `end - (i + 1) * CROSS_LEN`,
/// growing down toward the events): a snapshot cuts the buffer there.
#[repr(C)]
#[derive(Clone, Copy)]
struct Crossing {
    gen: u64,            // the generation that starts here
    prev_ts: u64,        // time of the event before (the cut batch's time base)
    offset: u32,         // its first event's offset in the batch
    nevents_before: u32, // events of the batch before it
}

/// Bytes of one [`Crossing`].
const CROSS_LEN: usize = size_of::<Crossing>();

/// Buffers per CPU that flight recording keeps out of the ring, for the
/// writer to go on with while a snapshot holds the rest.
const FLIGHT_RESERVE: usize = 2;
/// Fewest buffers per CPU flight recording needs: the current one, the
/// reserve, and a ring of at least one.
pub(crate) const FLIGHT_MIN_BUFS: usize = FLIGHT_RESERVE + 2;

/// Bytes before the batch in each buffer.
const BUF_HDR_LEN: usize = size_of::<TraceBufHdr>();

/// A raw handle to one trace buffer: its address, or 0 for none.
///
/// # Invariants
///
/// A non-null `TraceBufPtr` is the address of a buffer slot inside one of
/// the [`BufPool`]'s vmalloc areas, whose first bytes are a [`TraceBufHdr`].
/// That buffer is in exactly one of: its CPU's current slot, its CPU's empty
/// stack, the full queue, the reader. Whoever holds it there is the only
/// context that writes its header or its data, except `link`, which the list
/// operations own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct TraceBufPtr(usize);

impl TraceBufPtr {
    /// No buffer.
    pub(crate) const NULL: TraceBufPtr = TraceBufPtr(0);

    /// Whether this names no buffer.
    pub(crate) fn is_null(self) -> bool {
        self.0 == 0
    }

    /// The buffer's header.
    fn ptr(self) -> *mut TraceBufHdr {
        self.0 as *mut TraceBufHdr
    }

    /// Makes this handle name `b`.
    fn set(&mut self, b: *mut TraceBufHdr) {
        self.0 = b as usize;
    }

    /// The buffer's header, shared.
    ///
    /// # Safety
    ///
    /// `self` must be non-null (then the type invariant makes it valid).
    unsafe fn hdr<'a>(self) -> &'a TraceBufHdr {
        // SAFETY: non-null by the caller's contract; valid and aligned by the
        // type invariant; buffers live as long as the pool.
        unsafe { &*self.ptr() }
    }

    /// First byte of the batch.
    fn batch(self) -> *mut u8 {
        // A buffer address plus its header length stays inside the buffer.
        self.0.wrapping_add(BUF_HDR_LEN) as *mut u8
    }

    /// Next buffer on the list this one is on.
    ///
    /// # Safety
    ///
    /// `self` must be non-null.
    unsafe fn next(self) -> TraceBufPtr {
        // SAFETY: non-null by the caller's contract.
        TraceBufPtr(unsafe { self.hdr() }.link.load(Ordering::Relaxed))
    }
}

/// A lock-free LIFO list of buffers (a Treiber stack), linked through
/// [`TraceBufHdr::link`].
///
/// # Invariants
///
/// `head` is 0 or a valid [`TraceBufPtr`] whose `link` chain ends in 0;
/// every buffer on the chain is "on this list" in the sense of the
/// [`TraceBufPtr`] invariant. [`BufStack::pop`] has a single consumer.
pub(crate) struct BufStack {
    head: AtomicUsize, // top buffer, 0 when empty
}

impl BufStack {
    const fn new() -> Self {
        BufStack {
            head: AtomicUsize::new(0),
        }
    }

    /// Whether the list looks empty (a racy hint for wake-up conditions).
    pub(crate) fn is_empty(&self) -> bool {
        self.head.load(Ordering::Relaxed) == 0
    }

    /// Pushes `b`. Any context, any CPU.
    ///
    /// # Safety
    ///
    /// `b` is non-null and held by the caller (on no list); it moves to this one.
    unsafe fn push(&self, b: TraceBufPtr) {
        // SAFETY: `b` is non-null and held by the caller.
        let hdr = unsafe { b.hdr() };
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            hdr.link.store(head, Ordering::Relaxed);
            // Release: the buffer's contents are visible to whoever pops it.
            match self
                .head
                .compare_exchange_weak(head, b.0, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    /// Pops the top buffer, or returns null.
    ///
    /// # Safety
    ///
    /// Single consumer: no other `pop` or `take_all` of this list may run at
    /// the same time (pushes may).
    unsafe fn pop(&self) -> TraceBufPtr {
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            if head == 0 {
                return TraceBufPtr::NULL;
            }
            // SAFETY: `head` is on this list (type invariant); with a single
            // consumer it cannot leave it before our compare-exchange, so its
            // `link` is stable: only a push could change the head, which makes
            // the compare-exchange fail.
            let next = unsafe { TraceBufPtr(head).next() };
            match self.head.compare_exchange_weak(
                head,
                next.0,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return TraceBufPtr(head),
                Err(now) => head = now,
            }
        }
    }

    /// Takes the whole list; returns its top (most recently pushed) buffer.
    fn take_all(&self) -> TraceBufPtr {
        TraceBufPtr(self.head.swap(0, Ordering::Acquire))
    }
}

/// A vmalloc'd area, freed on drop.
///
/// Allocated through the `kernel` crate's [`Vmalloc`] allocator, which
/// calls `vrealloc()` from C: the allocation carries its allocation
/// profiling tag like any other (a direct `vmalloc_noprof()` call from
/// Rust would not, which `CONFIG_MEM_ALLOC_PROFILING_DEBUG` reports).
///
/// # Invariants
///
/// `addr` came from `Vmalloc::alloc(layout)` with `layout` of `len` bytes,
/// page-aligned, and is freed only by `drop`.
struct VmallocArea {
    addr: *mut u8, // start of the area
    len: usize,    // its size in bytes
}

/// The layout of a [`VmallocArea`] of `len` bytes.
fn area_layout(len: usize) -> Result<Layout> {
    Layout::from_size_align(len, bindings::PAGE_SIZE).map_err(|_| EINVAL)
}

impl VmallocArea {
    /// Allocates `len` bytes. May sleep.
    fn new(len: usize) -> Result<Self> {
        let addr = Vmalloc::alloc(area_layout(len)?, GFP_KERNEL)?
            .as_ptr()
            .cast::<u8>();
        // INVARIANT: `addr` comes from Vmalloc::alloc with `len` bytes.
        Ok(VmallocArea { addr, len })
    }

    /// Gives up the area without freeing it: its address.
    fn into_raw(self) -> *mut u8 {
        let addr = self.addr;
        core::mem::forget(self);
        addr
    }

    /// The area at `addr`, of `len` bytes, owned again.
    ///
    /// # Safety
    ///
    /// `addr` came from [`VmallocArea::into_raw`] of an area of `len`
    /// bytes, and is taken back once.
    unsafe fn from_raw(addr: *mut u8, len: usize) -> Self {
        // INVARIANT: by the caller's contract.
        VmallocArea { addr, len }
    }
}

impl Drop for VmallocArea {
    fn drop(&mut self) {
        let Ok(layout) = area_layout(self.len) else {
            return;
        };
        if let Some(addr) = NonNull::new(self.addr) {
            // SAFETY: by the type invariant `addr` is a live allocation of
            // `Vmalloc` with this layout, and nothing uses it after this.
            unsafe { Vmalloc::free(addr, layout) };
        }
    }
}

/// The part of a CPU's state that only its writer touches.
struct CpuWriter {
    cur: TraceBufPtr,       // buffer being filled, or null: take one at the next event
    seq: u64,               // sequence number of the next batch
    lost_pending: u64,      // events lost since the last batch was started
    last_ts: u64,           // time of the last event written to `cur`
    ring_head: TraceBufPtr, // flight: retired buffers, oldest first (linked by `link`)
    ring_tail: TraceBufPtr, // flight: the newest retired buffer
    ring_len: usize,        // flight: buffers on the ring
    gen: u64,               // flight: generation of the current time
    gen_end: u64,           // flight: when it ends
    gen_started: bool,      // flight: an event of `gen` was recorded (its crossing noted)
    epoch: u32,             // flight: name epoch (a new one at each generation and freeze)
    frozen_at: u64,         // flight: the freeze time already acted on
    gone_ts: u64,           // flight: time of the newest event overwritten or lost (0: none)
}

impl CpuWriter {
    /// A writer with nothing recorded.
    const fn new() -> Self {
        CpuWriter {
            cur: TraceBufPtr::NULL,
            seq: 0,
            lost_pending: 0,
            last_ts: 0,
            ring_head: TraceBufPtr::NULL,
            ring_tail: TraceBufPtr::NULL,
            ring_len: 0,
            gen: 0,
            gen_end: 0,
            gen_started: false,
            epoch: 0,
            frozen_at: 0,
            gone_ts: 0,
        }
    }
}

/// A snapshot of [`CpuCounters`], of one CPU or summed over all (`+=`).
#[derive(Default, Clone, Copy)]
pub(crate) struct Counts {
    /// Events the probes tried to record.
    pub(crate) written: u64,
    /// Events dropped for want of a buffer.
    pub(crate) lost: u64,
    /// Batches retired to the reader.
    pub(crate) batches: u64,
    /// Events copied out to the reader.
    pub(crate) read_events: u64,
    /// Batch bytes copied out to the reader.
    pub(crate) read_bytes: u64,
    /// Flight: events overwritten.
    pub(crate) overwritten: u64,
}

impl core::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        // u64 event counts cannot overflow in practice; saturate anyway.
        self.written = self.written.saturating_add(o.written);
        self.lost = self.lost.saturating_add(o.lost);
        self.batches = self.batches.saturating_add(o.batches);
        self.read_events = self.read_events.saturating_add(o.read_events);
        self.read_bytes = self.read_bytes.saturating_add(o.read_bytes);
        self.overwritten = self.overwritten.saturating_add(o.overwritten);
    }
}

/// Counters of one CPU, readable at any time.
pub(crate) struct CpuCounters {
    /// Events the probes tried to record on this CPU (written by its writer).
    pub(crate) written: AtomicU64,
    /// Events dropped for want of an empty buffer (written by its writer).
    pub(crate) lost: AtomicU64,
    /// Batches retired to the full queue (written by its writer or flush).
    pub(crate) batches: AtomicU64,
    /// Events in those batches (written with `batches`). `written - lost -
    /// batched` is what the CPU's current buffer holds.
    pub(crate) batched: AtomicU64,
    /// Events of this CPU the reader has copied out (written by the reader).
    pub(crate) read_events: AtomicU64,
    /// Bytes of this CPU's batches the reader has copied out (the reader).
    pub(crate) read_bytes: AtomicU64,
    /// Flight: events recorded and then overwritten, their buffer reused
    /// (written by its writer).
    pub(crate) overwritten: AtomicU64,
}

impl CpuCounters {
    /// All zero.
    const fn new() -> Self {
        CpuCounters {
            written: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            batched: AtomicU64::new(0),
            read_events: AtomicU64::new(0),
            read_bytes: AtomicU64::new(0),
            overwritten: AtomicU64::new(0),
        }
    }

    /// Their values now (each read on its own: a racy snapshot while
    /// tracing, an exact one once the probes are detached).
    pub(crate) fn snapshot(&self) -> Counts {
        Counts {
            written: self.written.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            read_events: self.read_events.load(Ordering::Relaxed),
            read_bytes: self.read_bytes.load(Ordering::Relaxed),
            overwritten: self.overwritten.load(Ordering::Relaxed),
        }
    }

    /// Zeroes them all. Quiescent callers only (see [`BufPool::reset`]).
    fn clear(&self) {
        for a in [
            &self.written,
            &self.lost,
            &self.batches,
            &self.batched,
            &self.read_events,
            &self.read_bytes,
            &self.overwritten,
        ] {
            a.store(0, Ordering::Relaxed);
        }
    }
}

/// One CPU's pool: its buffers, its empty stack and its writer state.
///
/// # Invariants
///
/// `writer` is accessed only on this CPU with IRQs off, from process
/// context while no probe can run, or by one flusher while this CPU is
/// offline with hotplug locked out (see the module's context rules).
///
/// `repr(C)`, the writer first: the write path then reaches the pool and
/// its writer from one pointer (one register fewer on the probes' path).
#[repr(C, align(64))]
struct CpuPool {
    writer: UnsafeCell<CpuWriter>, // the writer's private state
    empty: BufStack,               // empty buffers of this CPU
    counters: CpuCounters,         // statistics
    names: NameCache,              // flight: PIDs named in the writer's epoch
    frozen: AtomicUsize,           // flight: buffers a freeze took, oldest first (0: none)
    frozen_gone: AtomicU64,        // flight: the writer's `gone_ts` at that freeze
    frozen_skew: AtomicU64,        // flight: how far its clock disagreed with the freeze time
    area: AtomicPtr<u8>,           // its buffers (a VmallocArea's), null until it first came online
}

// SAFETY: `writer` is only touched under the rule stated on `CpuPool`
// (one CPU with IRQs off, or quiescence); everything else is atomic or
// immutable after construction.
unsafe impl Sync for CpuPool {}
// SAFETY: as above; the raw pointers only name memory the pool owns.
unsafe impl Send for CpuPool {}

/// All trace buffers, for every CPU that came online, and the full queue.
///
/// # Invariants
///
/// `cpus` has an entry for every CPU id below `nr_cpu_ids`, so for any CPU
/// this code runs on. `cpus[c].area` is null or, once set (only by
/// [`BufPool::give_buffers`], once), the address of a [`VmallocArea`] of
/// `nr_bufs * buf_size` bytes the pool owns, holding `nr_bufs` buffers of
/// `buf_size` bytes, each starting with a [`TraceBufHdr`] whose `cpu` is
/// `c`.
pub(crate) struct BufPool {
    cpus: KVVec<CpuPool>, // indexed by CPU id, `nr_cpu_ids` entries (kvmalloc'd)
    full: BufStack,       // retired buffers waiting for the reader
    buf_size: usize,      // bytes per buffer, header included
    nr_bufs: usize,       // buffers per CPU that came online
    flight: AtomicBool,   // flight recording: rings, generations, no reader
    gen_ns: AtomicU64,    // flight: the generation period
    freeze_at: AtomicU64, // flight: writers switch buffers at this time (u64::MAX: none)
    forgets: NameForgets, // flight: PIDs every CPU must name again
}

/// The pool whose CPUs get buffers from the hotplug callback (null: none);
/// set by [`BufPool::follow_hotplug`], cleared when its [`HotplugReg`]
/// drops.
static HOTPLUG_POOL: AtomicPtr<BufPool> = AtomicPtr::new(ptr::null_mut());

/// The CPU hotplug startup callback: gives `cpu`, coming online, its
/// buffers. Never fails the CPU's coming up: without buffers its events
/// are counted as lost. The CPU's hotplug thread, may sleep.
///
/// # Safety
///
/// Called by the hotplug core for the state [`BufPool::follow_hotplug`]
/// registered.
unsafe extern "C" fn cpu_online_cb(cpu: c_uint) -> c_int {
    let pool = HOTPLUG_POOL.load(Ordering::Acquire);
    if pool.is_null() {
        return 0;
    }
    // SAFETY: the pool lives, unmoved, until its registration is dropped,
    // which removes this state first (no callback runs after that).
    if let Err(e) = unsafe { &*pool }.give_buffers(cpu as usize) {
        pr_warn!(
            "CPU {}: no trace buffers ({:?}): its events are lost\n",
            cpu,
            e
        );
    }
    0
}

/// A registered CPU hotplug state giving CPUs their buffers; dropping it
/// removes the state (no callback runs after).
///
/// # Invariants
///
/// `state` is the dynamic state `rust_trace_cpuhp_setup()` returned.
pub(crate) struct HotplugReg {
    state: c_int, // the CPUHP_AP_ONLINE_DYN state number
}

impl Drop for HotplugReg {
    fn drop(&mut self) {
        // SAFETY: registered (type invariant); process context.
        unsafe { helpers::rust_trace_cpuhp_remove(self.state) };
        HOTPLUG_POOL.store(ptr::null_mut(), Ordering::Release);
    }
}

impl Drop for BufPool {
    fn drop(&mut self) {
        let len = self.area_len();
        for pool in self.cpus.iter() {
            let addr = pool.area.swap(ptr::null_mut(), Ordering::Acquire);
            if !addr.is_null() {
                // SAFETY: an area the pool owns (type invariant), taken back
                // once (swapped out); no probe or reader uses the pool now.
                drop(unsafe { VmallocArea::from_raw(addr, len) });
            }
        }
    }
}

impl BufPool {
    /// A pool of `nr_cpus` CPU ids, at least `nr_cpu_ids` (`EINVAL` for
    /// fewer), whose CPUs get `nr_bufs` buffers of `buf_size` bytes each
    /// when they come online ([`BufPool::follow_hotplug`], or
    /// [`BufPool::give_online_cpus`]): none has any yet. May sleep.
    pub(crate) fn new(nr_cpus: usize, buf_size: usize, nr_bufs: usize) -> Result<Self> {
        // SAFETY: `nr_cpu_ids` is set before modules load and never shrinks.
        if nr_cpus < unsafe { kernel::bindings::nr_cpu_ids } as usize {
            return Err(EINVAL);
        }
        buf_size.checked_mul(nr_bufs).ok_or(EINVAL)?;
        let mut cpus = KVVec::with_capacity(nr_cpus, GFP_KERNEL)?;
        for _ in 0..nr_cpus {
            cpus.push(
                CpuPool {
                    writer: UnsafeCell::new(CpuWriter::new()),
                    empty: BufStack::new(),
                    counters: CpuCounters::new(),
                    names: NameCache::new(),
                    frozen: AtomicUsize::new(0),
                    frozen_gone: AtomicU64::new(0),
                    frozen_skew: AtomicU64::new(0),
                    area: AtomicPtr::new(ptr::null_mut()),
                },
                GFP_KERNEL,
            )?;
        }
        let pool = BufPool {
            cpus,
            full: BufStack::new(),
            buf_size,
            nr_bufs,
            flight: AtomicBool::new(false),
            gen_ns: AtomicU64::new(u64::MAX),
            freeze_at: AtomicU64::new(u64::MAX),
            forgets: NameForgets::new()?,
        };
        // SAFETY: no probe can run: the pool is not published yet.
        unsafe { pool.reset() };
        Ok(pool)
    }

    /// Bytes of buffer memory the pool holds.
    pub(crate) fn memory(&self) -> usize {
        let n = self
            .cpus
            .iter()
            .filter(|c| !c.area.load(Ordering::Relaxed).is_null())
            .count();
        n.saturating_mul(self.area_len())
    }

    /// Bytes of one CPU's buffers.
    fn area_len(&self) -> usize {
        // Checked in new().
        self.buf_size.wrapping_mul(self.nr_bufs)
    }

    /// Gives `cpu` its buffers if it has none: allocates them and puts
    /// them on its empty stack, where its writer finds them. Process
    /// context, may sleep; no other call may give `cpu` buffers meanwhile
    /// (the hotplug lock, held for writing by the callback or for reading
    /// by [`BufPool::give_online_cpus`], serialises them with
    /// [`BufPool::reset`]).
    fn give_buffers(&self, cpu: usize) -> Result {
        let Some(pool) = self.cpus.get(cpu) else {
            return Err(EINVAL);
        };
        if !pool.area.load(Ordering::Acquire).is_null() {
            return Ok(());
        }
        let addr = VmallocArea::new(self.area_len())?.into_raw();
        // SAFETY: the area is new: nothing else references its buffers.
        unsafe { self.init_buffers(cpu, pool, addr) };
        // INVARIANT: set once, to an area of `area_len` bytes the pool now
        // owns (freed in drop). Release: whoever sees it sees its buffers.
        pool.area.store(addr, Ordering::Release);
        Ok(())
    }

    /// Gives every online CPU without buffers its buffers, for a pool that
    /// does not follow hotplug (the microbenchmark's). May sleep.
    #[cfg(rust_trace_microbench)]
    pub(crate) fn give_online_cpus(&self) -> Result {
        // SAFETY: process context; balanced below.
        unsafe { bindings::cpus_read_lock() };
        let mut res = Ok(());
        for cpu in 0..self.cpus.len() {
            // SAFETY: plain cpumask query.
            if unsafe { helpers::rust_trace_cpu_online(cpu as u32) } {
                res = res.and(self.give_buffers(cpu));
            }
        }
        // SAFETY: taken above.
        unsafe { bindings::cpus_read_unlock() };
        res
    }

    /// Gives each CPU its buffers as it comes online, and every online CPU
    /// now: registers a CPU hotplug state whose startup callback does it.
    /// `ENOMEM` if an online CPU could not get them. The registration
    /// must be dropped before the pool.
    ///
    /// # Safety
    ///
    /// The pool does not move until the registration is dropped; at most
    /// one pool follows hotplug at a time.
    pub(crate) unsafe fn follow_hotplug(&self) -> Result<HotplugReg> {
        HOTPLUG_POOL.store(ptr::from_ref(self).cast_mut(), Ordering::Release);
        // SAFETY: `cpu_online_cb` reads HOTPLUG_POOL, set above and
        // cleared only after the state is removed.
        let state = unsafe { helpers::rust_trace_cpuhp_setup(cpu_online_cb) };
        if state < 0 {
            HOTPLUG_POOL.store(ptr::null_mut(), Ordering::Release);
            return Err(Error::from_errno(state));
        }
        let reg = HotplugReg { state };
        // The callback ran for every online CPU; one may have failed.
        // SAFETY: process context; balanced below.
        unsafe { bindings::cpus_read_lock() };
        let all = (0..self.cpus.len()).all(|cpu| {
            // SAFETY: plain cpumask query.
            !unsafe { helpers::rust_trace_cpu_online(cpu as u32) } || self.has_cpu(cpu)
        });
        // SAFETY: taken above.
        unsafe { bindings::cpus_read_unlock() };
        if all {
            Ok(reg)
        } else {
            Err(ENOMEM)
        }
    }

    /// Bytes per buffer, its in-memory header included.
    pub(crate) fn buf_size(&self) -> usize {
        self.buf_size
    }

    /// Number of CPU ids the pool covers.
    pub(crate) fn nr_cpus(&self) -> usize {
        self.cpus.len()
    }

    /// The counts of `cpu` (zero for a CPU id beyond the pool).
    pub(crate) fn counts(&self, cpu: usize) -> Counts {
        self.cpus
            .get(cpu)
            .map_or_else(Counts::default, |c| c.counters.snapshot())
    }

    /// The counts summed over every CPU.
    pub(crate) fn total(&self) -> Counts {
        let mut t = Counts::default();
        for c in self.cpus.iter() {
            t += c.counters.snapshot();
        }
        t
    }

    /// Whether `cpu` has buffers (it came online since the pool followed
    /// hotplug).
    pub(crate) fn has_cpu(&self, cpu: usize) -> bool {
        self.cpus
            .get(cpu)
            .is_some_and(|c| !c.area.load(Ordering::Acquire).is_null())
    }

    /// Whether retired buffers wait in the full queue (a racy hint).
    pub(crate) fn full_pending(&self) -> bool {
        !self.full.is_empty()
    }

    /// Puts every buffer back on its CPU's empty stack and zeroes the writer
    /// state and the counters: the start of a session.
    ///
    /// # Safety
    ///
    /// No probe may be running or start during the call, and the reader must
    /// have dropped every handle it held (they are all reclaimed here).
    pub(crate) unsafe fn reset(&self) {
        // No CPU gets its buffers meanwhile (give_buffers()).
        // SAFETY: process context; balanced below.
        unsafe { bindings::cpus_read_lock() };
        self.full.take_all();
        for (cpu, pool) in self.cpus.iter().enumerate() {
            // SAFETY: quiescent by the caller's contract (the `CpuPool`
            // invariant allows process context then).
            let w = unsafe { &mut *pool.writer.get() };
            *w = CpuWriter::new();
            pool.counters.clear();
            pool.names.clear();
            pool.frozen.store(0, Ordering::Relaxed);
            pool.empty.take_all();
            let addr = pool.area.load(Ordering::Acquire);
            if !addr.is_null() {
                // SAFETY: quiescent, and the handles are all reclaimed.
                unsafe { self.init_buffers(cpu, pool, addr) };
            }
        }
        // SAFETY: taken above.
        unsafe { bindings::cpus_read_unlock() };
    }

    /// Writes fresh headers into the buffers of `cpu`'s area at `addr` and
    /// puts them all on its empty stack.
    ///
    /// # Safety
    ///
    /// `addr` is `cpu`'s area (or one of `area_len` bytes about to be it),
    /// and nothing else references its buffers: none is on a list or held.
    unsafe fn init_buffers(&self, cpu: usize, pool: &CpuPool, addr: *mut u8) {
        // Push in reverse so the first buffer is on top: the order is
        // only cosmetic, each one is reused the same way.
        for i in (0..self.nr_bufs).rev() {
            let mut b = TraceBufPtr::NULL;
            b.set(addr.wrapping_add(i * self.buf_size).cast::<TraceBufHdr>());
            // SAFETY: slot `i` lies inside the area (i < nr_bufs) and is
            // aligned (buf_size is a power of two >= 4096, vmalloc is
            // page-aligned); nothing else references it (the caller's
            // contract).
            unsafe {
                ptr::write(
                    b.ptr(),
                    TraceBufHdr {
                        link: AtomicUsize::new(0),
                        cpu: cpu as u32,
                        used: 0,
                        nevents: 0,
                        ncross: 0,
                        seq: 0,
                        ts: 0,
                        lost: 0,
                        last_ts: 0,
                        gen_first: 0,
                    },
                )
            };
            // INVARIANT: the buffer is now on exactly one list, this
            // CPU's empty stack.
            // SAFETY: `b` is valid and on no list.
            unsafe { pool.empty.push(b) };
        }
    }

    /// Disables IRQs on this CPU, unless the caller runs with IRQs off
    /// already (`irqs_off`), and returns the saved state (`None` then),
    /// the time, and this CPU's pool and writer, for the write paths;
    /// [`BufPool::leave`] ends it. Tracepoint context.
    ///
    /// The clock is read with IRQs off (so that an interrupt's events
    /// cannot come between the time and the write) and before the CPU's
    /// pool is looked up: nothing derived from the pool is then live
    /// across the call, which saved the spills of the event's fields
    /// around it on the `sched_switch` path.
    ///
    /// The write paths are plain functions around these two, not a
    /// closure handed to one, and each calls its `encode` from one place:
    /// the compiler inlines a closure's body only where it has a single
    /// caller.
    ///
    /// # Safety
    ///
    /// IRQs are off on this CPU if `irqs_off`. The caller gives the flags
    /// to [`BufPool::leave`] on this CPU, drops the references before,
    /// and does not call `enter` again meanwhile (which would alias the
    /// writer).
    #[inline(always)]
    #[allow(
        clippy::mut_from_ref,
        reason = "the CPU's writer, IRQs off: see the safety contract"
    )]
    unsafe fn enter(&self, irqs_off: bool) -> (Option<c_ulong>, u64, &CpuPool, &mut CpuWriter) {
        let flags = if irqs_off {
            // The scheduler's context: IRQs are off, as lockdep checks.
            #[cfg(CONFIG_PROVE_LOCKING)]
            // SAFETY: a check with no precondition.
            unsafe {
                helpers::rust_trace_assert_irqs_off()
            };
            None
        } else {
            // SAFETY: saving and disabling IRQs on this CPU is always
            // allowed; leave() restores it.
            Some(unsafe { helpers::cpu::irq_save() })
        };
        // SAFETY: local_clock() may be called from any context.
        let now = unsafe { helpers::local_clock() };
        // SAFETY: IRQs are off, so the CPU cannot change under us.
        let cpu = unsafe { helpers::cpu::this_cpu() } as usize;
        // SAFETY: the CPU we run on has an id below `nr_cpu_ids`, and the
        // pool an entry for each (its invariant): no bounds check on the
        // event path.
        let pool = unsafe { self.cpus.get_unchecked(cpu) };
        // SAFETY: we run on `cpu` with IRQs off until leave(): the
        // `CpuPool` invariant makes us the only user of its writer.
        (flags, now, pool, unsafe { &mut *pool.writer.get() })
    }

    /// Ends what [`BufPool::enter`] began: restores IRQs if it disabled
    /// them. Tracepoint context.
    #[inline(always)]
    fn leave(flags: Option<c_ulong>) {
        if let Some(flags) = flags {
            // SAFETY: restores the state enter() saved, on the same CPU.
            unsafe { helpers::cpu::irq_restore(flags) };
        }
    }

    /// The streaming write path: records one group of `nevents` events (at
    /// most `max_len` bytes) on this CPU; `encode` writes them given the
    /// time since the previous event. The caller decided which tasks to
    /// name (its set of named PIDs) and updates that set from the result.
    /// Returns whether they were stored (false: counted as lost). When a
    /// buffer is retired, queues the irq_work that wakes the reader.
    ///
    /// Streaming only; tracepoint context: preemption is off, IRQs are
    /// disabled here.
    #[inline(always)]
    pub(crate) fn record_stream(&self, max_len: usize, nevents: u32, encode: impl Encode) -> bool {
        // SAFETY: `irqs_off` is false.
        unsafe { self.record_stream_in(false, max_len, nevents, encode) }
    }

    /// [`BufPool::record_stream`], for a caller that may run with IRQs off
    /// already (`irqs_off`: the `sched_switch` probe, which
    /// `__schedule()` calls with IRQs off), which then need not be saved
    /// and restored.
    ///
    /// # Safety
    ///
    /// IRQs are off on this CPU if `irqs_off`.
    #[inline(always)]
    pub(crate) unsafe fn record_stream_in(
        &self,
        irqs_off: bool,
        max_len: usize,
        nevents: u32,
        encode: impl Encode,
    ) -> bool {
        // SAFETY: IRQs are off if `irqs_off` (our contract); the flags go
        // to leave() below, the references are dropped by then.
        let (flags, now, pool, w) = unsafe { self.enter(irqs_off) };
        let stored = self.stream_local(pool, w, now, max_len, nevents, encode);
        Self::leave(flags);
        stored
    }

    /// Bytes the writer's current batch can still take when streaming (no
    /// crossings there); 0 without one. Writer context.
    #[inline(always)]
    fn stream_room(&self, w: &CpuWriter) -> usize {
        if w.cur.is_null() {
            return 0;
        }
        // SAFETY: `cur` is ours (CPU slot) and non-null.
        let used = unsafe { w.cur.hdr() }.used as usize;
        // `used <= cap` (a buffer invariant): no wrap.
        self.buf_size.wrapping_sub(BUF_HDR_LEN).wrapping_sub(used)
    }

    /// [`BufPool::record_stream`] on this CPU's pool and writer, IRQs off,
    /// at `now`: returns whether the events were stored.
    #[inline(always)]
    fn stream_local(
        &self,
        pool: &CpuPool,
        w: &mut CpuWriter,
        now: u64,
        max_len: usize,
        nevents: u32,
        encode: impl Encode,
    ) -> bool {
        // The event path must not panic: arithmetic here is on values
        // the invariants bound (a buffer's `used` <= `cap` < 4 MiB,
        // counters that would take centuries to wrap), so it is written
        // wrapping, which also keeps the overflow checks out of the
        // probe.
        let n = u64::from(nevents);
        bump(&pool.counters.written, n);
        if max_len > self.stream_room(w) {
            if !w.cur.is_null() {
                self.retire(pool, w);
                // Never wake the reader here (the runqueue lock may be
                // held): the irq_work does it.
                // SAFETY: irq_work_queue() is callable from any context.
                unsafe { helpers::rust_trace_irq_work_queue() };
            }
            // A fresh batch has room for any group of events, unless
            // `max_len` is beyond a buffer (a bug in the caller).
            if !self.start_batch(pool, w, now) || max_len > self.stream_room(w) {
                lose(pool, w, n);
                return false;
            }
        }
        let dt = now.saturating_sub(w.last_ts);
        w.last_ts = now;
        let b = w.cur;
        // SAFETY: `b` is in our CPU slot: we are its only writer.
        let hdr = unsafe { &mut *b.ptr() };
        let used = hdr.used as usize;
        // Its length, `max_len`, is known where this is inlined: the
        // encoder's room checks fold away.
        // SAFETY: `max_len <= cap - used` (`stream_room`) on both paths
        // above: the slice lies inside the buffer, which only this writer
        // touches while it is in the CPU slot.
        let dst = unsafe { core::slice::from_raw_parts_mut(b.batch().add(used), max_len) };
        let mut enc = Encoder::new(dst);
        encode.encode(&mut enc, dt);
        match enc.fitted_len() {
            Some(len) => {
                hdr.used = hdr.used.wrapping_add(len as u32);
                hdr.nevents = hdr.nevents.wrapping_add(nevents);
                true
            }
            // `max_len` was too small for what `encode` wrote: a bug in
            // the caller. Count the events as lost rather than corrupt
            // the batch.
            None => {
                lose(pool, w, n);
                false
            }
        }
    }

    /// The flight recording write path: records `nev` events (one, or
    /// none when a task record is all there is; at most `max_len` bytes)
    /// on this CPU, preceded by a task record for each PID of `names` this
    /// CPU has not named in its current epoch and for `always` in any case
    /// (a forked child, a rename): the CPU's name cache decides, here with
    /// IRQs off, and learns the names stored. `encode(enc, dt, which)`
    /// writes the task records of the PIDs `which` marks (`names[0]`,
    /// `names[1]`, `always`, in that order, `dt` before the first), then
    /// the events. Returns whether they were stored (false: counted as
    /// lost, which flight recording avoids by reusing its oldest buffer).
    ///
    /// Flight recording only; tracepoint context: preemption is off, IRQs
    /// are disabled here.
    #[inline(always)]
    pub(crate) fn record_flight(
        &self,
        max_len: usize,
        nev: u32,
        names: [Option<u32>; 2],
        always: Option<u32>,
        encode: impl EncodeNamed,
    ) -> bool {
        // SAFETY: `irqs_off` is false.
        unsafe { self.record_flight_in(false, max_len, nev, names, always, encode) }
    }

    /// [`BufPool::record_flight`], for a caller that may run with IRQs off
    /// already (`irqs_off`), as [`BufPool::record_stream_in`].
    ///
    /// # Safety
    ///
    /// IRQs are off on this CPU if `irqs_off`.
    #[inline(always)]
    pub(crate) unsafe fn record_flight_in(
        &self,
        irqs_off: bool,
        max_len: usize,
        nev: u32,
        names: [Option<u32>; 2],
        always: Option<u32>,
        encode: impl EncodeNamed,
    ) -> bool {
        // SAFETY: as in record_stream_in().
        let (flags, now, pool, w) = unsafe { self.enter(irqs_off) };
        let stored = self.flight_local(pool, w, now, max_len, nev, names, always, encode);
        Self::leave(flags);
        stored
    }

    /// [`BufPool::record_flight`] on this CPU's pool and writer, IRQs off,
    /// at `now`: returns whether the events were stored.
    #[inline(always)]
    #[allow(
        clippy::too_many_arguments,
        reason = "record_flight's, and the CPU's state"
    )]
    fn flight_local(
        &self,
        pool: &CpuPool,
        w: &mut CpuWriter,
        now: u64,
        max_len: usize,
        nev: u32,
        names: [Option<u32>; 2],
        always: Option<u32>,
        encode: impl EncodeNamed,
    ) -> bool {
        // Wrapping arithmetic, as in `record_stream`.
        self.flight_clock(pool, w, now);
        let epoch = w.epoch;
        // The forget counts, read before the tasks are (by `encode`).
        let seq = |p: Option<u32>| p.map_or(0, |p| self.forgets.seq(p));
        let seqs = [seq(names[0]), seq(names[1]), seq(always)];
        // The tasks to name first: unnamed ones, no PID twice.
        let first = names[0].is_some_and(|p| !pool.names.contains(p, epoch, seqs[0]));
        let second = names[1].is_some_and(|p| {
            !(pool.names.contains(p, epoch, seqs[1]) || (first && names[0] == Some(p)))
        });
        let which = [first, second, always.is_some()];
        // At most 3 task records: the arithmetic cannot overflow.
        let ntask = u32::from(first) + u32::from(second) + u32::from(always.is_some());
        let nevents = ntask.wrapping_add(nev);
        let n = u64::from(nevents);
        bump(&pool.counters.written, n);
        let len = max_len.wrapping_add((ntask as usize).wrapping_mul(TASK_MAX));
        let cap = self.buf_size.wrapping_sub(BUF_HDR_LEN);
        // The first event of a generation also needs room for its
        // crossing.
        let need = if w.gen_started {
            len
        } else {
            len.wrapping_add(CROSS_LEN)
        };
        if !w.cur.is_null() {
            // SAFETY: `cur` is ours (CPU slot) and non-null.
            if need > room(cap, unsafe { w.cur.hdr() }) {
                self.retire(pool, w);
            }
        }
        if w.cur.is_null() && !self.start_batch(pool, w, now) {
            lose(pool, w, n);
            w.gone_ts = now;
            return false;
        }
        let b = w.cur;
        // SAFETY: `b` is in our CPU slot: we are its only writer.
        let hdr = unsafe { &mut *b.ptr() };
        if !w.gen_started {
            // The first event of a generation on this CPU: where a
            // snapshot may cut (`need` kept room for the crossing).
            note_crossing(b, hdr, w, cap);
        }
        let dt = now.saturating_sub(w.last_ts);
        let used = hdr.used as usize;
        let room = room(cap, hdr).min(len);
        // SAFETY: `used + room` stays below the crossings at the
        // buffer's end, so the slice lies inside the buffer, which only
        // this writer touches while it is in the CPU slot.
        let dst = unsafe { core::slice::from_raw_parts_mut(b.batch().add(used), room) };
        let mut enc = Encoder::new(dst);
        encode.encode(&mut enc, dt, which);
        match enc.fitted_len() {
            Some(l) => {
                hdr.used = hdr.used.wrapping_add(l as u32);
                hdr.nevents = hdr.nevents.wrapping_add(nevents);
                hdr.last_ts = now;
                w.last_ts = now;
                w.gen_started = true;
                if let (Some(p), true) = (names[0], first) {
                    pool.names.insert(p, epoch, seqs[0]);
                }
                if let (Some(p), true) = (names[1], second) {
                    pool.names.insert(p, epoch, seqs[1]);
                }
                if let Some(p) = always {
                    pool.names.insert(p, epoch, seqs[2]);
                }
                true
            }
            // `max_len` was too small for what `encode` wrote: a bug in
            // the caller. Count the events as lost rather than corrupt
            // the batch.
            None => {
                lose(pool, w, n);
                w.gone_ts = now;
                false
            }
        }
    }

    /// Takes an empty buffer into `w.cur` and starts a batch at `now`.
    /// Returns false if the CPU has no buffer to write to. In flight
    /// recording, reuses the CPU's oldest retired buffer when the ring is
    /// full or no empty one is left (its events count as overwritten).
    /// Writer context.
    fn start_batch(&self, pool: &CpuPool, w: &mut CpuWriter, now: u64) -> bool {
        let flight = self.flight.load(Ordering::Relaxed);
        let b = if flight && w.ring_len > self.ring_cap() {
            self.ring_reuse(pool, w)
        } else {
            // SAFETY: only this CPU's writer (or a quiescent caller) pops
            // its empty stack: single consumer.
            let b = unsafe { pool.empty.pop() };
            if b.is_null() && flight {
                self.ring_reuse(pool, w)
            } else {
                b
            }
        };
        if b.is_null() {
            return false;
        }
        // INVARIANT: `b` left the empty stack or the ring and is now in the
        // CPU slot.
        // SAFETY: we hold `b`.
        let hdr = unsafe { &mut *b.ptr() };
        hdr.used = BATCH_HDR_LEN as u32;
        hdr.nevents = 0;
        hdr.ncross = 0;
        hdr.seq = w.seq;
        hdr.ts = now;
        hdr.lost = w.lost_pending;
        hdr.last_ts = now;
        hdr.gen_first = w.gen;
        w.seq = w.seq.wrapping_add(1);
        w.lost_pending = 0;
        w.last_ts = now;
        w.cur = b;
        true
    }

    /// Writes the batch header of `w.cur` and moves it to the full queue,
    /// or in flight recording to the end of the CPU's ring. Writer context
    /// (or quiescent). `w.cur` must be non-null.
    fn retire(&self, pool: &CpuPool, w: &mut CpuWriter) {
        let b = w.cur;
        w.cur = TraceBufPtr::NULL;
        // SAFETY: `b` was in the CPU slot, which we own.
        let hdr = unsafe { &*b.ptr() };
        let bh = BatchHeader {
            len: hdr.used,
            cpu: hdr.cpu,
            nevents: hdr.nevents,
            seq: hdr.seq,
            ts: hdr.ts,
            lost: hdr.lost,
        };
        // SAFETY: the batch area starts with BATCH_HDR_LEN bytes reserved by
        // start_batch(); we own the buffer.
        unsafe { ptr::copy_nonoverlapping(bh.to_bytes().as_ptr(), b.batch(), BATCH_HDR_LEN) };
        bump(&pool.counters.batches, 1);
        bump(&pool.counters.batched, u64::from(hdr.nevents));
        if self.flight.load(Ordering::Relaxed) {
            // INVARIANT: `b` leaves the CPU slot for the end of its ring.
            hdr.link.store(0, Ordering::Relaxed);
            if w.ring_tail.is_null() {
                w.ring_head = b;
            } else {
                // SAFETY: the ring's buffers are the writer's.
                unsafe { w.ring_tail.hdr() }
                    .link
                    .store(b.0, Ordering::Relaxed);
            }
            w.ring_tail = b;
            w.ring_len = w.ring_len.wrapping_add(1);
            return;
        }
        // INVARIANT: `b` leaves the CPU slot for the full queue.
        // SAFETY: we hold `b` and it is on no list.
        unsafe { self.full.push(b) };
    }

    /// Flight recording: starts a new generation when `now` reached the
    /// end of the writer's, and switches buffers at the freeze time the
    /// first time it is reached (the buffer before it goes to the ring,
    /// where a snapshot finds it). Both start a name epoch. Writer context.
    #[inline(always)]
    fn flight_clock(&self, pool: &CpuPool, w: &mut CpuWriter, now: u64) {
        if now >= w.gen_end {
            let g = self.gen_ns.load(Ordering::Relaxed);
            // `g` is at least 1 ms (start_flight()); no division by zero.
            w.gen = now.checked_div(g).unwrap_or(0);
            w.gen_end = w.gen.wrapping_add(1).wrapping_mul(g);
            w.gen_started = false;
            w.epoch = w.epoch.wrapping_add(1);
        }
        let f = self.freeze_at.load(Ordering::Relaxed);
        if now >= f && w.frozen_at != f {
            self.freeze_writer(pool, w, f, now);
        }
    }

    /// Freezes at `at` (in the past, and after every event `w` recorded):
    /// retires the current buffer if it holds events and moves the whole
    /// ring, oldest first, to the CPU's frozen list, where the snapshot
    /// takes it. Doing it at the writer's first event at or after `at`
    /// (or in the snapshot's IPI if there is none) means no buffer of
    /// events before `at` is reused for later ones. Writer context.
    ///
    /// `now` is this CPU's clock. It disagreed with the freeze time's
    /// clock if it is still before `at` (behind: frozen by the IPI, its
    /// later events before `at` miss the snapshot) or if the writer
    /// recorded events at or after `at` before it saw it (ahead: they are
    /// in the snapshot): by how much is noted for the snapshot record.
    fn freeze_writer(&self, pool: &CpuPool, w: &mut CpuWriter, at: u64, now: u64) {
        let skew = if now < at {
            at.wrapping_sub(now)
        } else if w.last_ts >= at {
            w.last_ts.wrapping_sub(at).wrapping_add(1)
        } else {
            0
        };
        pool.frozen_skew.store(skew, Ordering::Relaxed);
        w.frozen_at = at;
        // SAFETY: `cur` is ours when non-null.
        if !w.cur.is_null() && unsafe { w.cur.hdr() }.nevents > 0 {
            self.retire(pool, w);
        }
        w.epoch = w.epoch.wrapping_add(1);
        // INVARIANT: the ring's buffers move from the writer to the
        // snapshot (the frozen list), linked as they were.
        pool.frozen_gone.store(w.gone_ts, Ordering::Relaxed);
        pool.frozen.store(w.ring_head.0, Ordering::Release);
        w.ring_head = TraceBufPtr::NULL;
        w.ring_tail = TraceBufPtr::NULL;
        w.ring_len = 0;
    }

    /// Buffers a CPU's ring may hold in flight recording: all but the
    /// current one and [`FLIGHT_RESERVE`], which stay free for recording
    /// while a snapshot is read.
    fn ring_cap(&self) -> usize {
        self.nr_bufs.saturating_sub(FLIGHT_RESERVE + 1).max(1)
    }

    /// Takes the oldest buffer off the writer's ring for reuse, counting
    /// its events as overwritten; null if the ring is empty. Writer context.
    fn ring_reuse(&self, pool: &CpuPool, w: &mut CpuWriter) -> TraceBufPtr {
        let b = w.ring_head;
        if b.is_null() {
            return b;
        }
        // SAFETY: the ring's buffers are the writer's.
        let hdr = unsafe { b.hdr() };
        w.ring_head = TraceBufPtr(hdr.link.load(Ordering::Relaxed));
        if w.ring_head.is_null() {
            w.ring_tail = TraceBufPtr::NULL;
        }
        w.ring_len = w.ring_len.wrapping_sub(1);
        bump(&pool.counters.overwritten, u64::from(hdr.nevents));
        w.gone_ts = w.gone_ts.max(hdr.last_ts);
        b
    }

    /// Switches the pool to flight recording with generations of `gen_ns`
    /// nanoseconds (at least 1 ms); `EINVAL` if the CPUs have fewer than
    /// [`FLIGHT_MIN_BUFS`] buffers each.
    ///
    /// # Safety
    ///
    /// Quiescent, just after [`BufPool::reset`]: no probe runs.
    pub(crate) unsafe fn start_flight(&self, gen_ns: u64) -> Result {
        if self.nr_bufs < FLIGHT_MIN_BUFS || gen_ns < 1_000_000 {
            return Err(EINVAL);
        }
        self.gen_ns.store(gen_ns, Ordering::Relaxed);
        self.freeze_at.store(u64::MAX, Ordering::Relaxed);
        self.flight.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Ends flight recording: back to streaming for the next session.
    ///
    /// # Safety
    ///
    /// Quiescent: no probe runs.
    pub(crate) unsafe fn stop_flight(&self) {
        self.flight.store(false, Ordering::Relaxed);
        self.freeze_at.store(u64::MAX, Ordering::Relaxed);
    }

    /// Whether the pool is flight recording.
    pub(crate) fn in_flight(&self) -> bool {
        self.flight.load(Ordering::Relaxed)
    }

    /// The generation period of flight recording.
    pub(crate) fn gen_ns(&self) -> u64 {
        self.gen_ns.load(Ordering::Relaxed)
    }

    /// Sets the freeze time: each writer switches buffers at its first
    /// event at or after `at`. Process context.
    pub(crate) fn set_freeze(&self, at: u64) {
        self.freeze_at.store(at, Ordering::Relaxed);
    }

    /// Freezes `cpu` at `at` if its writer has not done so itself (it had
    /// no event since `at`): its buffers, all of events before `at`, move
    /// to its frozen list for [`BufPool::take_frozen`].
    ///
    /// # Safety
    ///
    /// The caller is the only user of `cpu`'s writer state: on `cpu` with
    /// IRQs off (an IPI), or `cpu` offline with hotplug locked out. `at` is
    /// in the past.
    pub(crate) unsafe fn freeze_local(&self, cpu: usize, at: u64, now: u64) {
        let Some(pool) = self.cpus.get(cpu) else {
            return;
        };
        // SAFETY: exclusive use, by the caller's contract.
        let w = unsafe { &mut *pool.writer.get() };
        if w.frozen_at != at {
            // No event since `at`: everything the CPU holds is older.
            self.freeze_writer(pool, w, at, now);
        }
    }

    /// The buffers the freeze took from `cpu`, oldest first (linked by
    /// `link`; the caller holds them), the time of the newest event the
    /// CPU had overwritten or lost by then (0: none): the CPU holds every
    /// event it recorded after that time, and how far its clock disagreed
    /// with the freeze time (ns, see `freeze_writer`). Process context,
    /// after the freeze.
    pub(crate) fn take_frozen(&self, cpu: usize) -> (TraceBufPtr, u64, u64) {
        self.cpus.get(cpu).map_or((TraceBufPtr::NULL, 0, 0), |p| {
            (
                TraceBufPtr(p.frozen.swap(0, Ordering::Acquire)),
                p.frozen_gone.load(Ordering::Relaxed),
                p.frozen_skew.load(Ordering::Relaxed),
            )
        })
    }

    /// Flight recording: events `cpu` overwrote since flight recording
    /// started.
    pub(crate) fn overwritten(&self, cpu: usize) -> u64 {
        self.cpus
            .get(cpu)
            .map_or(0, |p| p.counters.overwritten.load(Ordering::Relaxed))
    }

    /// Forgets `pid` in every CPU's name cache: its next event on any CPU
    /// names it again. O(1), whatever the number of CPUs. Any context.
    #[inline(always)]
    pub(crate) fn forget_name(&self, pid: u32) {
        self.forgets.forget(pid);
    }

    /// What a snapshot needs to know of a buffer it holds.
    ///
    /// # Safety
    ///
    /// `b` is non-null and held by the caller (a frozen buffer).
    pub(crate) unsafe fn frozen_meta(&self, b: TraceBufPtr) -> FrozenMeta {
        // SAFETY: held by the caller: no one writes it.
        let h = unsafe { b.hdr() };
        FrozenMeta {
            next: TraceBufPtr(h.link.load(Ordering::Relaxed)),
            nevents: h.nevents,
            last_ts: h.last_ts,
            gen_first: h.gen_first,
        }
    }

    /// Cuts `b` so that its batch starts at its first event of generation
    /// `gen` or later: the events before are dropped, the batch's time base
    /// becomes the time of the event before the cut. Returns the events
    /// dropped, or `None` if `b` has no such crossing.
    ///
    /// # Safety
    ///
    /// `b` is non-null and held by the caller; process context.
    pub(crate) unsafe fn cut_before_gen(&self, b: TraceBufPtr, gen: u64) -> Option<u32> {
        let cap = self.buf_size.wrapping_sub(BUF_HDR_LEN);
        // SAFETY: held by the caller: ours to change.
        let h = unsafe { &mut *b.ptr() };
        let mut found = None;
        for k in 1..=h.ncross as usize {
            let off = cap.checked_sub(k.checked_mul(CROSS_LEN)?)?;
            // SAFETY: crossing `k - 1` lies at `off`, inside the batch area.
            let c = unsafe { ptr::read_unaligned(b.batch().add(off).cast::<Crossing>()) };
            if c.gen >= gen {
                found = Some(c);
                break;
            }
        }
        let c = found?;
        let from = c.offset as usize;
        let used = h.used as usize;
        if from < BATCH_HDR_LEN || from > used {
            return None;
        }
        // SAFETY: both ranges lie inside the batch's `used` bytes.
        unsafe {
            ptr::copy(
                b.batch().add(from),
                b.batch().add(BATCH_HDR_LEN),
                used - from,
            )
        };
        h.used = (BATCH_HDR_LEN + (used - from)) as u32;
        h.nevents = h.nevents.saturating_sub(c.nevents_before);
        h.ts = c.prev_ts;
        h.ncross = 0;
        Some(c.nevents_before)
    }

    /// Rewrites `b`'s batch header as batch `seq` of its CPU with no loss,
    /// and returns its event count.
    ///
    /// # Safety
    ///
    /// `b` is non-null and held by the caller.
    pub(crate) unsafe fn seal(&self, b: TraceBufPtr, seq: u64) -> u32 {
        // SAFETY: held by the caller.
        let h = unsafe { &mut *b.ptr() };
        h.seq = seq;
        h.lost = 0;
        let bh = BatchHeader {
            len: h.used,
            cpu: h.cpu,
            nevents: h.nevents,
            seq,
            ts: h.ts,
            lost: 0,
        };
        // SAFETY: the batch area starts with its header's bytes.
        unsafe { ptr::copy_nonoverlapping(bh.to_bytes().as_ptr(), b.batch(), BATCH_HDR_LEN) };
        h.nevents
    }

    /// Hands `b` to the reader through the full queue.
    ///
    /// # Safety
    ///
    /// `b` is non-null, held by the caller and on no list; the caller
    /// drops its handle.
    pub(crate) unsafe fn queue(&self, b: TraceBufPtr) {
        // INVARIANT: from the caller to the full queue.
        // SAFETY: by the caller's contract.
        unsafe { self.full.push(b) };
    }

    /// Gives `b`, which a snapshot does not keep, back to its CPU's empty
    /// stack (not counted as read).
    ///
    /// # Safety
    ///
    /// `b` is non-null, held by the caller and on no list; the caller
    /// drops its handle.
    pub(crate) unsafe fn give_back(&self, b: TraceBufPtr) {
        // SAFETY: held by the caller.
        let cpu = unsafe { b.hdr() }.cpu as usize;
        if let Some(pool) = self.cpus.get(cpu) {
            // INVARIANT: from the caller to its CPU's empty stack.
            // SAFETY: by the caller's contract.
            unsafe { pool.empty.push(b) };
        }
    }

    /// Whether `cpu`'s current buffer may hold events (a hint read from
    /// another CPU: the counters of events written, lost and retired). The
    /// flushers skip a CPU without any, so an idle CPU gets no IPI.
    pub(crate) fn may_hold_events(&self, cpu: usize) -> bool {
        let Some(pool) = self.cpus.get(cpu) else {
            return false;
        };
        let c = &pool.counters;
        let gone = c
            .lost
            .load(Ordering::Relaxed)
            .wrapping_add(c.batched.load(Ordering::Relaxed));
        c.written.load(Ordering::Relaxed) != gone
    }

    /// Retires this CPU's partial buffer, if it holds any event.
    ///
    /// # Safety
    ///
    /// Must run on CPU `cpu` with IRQs off (e.g. from an IPI).
    pub(crate) unsafe fn flush_local(&self, cpu: usize) {
        // SAFETY: on `cpu` with IRQs off, by the caller's contract: the
        // only user of its writer state.
        unsafe { self.flush_partial(cpu) }
    }

    /// Retires the partial buffer of `cpu`, an offline CPU.
    ///
    /// # Safety
    ///
    /// `cpu` is offline and stays so during the call (`cpus_read_lock()`
    /// held), and no other flusher runs (the caller serialises them).
    pub(crate) unsafe fn flush_offline(&self, cpu: usize) {
        // SAFETY: a CPU that is offline with hotplug locked out runs no
        // probe, and the caller excludes other flushers.
        unsafe { self.flush_partial(cpu) }
    }

    /// Retires `cpu`'s current buffer if it holds an event.
    ///
    /// # Safety
    ///
    /// The caller is the only user of `cpu`'s writer state (see the
    /// `CpuPool` invariant and the callers).
    unsafe fn flush_partial(&self, cpu: usize) {
        let Some(pool) = self.cpus.get(cpu) else {
            return;
        };
        // SAFETY: exclusive use, by the caller's contract.
        let w = unsafe { &mut *pool.writer.get() };
        // SAFETY: `cur` is ours when non-null.
        if !w.cur.is_null() && unsafe { w.cur.hdr() }.nevents > 0 {
            self.retire(pool, w);
        }
    }

    /// Retires the partial buffer of every CPU, and gives each CPU that lost
    /// events since its last batch an empty batch that reports them, if an
    /// empty buffer is left (the footer reports all losses in any case).
    ///
    /// # Safety
    ///
    /// No probe may be running or start (probes unregistered and synchronised).
    pub(crate) unsafe fn flush_quiescent(&self, now: u64) {
        for pool in self.cpus.iter() {
            // SAFETY: quiescent by the caller's contract.
            let w = unsafe { &mut *pool.writer.get() };
            if w.cur.is_null() && w.lost_pending > 0 {
                self.start_batch(pool, w, now);
            }
            if !w.cur.is_null() {
                self.retire(pool, w);
            }
        }
    }

    /// Takes every retired buffer, oldest first per CPU; returns the head of
    /// a list linked through `link`, or null. Reader context.
    pub(crate) fn take_full(&self) -> TraceBufPtr {
        let mut rest = self.full.take_all();
        let mut fifo = TraceBufPtr::NULL;
        while !rest.is_null() {
            // SAFETY: the reader now holds every buffer of the list.
            let next = unsafe { rest.next() };
            // SAFETY: as above.
            unsafe { rest.hdr() }.link.store(fifo.0, Ordering::Relaxed);
            fifo = rest;
            rest = next;
        }
        fifo
    }

    /// Returns `b`'s batch bytes and, separately, the next buffer of the
    /// reader's list `b` heads.
    ///
    /// # Safety
    ///
    /// `b` is non-null and held by the reader, which must not recycle it
    /// while it uses the slice.
    pub(crate) unsafe fn batch<'a>(&self, b: TraceBufPtr) -> (&'a [u8], TraceBufPtr) {
        // SAFETY: non-null and held by the reader: no one writes it.
        let hdr = unsafe { b.hdr() };
        // SAFETY: `used` bytes of the batch were written before the buffer
        // was retired; the full queue's Release/Acquire made them visible.
        let bytes = unsafe { core::slice::from_raw_parts(b.batch(), hdr.used as usize) };
        // SAFETY: non-null.
        (bytes, unsafe { b.next() })
    }

    /// Gives a buffer the reader is done with back to its CPU, counting its
    /// events as read. Reader context.
    ///
    /// # Safety
    ///
    /// `b` is non-null and held by the reader; the reader drops its handle.
    pub(crate) unsafe fn recycle(&self, b: TraceBufPtr) {
        // SAFETY: held by the reader.
        let hdr = unsafe { b.hdr() };
        if let Some(pool) = self.cpus.get(hdr.cpu as usize) {
            let c = &pool.counters;
            c.read_events
                .fetch_add(u64::from(hdr.nevents), Ordering::Relaxed);
            c.read_bytes
                .fetch_add(u64::from(hdr.used), Ordering::Relaxed);
            // INVARIANT: `b` moves from the reader to its CPU's empty stack.
            // SAFETY: held by the reader, on no list.
            unsafe { pool.empty.push(b) };
        }
    }
}

/// Adds `n` to a counter that has a single writer (no locked instruction).
#[inline(always)]
fn bump(a: &AtomicU64, n: u64) {
    a.store(a.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// Counts `n` events of this CPU as lost: in its counters, and in the
/// `lost` of its next batch. Writer context.
#[inline(always)]
fn lose(pool: &CpuPool, w: &mut CpuWriter, n: u64) {
    bump(&pool.counters.lost, n);
    w.lost_pending = w.lost_pending.wrapping_add(n);
}

/// Bytes a buffer's batch can still take: below its crossings.
#[inline(always)]
fn room(cap: usize, hdr: &TraceBufHdr) -> usize {
    cap.saturating_sub(hdr.used as usize)
        .saturating_sub((hdr.ncross as usize).wrapping_mul(CROSS_LEN))
}

/// Notes that the next event of `b` (the writer's current buffer) is the
/// first of generation `w.gen` on this CPU: in the header if it is the
/// buffer's first event, else in a crossing at the buffer's end, for
/// which the caller kept room. Writer context.
#[inline(always)]
fn note_crossing(b: TraceBufPtr, hdr: &mut TraceBufHdr, w: &CpuWriter, cap: usize) {
    if hdr.nevents == 0 {
        hdr.gen_first = w.gen;
        return;
    }
    let c = Crossing {
        gen: w.gen,
        prev_ts: w.last_ts,
        offset: hdr.used,
        nevents_before: hdr.nevents,
    };
    let k = (hdr.ncross as usize).wrapping_add(1);
    let off = cap.wrapping_sub(k.wrapping_mul(CROSS_LEN));
    // SAFETY: the caller kept room for one more crossing below the
    // buffer's end: `off` lies inside the batch area, above the events.
    unsafe { ptr::write_unaligned(b.batch().add(off).cast::<Crossing>(), c) };
    hdr.ncross = hdr.ncross.wrapping_add(1);
}

/// What a snapshot reads of a frozen buffer ([`BufPool::frozen_meta`]).
pub(crate) struct FrozenMeta {
    /// The next buffer of the frozen list (null at its end).
    pub(crate) next: TraceBufPtr,
    /// Its events.
    pub(crate) nevents: u32,
    /// Time of its last event.
    pub(crate) last_ts: u64,
    /// Generation of its first event.
    pub(crate) gen_first: u64,
}
