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
//! - [`BufPool::record`] runs in tracepoint context: preemption off, maybe
//!   the runqueue lock held. It disables IRQs on this CPU for the reserve and
//!   commit (so a nested event from an interrupt cannot interleave with a
//!   half-written one), never sleeps, never allocates, takes no lock, and
//!   drops (counting) an event for which no empty buffer is left.
//! - [`BufPool::flush_local`] runs on the CPU whose buffer it retires, with
//!   IRQs off (an IPI), so it cannot race that CPU's writer.
//! - [`BufPool::flush_offline`] runs in process context on behalf of a CPU
//!   that is offline and cannot come online meanwhile (`cpus_read_lock()`
//!   held): a dead CPU runs no probe, so its writer state is free.
//! - [`BufPool::flush_quiescent`] and [`BufPool::reset`] run in process
//!   context and require that no probe is running (unregistered and
//!   `tracepoint_synchronize_unregister()` done).
//! - [`BufPool::new`] and dropping the pool may sleep (vmalloc, vfree).

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::mem::size_of;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use kernel::alloc::allocator::Vmalloc;
use kernel::alloc::Allocator;
use kernel::bindings;
use kernel::prelude::*;

use crate::format::{BatchHeader, Encoder, BATCH_HDR_LEN};
use crate::helpers;

/// In-memory header at the start of every trace buffer; not part of the
/// stream. The batch (stream record) follows it.
#[repr(C)]
struct TraceBufHdr {
    link: AtomicUsize, // next buffer in the list this one is on (0 = end)
    cpu: u32,          // CPU whose pool holds this buffer
    used: u32,         // bytes of the batch written, its header included
    nevents: u32,      // events in the batch
    _pad: u32,         // keeps the u64 fields aligned
    seq: u64,          // batch sequence number on its CPU
    ts: u64,           // time of the batch start
    lost: u64,         // events the CPU lost just before this batch
}

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
    cur: TraceBufPtr,  // buffer being filled, or null: take one at the next event
    seq: u64,          // sequence number of the next batch
    lost_pending: u64, // events lost since the last batch was started
    last_ts: u64,      // time of the last event written to `cur`
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
}

impl core::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        // u64 event counts cannot overflow in practice; saturate anyway.
        self.written = self.written.saturating_add(o.written);
        self.lost = self.lost.saturating_add(o.lost);
        self.batches = self.batches.saturating_add(o.batches);
        self.read_events = self.read_events.saturating_add(o.read_events);
        self.read_bytes = self.read_bytes.saturating_add(o.read_bytes);
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
#[repr(align(64))]
struct CpuPool {
    writer: UnsafeCell<CpuWriter>, // the writer's private state
    empty: BufStack,               // empty buffers of this CPU
    counters: CpuCounters,         // statistics
    area: Option<VmallocArea>,     // the buffers; None for an impossible CPU
}

// SAFETY: `writer` is only touched under the rule stated on `CpuPool`
// (one CPU with IRQs off, or quiescence); everything else is atomic or
// immutable after construction.
unsafe impl Sync for CpuPool {}
// SAFETY: as above; the raw pointers only name memory the pool owns.
unsafe impl Send for CpuPool {}

/// All trace buffers, for every possible CPU, and the full queue.
///
/// # Invariants
///
/// `cpus[c].area`, for a possible CPU `c`, holds `nr_bufs` buffers of
/// `buf_size` bytes, each starting with a [`TraceBufHdr`] whose `cpu` is `c`.
pub(crate) struct BufPool {
    cpus: KVec<CpuPool>, // indexed by CPU id, `nr_cpu_ids` entries
    full: BufStack,      // retired buffers waiting for the reader
    buf_size: usize,     // bytes per buffer, header included
    nr_bufs: usize,      // buffers per possible CPU
}

impl BufPool {
    /// Allocates `nr_bufs` buffers of `buf_size` bytes for every possible CPU
    /// among `nr_cpus` CPU ids. May sleep.
    pub(crate) fn new(nr_cpus: usize, buf_size: usize, nr_bufs: usize) -> Result<Self> {
        let area_len = buf_size.checked_mul(nr_bufs).ok_or(EINVAL)?;
        let mut cpus = KVec::with_capacity(nr_cpus, GFP_KERNEL)?;
        for cpu in 0..nr_cpus {
            // SAFETY: plain cpumask query.
            let possible = unsafe { helpers::rust_trace_cpu_possible(cpu as u32) };
            let area = if possible {
                Some(VmallocArea::new(area_len)?)
            } else {
                None
            };
            cpus.push(
                CpuPool {
                    writer: UnsafeCell::new(CpuWriter {
                        cur: TraceBufPtr::NULL,
                        seq: 0,
                        lost_pending: 0,
                        last_ts: 0,
                    }),
                    empty: BufStack::new(),
                    counters: CpuCounters::new(),
                    area,
                },
                GFP_KERNEL,
            )?;
        }
        let pool = BufPool {
            cpus,
            full: BufStack::new(),
            buf_size,
            nr_bufs,
        };
        // SAFETY: no probe can run: the pool is not published yet.
        unsafe { pool.reset() };
        Ok(pool)
    }

    /// Bytes of buffer memory the pool holds.
    pub(crate) fn memory(&self) -> usize {
        self.cpus
            .iter()
            .filter_map(|c| c.area.as_ref())
            .map(|a| a.len)
            .sum()
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

    /// Whether `cpu` has buffers (it is a possible CPU).
    pub(crate) fn has_cpu(&self, cpu: usize) -> bool {
        self.cpus.get(cpu).is_some_and(|c| c.area.is_some())
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
        self.full.take_all();
        for (cpu, pool) in self.cpus.iter().enumerate() {
            // SAFETY: quiescent by the caller's contract (the `CpuPool`
            // invariant allows process context then).
            let w = unsafe { &mut *pool.writer.get() };
            *w = CpuWriter {
                cur: TraceBufPtr::NULL,
                seq: 0,
                lost_pending: 0,
                last_ts: 0,
            };
            pool.counters.clear();
            pool.empty.take_all();
            let Some(area) = &pool.area else { continue };
            // Push in reverse so the first buffer is on top: the order is
            // only cosmetic, each one is reused the same way.
            for i in (0..self.nr_bufs).rev() {
                let mut b = TraceBufPtr::NULL;
                b.set(
                    area.addr
                        .wrapping_add(i * self.buf_size)
                        .cast::<TraceBufHdr>(),
                );
                // SAFETY: slot `i` lies inside the area (i < nr_bufs) and is
                // aligned (buf_size is a power of two >= 4096, vmalloc is
                // page-aligned); nothing else references it during a reset.
                unsafe {
                    ptr::write(
                        b.ptr(),
                        TraceBufHdr {
                            link: AtomicUsize::new(0),
                            cpu: cpu as u32,
                            used: 0,
                            nevents: 0,
                            _pad: 0,
                            seq: 0,
                            ts: 0,
                            lost: 0,
                        },
                    )
                };
                // INVARIANT: the buffer is now on exactly one list, this
                // CPU's empty stack.
                // SAFETY: `b` is valid and on no list.
                unsafe { pool.empty.push(b) };
            }
        }
    }

    /// Records one group of `nevents` events (at most `max_len` bytes) on this
    /// CPU; `encode` writes them given the time since the previous event.
    /// Returns whether they were stored (false: counted as lost). When a
    /// buffer is retired, queues the irq_work that wakes the reader.
    ///
    /// Tracepoint context: preemption is off; IRQs are disabled here.
    #[inline(always)]
    pub(crate) fn record(
        &self,
        max_len: usize,
        nevents: u32,
        encode: impl FnOnce(&mut Encoder<'_>, u64),
    ) -> bool {
        // SAFETY: saving and disabling IRQs on this CPU is always allowed.
        let flags = unsafe { helpers::rust_trace_irq_save() };
        // SAFETY: IRQs are off, so the CPU cannot change under us.
        let cpu = unsafe { helpers::rust_trace_smp_processor_id() } as usize;
        let (mut stored, mut wake) = (false, false);
        if let Some(pool) = self.cpus.get(cpu) {
            // SAFETY: we run on `cpu` with IRQs off: the `CpuPool` invariant
            // makes us the only user of its writer state.
            let w = unsafe { &mut *pool.writer.get() };
            (stored, wake) = self.record_locked(pool, w, max_len, nevents, encode);
        }
        // SAFETY: restores the state saved above.
        unsafe { helpers::rust_trace_irq_restore(flags) };
        if wake {
            // Never wake the reader here (the runqueue lock may be held):
            // the irq_work does it.
            // SAFETY: irq_work_queue() is callable from any context.
            unsafe { helpers::rust_trace_irq_work_queue() };
        }
        stored
    }

    /// The body of [`BufPool::record`], with IRQs off on `pool`'s CPU.
    #[inline(always)]
    fn record_locked(
        &self,
        pool: &CpuPool,
        w: &mut CpuWriter,
        max_len: usize,
        nevents: u32,
        encode: impl FnOnce(&mut Encoder<'_>, u64),
    ) -> (bool, bool) {
        // The event path must not panic: arithmetic here is on values the
        // invariants bound (a buffer's `used` <= `cap` < 4 MiB, counters
        // that would take centuries to wrap), so it is written wrapping,
        // which also keeps the overflow checks out of the probe.
        let n = u64::from(nevents);
        bump(&pool.counters.written, n);
        // SAFETY: local_clock() may be called from any context.
        let now = unsafe { helpers::local_clock() };
        let cap = self.buf_size.wrapping_sub(BUF_HDR_LEN);
        let mut wake = false;
        if !w.cur.is_null() {
            // SAFETY: `cur` is ours (CPU slot) and non-null.
            let used = unsafe { w.cur.hdr() }.used as usize;
            if max_len > cap.wrapping_sub(used) {
                self.retire(pool, w);
                wake = true;
            }
        }
        if w.cur.is_null() && !self.start_batch(pool, w, now) {
            bump(&pool.counters.lost, n);
            w.lost_pending = w.lost_pending.wrapping_add(n);
            return (false, wake);
        }
        let dt = now.saturating_sub(w.last_ts);
        w.last_ts = now;
        let b = w.cur;
        // SAFETY: `b` is in our CPU slot: we are its only writer.
        let hdr = unsafe { &mut *b.ptr() };
        let used = hdr.used as usize;
        let room = cap.wrapping_sub(used).min(max_len);
        // SAFETY: `used + room <= cap`, so the slice lies inside the buffer,
        // which only this writer touches while it is in the CPU slot.
        let dst = unsafe { core::slice::from_raw_parts_mut(b.batch().add(used), room) };
        let mut enc = Encoder::new(dst);
        encode(&mut enc, dt);
        match enc.fitted_len() {
            Some(len) => {
                hdr.used = hdr.used.wrapping_add(len as u32);
                hdr.nevents = hdr.nevents.wrapping_add(nevents);
                (true, wake)
            }
            // `max_len` was too small for what `encode` wrote: a bug in the
            // caller. Count the events as lost rather than corrupt the batch.
            None => {
                bump(&pool.counters.lost, n);
                w.lost_pending = w.lost_pending.wrapping_add(n);
                (false, wake)
            }
        }
    }

    /// Takes an empty buffer into `w.cur` and starts a batch at `now`.
    /// Returns false if the CPU has no empty buffer. Writer context.
    fn start_batch(&self, pool: &CpuPool, w: &mut CpuWriter, now: u64) -> bool {
        // SAFETY: only this CPU's writer (or a quiescent caller) pops its
        // empty stack: single consumer.
        let b = unsafe { pool.empty.pop() };
        if b.is_null() {
            return false;
        }
        // INVARIANT: `b` left the empty stack and is now in the CPU slot.
        // SAFETY: we hold `b`.
        let hdr = unsafe { &mut *b.ptr() };
        hdr.used = BATCH_HDR_LEN as u32;
        hdr.nevents = 0;
        hdr.seq = w.seq;
        hdr.ts = now;
        hdr.lost = w.lost_pending;
        w.seq = w.seq.wrapping_add(1);
        w.lost_pending = 0;
        w.last_ts = now;
        w.cur = b;
        true
    }

    /// Writes the batch header of `w.cur` and moves it to the full queue.
    /// Writer context (or quiescent). `w.cur` must be non-null.
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
        // INVARIANT: `b` leaves the CPU slot for the full queue.
        // SAFETY: we hold `b` and it is on no list.
        unsafe { self.full.push(b) };
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
