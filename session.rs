// SPDX-License-Identifier: GPL-2.0

//! A tracing session and the blocking reader: Go's `StartTrace`, `StopTrace`
//! and `ReadTrace`, over the buffer pool.
//!
//! ```text
//!       open(O_RDONLY): open_reader()                 write "stop": stop()
//!   [Idle] ------------------------------> [Running] ---------------------> [Stopped]
//!     ^   reset buffers, queue the header,   |  write "flush": partial       |
//!     |   attach probes, arm the periodic    |  buffers to the reader        |
//!     |   flush                              |                               |
//!     +------------------ close(reader): end() ------------------------------+
//!                        (stop() first if Running)
//!
//!   read()  header, then batches as they are retired, then (once Stopped and
//!           drained) the footer, then 0 = EOF
//! ```
//!
//! Flight recording is a fourth phase, with no reader (see `flight.rs`):
//!
//! ```text
//!   [Idle] --write "flight": flight()--> [Flight] --write "stop"--> [Idle]
//!              attach probes, no header     |  (or [Stopped] while a snapshot
//!                                           |   is being read)
//!          write "snapshot" / the trigger: a Pending snapshot; a reader
//!          gets it (header, snapshot record, batches, footer, EOF); its
//!          read() blocks while none is pending, and fails with ESRCH once
//!          flight recording stops
//! ```
//!
//! # Nothing waits in open()
//!
//! `misc_open()` calls our `open` with the misc devices' global mutex
//! held (`drivers/char/misc.c`): an `open` that slept until a snapshot
//! came would hold up every later open of any misc device, among them the
//! `stop` that was to end the wait. So `open` never waits: a reader opened
//! in flight recording is *awaiting* (`Reader::awaiting`), and its first
//! read() (or poll()) attaches it to the pending snapshot, or waits for
//! one on the wait queue, interruptibly.
//!
//! `stop` and `flush` act on the session of the open reader: with none
//! (Idle) they fail with `ESRCH` and change nothing; once Stopped they do
//! nothing and succeed, so `stop` is idempotent within a session.
//!
//! # The stop that outlives its session
//!
//! A `stop` runs for a while (the probes drain through an RCU grace
//! period). If its session's reader closes meanwhile, `end()` waits for
//! the session lock, and a new reader may open right after. Everything a
//! stop changes, `stopped` included, is therefore changed under the session
//! lock: once it drops the lock it has nothing left to do, and cannot mark
//! the next session stopped.
//!
//! # Flushes
//!
//! A retired buffer is handed to the reader and comes back only once read,
//! so every flush of a partial buffer spends one. The periodic flush runs
//! only while the reader waits for data (`reader_waiting`: it found none
//! at its last read or poll); a reader busy elsewhere or not reading at all
//! is not flushed to, and its buffers fill up before any is retired. Events
//! are then lost only when more was recorded than the pool holds. Both
//! flushes skip CPUs whose counters show nothing recorded since their last
//! batch: an idle CPU gets no IPI. An offline CPU's partial buffer is
//! retired from process context, with CPU hotplug held off.
//!
//! # Waking the reader
//!
//! Probes never wake anyone: retiring a buffer queues an irq_work (see
//! `bufpool.rs`), whose handler, [`irq_work_wake`], runs in hard IRQ context
//! outside the runqueue lock and wakes [`Tracer::waitq`]. Flushes and stop
//! run in process context and wake it directly. A reader sleeps only after
//! `prepare_to_wait_event()` and a fresh check of [`Tracer::data_ready`], so
//! a wake-up between its check and its sleep is not lost.
//!
//! # Locks and context
//!
//! Lock order: `reader`, then `session`, then `flush_lock`, then the CPU
//! hotplug lock (`cpus_read_lock()`). All three of ours are mutexes:
//! everything in this file runs in process context and may sleep, except
//! [`irq_work_wake`] (hard IRQ) and [`flush_ipi`] (IPI, IRQs off). A reader
//! never sleeps holding `reader` (it drops it before waiting), copies to
//! user space (where a page fault may take long) holding only `reader`, and
//! `stop()` never takes `reader`, so a blocked or faulting reader cannot
//! hold up a stop. While a reader is open only its read() and release()
//! take `reader`: another open sees `reader_open` first, `flight` refuses
//! before the lock, and poll() takes no lock (it reads `reader_state`,
//! which every locked change of the reader publishes), so a copy that a
//! page fault stalls for good (a userfaultfd or FUSE page) holds up
//! nothing but its own file. The periodic flush work takes `flush_lock` but not
//! `session`; `stop()` cancels the work (synchronously) before it detaches
//! the probes.

use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use kernel::bindings;
use kernel::ffi::c_void;
use kernel::prelude::*;
use kernel::sync::Mutex;
use kernel::types::Opaque;
use kernel::{new_mutex, try_pin_init};

use crate::bufpool::{BufPool, Counts, HotplugReg, TraceBufPtr};
use crate::filter::{Filter, FilterCmd, FilterSpec};
use crate::flight::{self, FilterAt, Flight};
use crate::format::{
    CpuTotals, Encoder, FooterFixed, Header, Trigger, CLOCK_LOCAL, FILTER_IDS_MAX, FILTER_MAX,
    HEADER_LEN, SNAPSHOT_LEN, VERSION,
};
use crate::helpers::{self, Opener};
use crate::pidset::PidSet;
use crate::probes::{Recorder, TaskFields, Tracepoints};
use crate::trigger::{LatencyTrigger, THRESHOLD_MAX_US, TRIGGER_AFTER_MS};

/// A wait queue readers and pollers sleep on.
///
/// # Invariants
///
/// `wq` was initialised by `init_waitqueue_head()`.
#[pin_data]
pub(crate) struct WaitQueue {
    #[pin]
    wq: Opaque<bindings::wait_queue_head>, // the C wait queue head
}

// SAFETY: a `struct wait_queue_head` is protected by its own spinlock.
unsafe impl Sync for WaitQueue {}
// SAFETY: as above.
unsafe impl Send for WaitQueue {}

impl WaitQueue {
    fn new() -> impl PinInit<Self> {
        pin_init!(WaitQueue {
            // SAFETY: `slot` is valid for writing a wait queue head.
            // INVARIANT: initialised here.
            wq <- Opaque::ffi_init(|slot| unsafe { helpers::rust_trace_init_waitqueue_head(slot) }),
        })
    }

    /// The C wait queue head, for `poll_wait()`.
    pub(crate) fn as_ptr(&self) -> *mut bindings::wait_queue_head {
        self.wq.get()
    }

    /// Wakes every sleeper. Any context but NMI; never from a probe.
    pub(crate) fn wake_all(&self) {
        // SAFETY: initialised by the type invariant.
        unsafe {
            bindings::__wake_up(
                self.wq.get(),
                bindings::TASK_NORMAL,
                0,
                core::ptr::null_mut(),
            )
        };
    }

    /// Sleeps until `cond()` holds; `ERESTARTSYS` if a signal arrives first.
    /// Must not be called from atomic context.
    fn wait_interruptible(&self, cond: impl Fn() -> bool) -> Result {
        let entry = Opaque::<bindings::wait_queue_entry>::uninit();
        // SAFETY: `entry` is valid for writing.
        unsafe { bindings::init_wait_entry(entry.get(), 0) };
        let ret = loop {
            // SAFETY: both are valid; the entry is removed by finish_wait()
            // below or by prepare_to_wait_event() itself on a signal.
            let sig = unsafe {
                bindings::prepare_to_wait_event(
                    self.wq.get(),
                    entry.get(),
                    bindings::TASK_INTERRUPTIBLE as _,
                )
            };
            if cond() {
                break Ok(());
            }
            if sig != 0 {
                break Err(ERESTARTSYS);
            }
            // SAFETY: process context, task state set by prepare_to_wait_event().
            unsafe { bindings::schedule() };
        };
        // SAFETY: `entry` was prepared on this queue; safe if already removed.
        unsafe { bindings::finish_wait(self.wq.get(), entry.get()) };
        ret
    }
}

/// Where the session is in its life (see the picture at the top).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No reader is open: nothing to stop or flush.
    Idle,
    /// A reader is open and the probes are attached.
    Running,
    /// A reader is open and the probes are detached: it drains the
    /// batches, then reads the footer.
    Stopped,
    /// Flight recording: the probes are attached, no stream is read; a
    /// reader may open to read a snapshot (see `flight.rs`).
    Flight,
}

/// A snapshot taken and not yet opened by a reader: its batches are in the
/// pool's full queue.
struct Pending {
    preamble: [u8; PREAMBLE_MAX], // the stream header and the snapshot record
    footer: KVec<u8>,             // the footer
}

/// Longest stream start: the header and a snapshot record.
const PREAMBLE_MAX: usize = HEADER_LEN + SNAPSHOT_LEN;

/// Session lifecycle state.
struct Session {
    tps: Tracepoints,          // the sched tracepoints and whether probes are attached
    phase: Phase,              // where the session is
    flush_armed: bool,         // the periodic flush work is scheduled
    footer: KVec<u8>,          // the footer, built by stop(), until the reader takes it
    sessions: u64,             // sessions started since load
    filter: FilterSpec,        // the filter the commands set (in force in `Recorder::filter`)
    flight: Option<Flight>,    // flight recording's state, in Phase::Flight
    snapshot: Option<Pending>, // a snapshot waiting for its reader
    snapshot_read: bool,       // the open reader holds a snapshot's batches
}

/// The reader's position in the stream.
///
/// # Invariants
///
/// `list` and `cur` are buffers held by the reader (see `bufpool.rs`):
/// `cur` is being copied from `off`, `list` links the ones after it.
/// `cur`'s own link is stale (it still points at what became `list`):
/// `cur` is one buffer, never a list to walk.
///
/// An `awaiting` reader holds no buffer and has no stream yet.
struct Reader {
    header: [u8; PREAMBLE_MAX], // the stream header (and a snapshot's record)
    header_len: usize,          // bytes of `header` in the stream
    header_off: usize,          // header bytes already read
    cur: TraceBufPtr,           // batch being copied, or null
    off: usize,                 // bytes of `cur` already read
    list: TraceBufPtr,          // batches taken from the full queue, oldest first
    footer: Option<KVec<u8>>,   // the footer, once taken from the session
    footer_off: usize,          // footer bytes already read
    eof: bool,                  // the footer was read entirely
    awaiting: bool,             // opened in flight recording, no snapshot yet
}

impl Reader {
    const fn idle() -> Self {
        Reader {
            header: [0; PREAMBLE_MAX],
            header_len: HEADER_LEN,
            header_off: HEADER_LEN,
            cur: TraceBufPtr::NULL,
            off: 0,
            list: TraceBufPtr::NULL,
            footer: None,
            footer_off: 0,
            eof: true,
            awaiting: false,
        }
    }

    /// A reader of the snapshot `p`.
    fn of_snapshot(p: Pending) -> Self {
        Reader {
            header: p.preamble,
            header_len: PREAMBLE_MAX,
            header_off: 0,
            footer: Some(p.footer),
            eof: false,
            ..Reader::idle()
        }
    }
}

/// The user-space buffer of one `read()`, filled as far as its pages allow.
///
/// # Invariants
///
/// `copied <= len`.
pub(crate) struct UserBuf {
    ptr: usize,    // user address of the buffer
    len: usize,    // its length
    copied: usize, // bytes copied to it so far
    fault: bool,   // a copy stopped at a page that could not be written
}

impl UserBuf {
    /// The `len` bytes at user address `ptr` (not checked here:
    /// `copy_to_user()` checks every copy).
    pub(crate) fn new(ptr: usize, len: usize) -> Self {
        // INVARIANT: nothing copied yet.
        UserBuf {
            ptr,
            len,
            copied: 0,
            fault: false,
        }
    }

    /// Bytes still free.
    fn room(&self) -> usize {
        self.len - self.copied
    }

    /// Copies the start of `data` that fits, up to the first byte whose
    /// page faults; returns the bytes copied. May sleep (page faults).
    fn put(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.room());
        if n == 0 || self.fault {
            return 0;
        }
        let to = self.ptr.wrapping_add(self.copied) as *mut c_void;
        // SAFETY: `data` is valid for reading `n` bytes; `copy_to_user()`
        // checks the user range and returns how many bytes it did not copy.
        let left = unsafe { bindings::copy_to_user(to, data.as_ptr().cast(), n as _) } as usize;
        let done = n - left.min(n);
        // INVARIANT: done <= n <= room().
        self.copied += done;
        self.fault = done < n;
        done
    }
}

// SAFETY: the raw handles are only used under the `reader` mutex.
unsafe impl Send for Reader {}

/// [`Tracer::reader_state`]: the reader holds nothing to copy (what is
/// ready is in the full queue, or nothing is).
const READER_DRAINED: u8 = 0;
/// [`Tracer::reader_state`]: the reader holds bytes it has not copied.
const READER_HOLDING: u8 = 1;
/// [`Tracer::reader_state`]: the reader awaits a snapshot.
const READER_AWAITING: u8 = 2;

/// The tracer: buffers, probes, session and reader.
///
/// Drop order: `Drop::drop` detaches any probe and waits for the irq_work
/// and the flush work; then the fields drop in declaration order, the
/// buffers (`rec`) last of what the probes and works could touch.
#[pin_data(PinnedDrop)]
pub(crate) struct Tracer {
    #[pin]
    session: Mutex<Session>, // lifecycle (lock order: after `reader`)
    #[pin]
    reader: Mutex<Reader>, // the stream position
    #[pin]
    waitq: WaitQueue, // readers and pollers sleep here
    #[pin]
    flush_lock: Mutex<()>, // one flusher at a time (offline CPUs' buffers)
    reader_open: AtomicBool,    // a reader file is open (one at a time)
    reader_state: AtomicU8,     // READER_*: what the reader held when it last let go
    reader_waiting: AtomicBool, // the reader found nothing at its last read or poll
    stopped: AtomicBool,        // stop() has flushed: footer after the last batch
    flight_on: AtomicBool,      // Phase::Flight (a hint for waiters)
    snapshot_ready: AtomicBool, // a snapshot waits for its reader
    rec: Recorder,              // buffers and PID names: the probes' data
}

impl Tracer {
    /// Allocates the buffers and finds the tracepoints. May sleep.
    pub(crate) fn new(nr_cpus: usize, buf_size: usize, nr_bufs: usize) -> Result<Pin<KBox<Self>>> {
        let pool = BufPool::new(nr_cpus, buf_size, nr_bufs)?;
        let names = PidSet::new()?;
        let filter = Filter::new()?;
        let trigger = LatencyTrigger::new()?;
        let tps = Tracepoints::find()?;
        let tracer = KBox::try_pin_init(
            try_pin_init!(Tracer {
                session <- new_mutex!(Session {
                    tps,
                    phase: Phase::Idle,
                    flush_armed: false,
                    footer: KVec::new(),
                    sessions: 0,
                    filter: FilterSpec::all(),
                    flight: None,
                    snapshot: None,
                    snapshot_read: false,
                }),
                reader <- new_mutex!(Reader::idle()),
                waitq <- WaitQueue::new(),
                flush_lock <- new_mutex!(()),
                reader_open: AtomicBool::new(false),
                reader_state: AtomicU8::new(READER_DRAINED),
                reader_waiting: AtomicBool::new(false),
                stopped: AtomicBool::new(false),
                flight_on: AtomicBool::new(false),
                snapshot_ready: AtomicBool::new(false),
                rec: Recorder {
                    pool,
                    names,
                    task: TaskFields::new(),
                    filter,
                    trigger,
                },
            }),
            GFP_KERNEL,
        )?;
        let ctx = core::ptr::from_ref::<Tracer>(&tracer)
            .cast_mut()
            .cast::<c_void>();
        // SAFETY: the tracer is pinned and outlives both works: its drop
        // waits for them (PinnedDrop).
        unsafe {
            helpers::rust_trace_irq_work_init(irq_work_wake, ctx);
            helpers::rust_trace_flush_work_init(flush_work, ctx);
            helpers::rust_trace_trigger_work_init(trigger_work, ctx);
        }
        Ok(tracer)
    }

    /// Gives each CPU its trace buffers when it first comes online, and
    /// every online CPU now (see `bufpool.rs`); `ENOMEM` if one could not
    /// get them. The registration is dropped before the tracer. May sleep.
    ///
    /// # Safety
    ///
    /// Called once, for the module's one tracer (pinned: it does not move).
    pub(crate) unsafe fn follow_hotplug(&self) -> Result<HotplugReg> {
        // SAFETY: the tracer is pinned and outlives the registration (the
        // caller's contract); one tracer only.
        unsafe { self.rec.pool.follow_hotplug() }
    }

    /// CPUs that have trace buffers (those that came online).
    pub(crate) fn cpus_with_buffers(&self) -> usize {
        (0..self.nr_cpus())
            .filter(|&c| self.rec.pool.has_cpu(c))
            .count()
    }

    /// Bytes of trace memory held (buffers and the PID bitmaps).
    pub(crate) fn memory(&self) -> usize {
        self.rec.pool.memory()
            + self.rec.names.memory()
            + self.rec.filter.memory()
            + self.rec.trigger.memory()
    }

    /// The wait queue, for `poll_wait()`.
    pub(crate) fn waitq(&self) -> &WaitQueue {
        &self.waitq
    }

    /// Opens a reader: starts a streaming session for it, or in flight
    /// recording makes it the reader of the pending snapshot or of the
    /// next one (see "Nothing waits in open()"). `EBUSY` if a reader is
    /// open. Never waits for anything but the locks. May sleep.
    pub(crate) fn open_reader(&self) -> Result {
        if self.reader_open.swap(true, Ordering::Acquire) {
            return Err(EBUSY);
        }
        let mut r = self.reader.lock();
        let mut s = self.session.lock();
        if s.phase == Phase::Flight {
            // A reader of a snapshot: it gets the pending one, or the next,
            // at its first read (nothing waits here: see the top of the file).
            *r = Reader {
                eof: false,
                awaiting: true,
                ..Reader::idle()
            };
            self.attach_snapshot(&mut s, &mut r);
            self.publish(&r);
            return Ok(());
        }
        // The previous session ended in end(), which left the phase Idle
        // before it let a new reader in: no probe is attached and the
        // reader was reset, so the pool is quiescent.
        // SAFETY: see above.
        unsafe { self.rec.pool.reset() };
        self.rec.names.clear();
        // PID 0, the idle tasks, is never named.
        self.rec.names.insert(0);
        self.stopped.store(false, Ordering::Relaxed);
        self.reader_waiting.store(false, Ordering::Relaxed);
        s.footer = KVec::new();
        // SAFETY: local_clock() has no precondition.
        let start_ns = unsafe { helpers::local_clock() };
        let mut header = [0; PREAMBLE_MAX];
        header[..HEADER_LEN].copy_from_slice(&self.header(start_ns));
        *r = Reader {
            header,
            header_len: HEADER_LEN,
            header_off: 0,
            eof: false,
            ..Reader::idle()
        };
        // The filter, rebuilt (forks were not followed between sessions)
        // and stated first in the stream. The pool was just reset, so the
        // record finds an empty buffer.
        if let Err(e) = self
            .rec
            .filter
            .install(&s.filter, || self.record_filter(&s.filter))
        {
            *r = Reader::idle();
            self.reader_open.store(false, Ordering::Release);
            return Err(e);
        }
        // SAFETY: `self.rec` lives until the tracer is dropped, whose drop
        // detaches first.
        if let Err(e) = unsafe { s.tps.attach(&self.rec) } {
            *r = Reader::idle();
            self.reader_open.store(false, Ordering::Release);
            return Err(e);
        }
        s.phase = Phase::Running;
        s.sessions += 1;
        let flush_ms = helpers::param_flush_ms().min(60_000);
        if flush_ms > 0 {
            // SAFETY: initialised in new().
            unsafe { helpers::rust_trace_flush_work_start(flush_ms) };
            s.flush_armed = true;
        }
        self.publish(&r);
        pr_info!("session {} started\n", s.sessions);
        Ok(())
    }

    /// Stops tracing: every event recorded so far reaches the reader, then
    /// the footer, then EOF. `ESRCH` without a session; nothing to do once
    /// stopped. May sleep.
    pub(crate) fn stop(&self) -> Result {
        let mut s = self.session.lock();
        match s.phase {
            Phase::Idle => return Err(ESRCH),
            Phase::Stopped => return Ok(()),
            Phase::Flight => {
                self.stop_flight(&mut s);
                return Ok(());
            }
            Phase::Running => {}
        }
        if s.flush_armed {
            // SAFETY: process context; the work takes no lock we hold.
            unsafe { helpers::rust_trace_flush_work_cancel() };
            s.flush_armed = false;
        }
        // SAFETY: `self.rec` is the recorder the probes were attached with.
        unsafe { s.tps.detach(&self.rec) };
        // SAFETY: local_clock() has no precondition.
        let end_ns = unsafe { helpers::local_clock() };
        // SAFETY: the probes are detached and synchronised: quiescent.
        unsafe { self.rec.pool.flush_quiescent(end_ns) };

        let totals = self.total_stats();
        match self.build_footer(end_ns, &totals) {
            Ok(footer) => s.footer = footer,
            // Without memory for the footer the stream ends without one,
            // which the decoder reports; say it here too.
            Err(_) => pr_err!("no memory for the footer: the stream will end without it\n"),
        }
        pr_info!(
            "session {} stopped: {} events written, {} lost, {} batches\n",
            s.sessions,
            totals.written,
            totals.lost,
            totals.batches
        );
        s.phase = Phase::Stopped;
        // Under the lock: once a stop releases it, it is complete, and a
        // session started after it cannot be marked stopped by it.
        self.stopped.store(true, Ordering::Release);
        drop(s);
        self.waitq.wake_all();
        Ok(())
    }

    /// The stream header of a stream starting at `start_ns`.
    fn header(&self, start_ns: u64) -> [u8; HEADER_LEN] {
        Header {
            version: VERSION,
            buf_size: self.rec.pool.buf_size() as u32,
            nr_cpus: self.rec.pool.nr_cpus() as u32,
            clock_id: CLOCK_LOCAL,
            start_ns,
        }
        .to_bytes()
    }

    /// An awaiting reader takes the pending snapshot, if there is one:
    /// whether it did. Under both locks.
    fn attach_snapshot(&self, s: &mut Session, r: &mut Reader) -> bool {
        let Some(p) = s.snapshot.take() else {
            return false;
        };
        self.snapshot_ready.store(false, Ordering::Relaxed);
        self.reader_waiting.store(false, Ordering::Relaxed);
        s.snapshot_read = true;
        *r = Reader::of_snapshot(p);
        // Its batches are all queued: the footer follows them.
        self.stopped.store(true, Ordering::Release);
        true
    }

    /// Whether an awaiting reader has a snapshot to read now (it takes
    /// it), or must wait (`Ok(false)`); `ESRCH` once flight recording has
    /// stopped, for good. Takes the session lock, under `reader`.
    fn await_snapshot(&self, r: &mut Reader) -> Result<bool> {
        let mut s = self.session.lock();
        if s.phase != Phase::Flight {
            return Err(ESRCH);
        }
        Ok(self.attach_snapshot(&mut s, r))
    }

    /// The wake-up condition of an awaiting reader.
    fn snapshot_or_end(&self) -> bool {
        self.snapshot_ready.load(Ordering::Acquire) || !self.flight_on.load(Ordering::Acquire)
    }

    /// `flight`: starts flight recording (see `flight.rs`): `EBUSY` if a
    /// session runs or a reader is open, `EINVAL` if the CPUs have too few
    /// buffers or the generation period is out of range. May sleep.
    pub(crate) fn flight(&self, gen_ms: u32) -> Result {
        if !(1..=10_000).contains(&gen_ms) {
            return Err(EINVAL);
        }
        // An open reader is refused before its lock, which a read holds
        // across its copy to user space (a page fault there may wait for
        // a userfaultfd or FUSE server for good).
        if self.reader_open.load(Ordering::Acquire) {
            return Err(EBUSY);
        }
        let _r = self.reader.lock();
        let mut s = self.session.lock();
        if s.phase != Phase::Idle || self.reader_open.load(Ordering::Acquire) {
            return Err(EBUSY);
        }
        // Idle with no reader: no probe is attached, nothing is held.
        // SAFETY: quiescent, see above.
        unsafe {
            self.rec.pool.reset();
            self.rec
                .pool
                .start_flight(u64::from(gen_ms).saturating_mul(1_000_000))?;
        }
        let mut start = || -> Result {
            self.rec
                .filter
                .install(&s.filter, || self.record_filter(&s.filter))?;
            // SAFETY: `self.rec` lives until the tracer is dropped, whose
            // drop detaches first.
            unsafe { s.tps.attach(&self.rec) }?;
            // Every probe is attached: the CPUs hold every event from now.
            // SAFETY: local_clock() has no precondition.
            let now = unsafe { helpers::local_clock() };
            s.flight = Some(Flight::new(now, stated_filter(&s.filter, now)));
            Ok(())
        };
        if let Err(e) = start() {
            s.flight = None;
            // SAFETY: no probe attached.
            unsafe { self.rec.pool.stop_flight() };
            return Err(e);
        }
        s.phase = Phase::Flight;
        s.sessions += 1;
        self.flight_on.store(true, Ordering::Release);
        pr_info!(
            "session {} flight recording: generations of {} ms\n",
            s.sessions,
            gen_ms
        );
        Ok(())
    }

    /// `snapshot`: in flight recording, freezes the recent past for the
    /// next reader (see `flight.rs`). `ESRCH` without flight recording,
    /// `EBUSY` while an earlier snapshot waits for or is being read. May
    /// sleep (about a millisecond).
    pub(crate) fn snapshot(&self) -> Result {
        let mut s = self.session.lock();
        if s.phase != Phase::Flight {
            return Err(ESRCH);
        }
        if s.snapshot.is_some() || s.snapshot_read {
            return Err(EBUSY);
        }
        self.take_snapshot(&mut s, None)
    }

    /// Takes a snapshot (with the trigger that fired, if any) and makes it
    /// the pending one. Flight recording, no snapshot pending or read;
    /// under the session lock. May sleep.
    fn take_snapshot(&self, s: &mut Session, trigger: Option<Trigger>) -> Result {
        let nr_cpus = self.rec.pool.nr_cpus();
        let fl = s.flight.as_mut().ok_or(ESRCH)?;
        let t = flight::take_snapshot(&self.rec.pool, fl, nr_cpus, trigger)?;
        let mut preamble = [0u8; PREAMBLE_MAX];
        preamble[..HEADER_LEN].copy_from_slice(&self.header(t.snap.window_start));
        preamble[HEADER_LEN..].copy_from_slice(&t.snap.to_bytes());
        pr_info!(
            "session {} snapshot{}: {} ns window, {} events, {} overwritten before; \
             took {} us: {} waiting for its end, {} freezing, {} cutting\n",
            s.sessions,
            if trigger.is_some() {
                " (triggered)"
            } else {
                ""
            },
            t.snap.window_end - t.snap.window_start,
            t.events,
            t.snap.overwritten,
            (t.wait_ns + t.freeze_ns + t.cut_ns) / 1000,
            t.wait_ns / 1000,
            t.freeze_ns / 1000,
            t.cut_ns / 1000
        );
        s.snapshot = Some(Pending {
            preamble,
            footer: t.footer,
        });
        self.snapshot_ready.store(true, Ordering::Release);
        self.waitq.wake_all();
        Ok(())
    }

    /// `trigger latency <us> [pid <pid>]`: in flight recording, arms the
    /// latency trigger (see `trigger.rs`), replacing an armed one.
    /// `ESRCH` without flight recording or for a PID of no task, `EINVAL`
    /// for a threshold of 0 or above [`THRESHOLD_MAX_US`], `EBUSY` while
    /// the snapshot of an earlier firing is pending or being read, `ENODEV`
    /// if the kernel lacks `sched_waking`. The PID is one of `opener`'s
    /// PID namespace. May sleep.
    pub(crate) fn arm_trigger(&self, us: u64, pid: Option<i32>, opener: &Opener) -> Result {
        if us == 0 || us > THRESHOLD_MAX_US {
            return Err(EINVAL);
        }
        let gpid = match pid {
            // SAFETY: process context; `opener` is a live file's.
            Some(nr) => match unsafe { helpers::rust_trace_pid_resolve(opener, nr, false) } {
                g if g > 0 => g as u32,
                _ => return Err(ESRCH),
            },
            None => 0,
        };
        let mut s = self.session.lock();
        if s.phase != Phase::Flight {
            return Err(ESRCH);
        }
        if self.rec.trigger.fired().is_some() {
            return Err(EBUSY);
        }
        // SAFETY: the session probes are attached with `self.rec`, which
        // outlives them (the tracer's drop detaches first).
        unsafe { s.tps.attach_waking(&self.rec) }?;
        self.rec.trigger.arm(us.saturating_mul(1000), gpid);
        pr_info!(
            "session {} trigger armed: latency over {} us{}\n",
            s.sessions,
            us,
            if gpid != 0 { " (one task)" } else { "" }
        );
        Ok(())
    }

    /// `trigger off`: disarms the trigger and drops a firing whose
    /// snapshot was not taken yet. Nothing to do is no error. May sleep.
    pub(crate) fn trigger_off(&self) -> Result {
        let mut s = self.session.lock();
        self.rec.trigger.disarm();
        // A `sched_switch` probe may be between disarming the trigger
        // (its firing) and setting `fired`: detaching waits for every
        // probe, and only then is the firing forgotten, for good. (While
        // armed or fired and not yet taken, the waking probe is attached:
        // the detach is what waits.)
        // SAFETY: attached (if at all) with `self.rec`.
        unsafe { s.tps.detach_waking(&self.rec) };
        self.rec.trigger.clear_fired();
        Ok(())
    }

    /// The trigger's work: takes the snapshot of a firing, unless flight
    /// recording stopped or the trigger was turned off since; while an
    /// earlier snapshot is pending or being read, tries again later.
    fn triggered_snapshot(&self) {
        let mut s = self.session.lock();
        if s.phase != Phase::Flight {
            return;
        }
        let Some(trig) = self.rec.trigger.fired() else {
            return;
        };
        if s.snapshot.is_some() || s.snapshot_read {
            // The reader of that snapshot starts this work again when it
            // closes (`end()`).
            return;
        }
        let res = self.take_snapshot(&mut s, Some(trig));
        // Taken or not, this firing is over: the trigger can be armed again.
        self.rec.trigger.clear_fired();
        // SAFETY: attached with `self.rec`.
        unsafe { s.tps.detach_waking(&self.rec) };
        if let Err(e) = res {
            pr_warn!("triggered snapshot failed: {:?}\n", e);
        }
    }

    /// Ends flight recording: the probes detach; a snapshot being read
    /// stays readable to its end (the phase becomes Stopped until its
    /// reader closes), one nobody opened is dropped. Under the session
    /// lock. May sleep.
    fn stop_flight(&self, s: &mut Session) {
        // SAFETY: `self.rec` is the recorder the probes were attached with.
        unsafe { s.tps.detach(&self.rec) };
        // SAFETY: the probes are detached and synchronised.
        unsafe { self.rec.pool.stop_flight() };
        self.rec.trigger.disarm();
        self.rec.trigger.clear_fired();
        s.flight = None;
        s.snapshot = None;
        self.snapshot_ready.store(false, Ordering::Relaxed);
        self.flight_on.store(false, Ordering::Release);
        // A snapshot being read stays readable to its end; an awaiting
        // reader's next read fails with ESRCH.
        s.phase = if s.snapshot_read {
            Phase::Stopped
        } else {
            Phase::Idle
        };
        pr_info!("session {} flight recording stopped\n", s.sessions);
        self.waitq.wake_all();
    }

    /// Puts a `filter` or `events` command in force (see `filter.rs`):
    /// during a session, after recording the new filter in the stream
    /// (`ENOBUFS`, and no change, if it cannot be stored). On any error
    /// nothing changes. PIDs and cgroup paths are those of `opener`'s
    /// namespaces. May sleep.
    pub(crate) fn set_filter(&self, cmd: &FilterCmd, opener: &Opener) -> Result {
        let mut s = self.session.lock();
        let spec = s.filter.changed(cmd, opener)?;
        let running = matches!(s.phase, Phase::Running | Phase::Flight);
        let since = self
            .rec
            .filter
            .install(&spec, || !running || self.record_filter(&spec))?;
        if let Some(fl) = s.flight.as_mut() {
            // From the switch, not from now: a snapshot whose window
            // starts in between states the filter the probes applied.
            fl.log_filter(stated_filter(&spec, since));
        }
        s.filter = spec;
        Ok(())
    }

    /// Records `spec` as the stream's filter record on this CPU; whether
    /// it was stored. Process context.
    fn record_filter(&self, spec: &FilterSpec) -> bool {
        let mut ids = [0u64; FILTER_IDS_MAX];
        let n = spec.record_ids(&mut ids);
        let ids = ids.get(..n).unwrap_or(&[]);
        let pool = &self.rec.pool;
        if pool.in_flight() {
            pool.record_flight(
                FILTER_MAX,
                1,
                [None, None],
                None,
                |enc: &mut Encoder<'_>, dt: u64, _: [bool; 3]| {
                    enc.filter(dt, spec.kind(), spec.events(), ids)
                },
            )
        } else {
            pool.record_stream(FILTER_MAX, 1, |enc: &mut Encoder<'_>, dt: u64| {
                enc.filter(dt, spec.kind(), spec.events(), ids)
            })
        }
    }

    /// The footer: `totals` and every CPU's counters. May sleep.
    fn build_footer(&self, end_ns: u64, totals: &Counts) -> Result<KVec<u8>> {
        let nr = self.nr_cpus() as u32;
        let mut footer = KVec::with_capacity(FooterFixed::len_for(nr), GFP_KERNEL)?;
        let fixed = FooterFixed {
            nr_cpus: nr,
            clock_hz: 1_000_000_000,
            end_ns,
            written: totals.written,
            lost: totals.lost,
        };
        footer.extend_from_slice(&fixed.to_bytes(), GFP_KERNEL)?;
        for cpu in 0..nr as usize {
            let st = self.cpu_stats(cpu);
            let t = CpuTotals {
                written: st.written,
                lost: st.lost,
                batches: st.batches,
            };
            footer.extend_from_slice(&t.to_bytes(), GFP_KERNEL)?;
        }
        Ok(footer)
    }

    /// Hands every CPU's partial buffer to the reader now: `ESRCH` without
    /// a session, nothing to do once stopped. May sleep.
    pub(crate) fn flush(&self) -> Result {
        let s = self.session.lock();
        match s.phase {
            Phase::Idle | Phase::Flight => Err(ESRCH),
            Phase::Stopped => Ok(()),
            Phase::Running => {
                self.flush_cpus();
                Ok(())
            }
        }
    }

    /// The periodic flush: only for a reader waiting for data (see the
    /// top of the file). Process context; takes `flush_lock` only.
    fn flush_periodic(&self) {
        if self.reader_waiting.load(Ordering::Relaxed) {
            self.flush_cpus();
        }
    }

    /// Retires the partial buffer of every CPU that may hold events: by an
    /// IPI on an online CPU, directly for an offline one; then wakes the
    /// reader. Process context, probes attached or not.
    fn flush_cpus(&self) {
        let pool = &self.rec.pool;
        let info = core::ptr::from_ref(pool).cast_mut().cast::<c_void>();
        let guard = self.flush_lock.lock();
        // SAFETY: process context; balanced by cpus_read_unlock() below.
        // While held, no CPU comes online or goes offline.
        unsafe { bindings::cpus_read_lock() };
        for cpu in 0..pool.nr_cpus() {
            if !pool.has_cpu(cpu) || !pool.may_hold_events(cpu) {
                continue;
            }
            // SAFETY: plain cpumask query.
            if unsafe { helpers::rust_trace_cpu_online(cpu as u32) } {
                // SAFETY: `flush_ipi` gets the pool, which outlives the call
                // (it waits); `cpu` is online and stays so.
                unsafe { bindings::smp_call_function_single(cpu as _, Some(flush_ipi), info, 1) };
            } else {
                // SAFETY: `cpu` is offline and cannot come online while we
                // hold the hotplug lock; `flush_lock` excludes other flushers.
                unsafe { pool.flush_offline(cpu) };
            }
        }
        // SAFETY: taken above.
        unsafe { bindings::cpus_read_unlock() };
        drop(guard);
        self.waitq.wake_all();
    }

    /// Ends the session of the reader being closed. May sleep.
    pub(crate) fn end(&self) {
        {
            let mut r = self.reader.lock();
            let mut s = self.session.lock();
            if s.phase == Phase::Flight {
                // A snapshot's reader: what it did not read goes back to
                // the CPUs, which record on. An awaiting one holds nothing.
                if s.snapshot_read {
                    // SAFETY: the reader holds `cur` (one buffer, its link
                    // stale: see `Reader`), `list` and what is left in the
                    // full queue (in flight recording only the snapshot's
                    // batches are queued); the handles are dropped.
                    unsafe {
                        if !r.cur.is_null() {
                            self.rec.pool.give_back(r.cur);
                        }
                        flight::give_back_all(&self.rec.pool, r.list);
                        flight::give_back_all(&self.rec.pool, self.rec.pool.take_full());
                    }
                }
                s.snapshot_read = false;
                *r = Reader::idle();
                self.publish(&r);
                self.stopped.store(false, Ordering::Relaxed);
                if self.rec.trigger.fired().is_some() {
                    // A firing waited for this snapshot's reader to close.
                    // SAFETY: initialised in new(); cancelled before drop.
                    unsafe { helpers::rust_trace_trigger_work_start(TRIGGER_AFTER_MS) };
                }
                drop(s);
                drop(r);
                self.reader_open.store(false, Ordering::Release);
                return;
            }
        }
        // A reader is open, so the phase is Running or Stopped: this
        // cannot fail.
        let _ = self.stop();
        let mut r = self.reader.lock();
        // The reader's handles are dropped here; the next open_reader() reclaims
        // every buffer with a reset.
        *r = Reader::idle();
        self.publish(&r);
        drop(r);
        let mut s = self.session.lock();
        s.phase = Phase::Idle;
        s.footer = KVec::new();
        s.snapshot_read = false;
        drop(s);
        self.reader_open.store(false, Ordering::Release);
    }

    /// Whether a batch was retired or the stream was stopped (the wake-up
    /// condition of a blocked reader).
    fn data_ready(&self) -> bool {
        self.rec.pool.full_pending() || self.stopped.load(Ordering::Acquire)
    }

    /// Publishes what `r` holds for [`Tracer::readable`], under the reader
    /// lock; wakes pollers when it comes to hold bytes (a read of another
    /// thread left them).
    fn publish(&self, r: &Reader) {
        let st = if r.awaiting {
            READER_AWAITING
        } else if r.header_off < r.header_len || !r.cur.is_null() || !r.list.is_null() {
            READER_HOLDING
        } else {
            READER_DRAINED
        };
        if self.reader_state.swap(st, Ordering::AcqRel) != st && st == READER_HOLDING {
            self.waitq.wake_all();
        }
    }

    /// Whether a read would not block, for poll(). Takes no lock: a read
    /// holds the reader's across its copy to user space, which a page
    /// fault may stall for good (userfaultfd, FUSE), so poll reads what the
    /// reader last published. A read in progress may make it say ready
    /// when a read would block: poll allows that. Never sleeps.
    pub(crate) fn readable(&self) -> bool {
        let ready = match self.reader_state.load(Ordering::Acquire) {
            READER_AWAITING => return self.snapshot_or_end(),
            READER_HOLDING => true,
            _ => self.data_ready(),
        };
        if !ready {
            // The poller will sleep for data: let the periodic flush serve it.
            self.reader_waiting.store(true, Ordering::Relaxed);
        }
        ready
    }

    /// Copies the stream to `out`. Blocks (unless `nonblock`) until at least
    /// one byte or EOF is available. Returns bytes copied, 0 at EOF; a page
    /// fault in `out` ends the copy there (a short read), or gives `EFAULT`
    /// if nothing was copied. The stream goes on after the last byte
    /// copied. Must not be called from atomic context.
    pub(crate) fn read(&self, out: &mut UserBuf, nonblock: bool) -> Result<usize> {
        if out.len == 0 {
            return Ok(0);
        }
        loop {
            let mut r = self.reader.lock();
            if r.awaiting && !self.await_snapshot(&mut r)? {
                drop(r);
                if nonblock {
                    return Err(EAGAIN);
                }
                // No snapshot yet: sleep until one is taken or flight
                // recording stops (then the next turn says ESRCH).
                self.waitq.wait_interruptible(|| self.snapshot_or_end())?;
                continue;
            }
            self.fill(&mut r, out);
            self.publish(&r);
            if out.copied > 0 {
                self.reader_waiting.store(false, Ordering::Relaxed);
                return Ok(out.copied);
            }
            if out.fault {
                return Err(EFAULT);
            }
            if r.eof {
                return Ok(0);
            }
            drop(r);
            self.reader_waiting.store(true, Ordering::Relaxed);
            if nonblock {
                return Err(EAGAIN);
            }
            // Nothing was there: sleep until a batch is retired or stop()
            // ends the stream. A signal returns ERESTARTSYS and loses
            // nothing: the reader's position is unchanged.
            self.waitq.wait_interruptible(|| self.data_ready())?;
        }
    }

    /// Copies what is available into `out`, in stream order, until `out`
    /// is full, faults, or nothing more is available.
    fn fill(&self, r: &mut Reader, out: &mut UserBuf) {
        while out.room() > 0 && !out.fault {
            if r.header_off < r.header_len {
                r.header_off += out.put(&r.header[r.header_off..r.header_len]);
                continue;
            }
            if !r.cur.is_null() {
                // SAFETY: `cur` is held by the reader (type invariant).
                let (bytes, _) = unsafe { self.rec.pool.batch(r.cur) };
                r.off += out.put(&bytes[r.off..]);
                if r.off == bytes.len() {
                    // SAFETY: held by the reader; the handle is dropped next.
                    unsafe { self.rec.pool.recycle(r.cur) };
                    r.cur = TraceBufPtr::NULL;
                    r.off = 0;
                }
                continue;
            }
            if !r.list.is_null() {
                // SAFETY: held by the reader.
                let (_, next) = unsafe { self.rec.pool.batch(r.list) };
                // INVARIANT: the head of the list becomes the one copied.
                r.cur = r.list;
                r.list = next;
                continue;
            }
            // Check `stopped` before taking the queue: stop() pushes its last
            // batches before it sets `stopped` (Release), so a queue found
            // empty after `stopped` was seen is empty for good.
            let stopped = self.stopped.load(Ordering::Acquire);
            r.list = self.rec.pool.take_full();
            if !r.list.is_null() {
                continue;
            }
            if !stopped || r.eof {
                break;
            }
            // The footer moves to the reader, so that copying it (which may
            // fault and wait) holds only the reader's lock.
            let footer = r
                .footer
                .get_or_insert_with(|| core::mem::take(&mut self.session.lock().footer));
            r.footer_off += out.put(&footer[r.footer_off..]);
            if r.footer_off == footer.len() {
                r.eof = true;
            }
        }
    }

    /// Counters of `cpu`.
    pub(crate) fn cpu_stats(&self, cpu: usize) -> Counts {
        self.rec.pool.counts(cpu)
    }

    /// Counters summed over all CPUs.
    pub(crate) fn total_stats(&self) -> Counts {
        self.rec.pool.total()
    }

    /// Bytes per buffer.
    #[cfg(rust_trace_microbench)]
    pub(crate) fn buf_size(&self) -> usize {
        self.rec.pool.buf_size()
    }

    /// Number of CPU ids covered.
    pub(crate) fn nr_cpus(&self) -> usize {
        self.rec.pool.nr_cpus()
    }

    /// Whether `cpu` has buffers.
    pub(crate) fn has_cpu(&self, cpu: usize) -> bool {
        self.rec.pool.has_cpu(cpu)
    }

    /// Whether a session is tracing (streaming or flight recording),
    /// whether a reader is open, whether flight recording runs, and whether
    /// a snapshot waits for its reader.
    pub(crate) fn state(&self) -> (bool, bool, bool, bool) {
        let s = self.session.lock();
        (
            matches!(s.phase, Phase::Running | Phase::Flight),
            self.reader_open.load(Ordering::Relaxed),
            s.phase == Phase::Flight,
            s.snapshot.is_some(),
        )
    }
}

#[pinned_drop]
impl PinnedDrop for Tracer {
    fn drop(self: Pin<&mut Self>) {
        // No file is open (the module is unloading), so end() ran for every
        // reader and the session is Idle, or flight recording runs with no
        // reader: stop it, which detaches the probes before the buffers go.
        {
            let mut s = self.session.lock();
            if s.phase == Phase::Flight {
                self.stop_flight(&mut s);
            }
        }
        // Wait for the deferred works.
        // SAFETY: process context; after this neither work runs again (the
        // flush work was cancelled by stop() and is only armed by open_reader()).
        // The trigger's work is started only by the irq_work, which the
        // detached probes no longer queue.
        unsafe {
            helpers::rust_trace_flush_work_cancel();
            helpers::rust_trace_irq_work_sync();
            helpers::rust_trace_trigger_work_cancel();
        }
    }
}

/// The irq_work handler: wakes the reader. Hard IRQ context.
///
/// # Safety
///
/// `ctx` is the pinned tracer given to `rust_trace_irq_work_init`, alive until
/// `rust_trace_irq_work_sync()` returns.
unsafe extern "C" fn irq_work_wake(ctx: *mut c_void) {
    // SAFETY: `ctx` is the pinned tracer, alive until rust_trace_irq_work_sync().
    let t = unsafe { &*ctx.cast::<Tracer>() };
    if t.rec.trigger.take_kick() {
        // SAFETY: arms a timer; callable from hard IRQ context.
        unsafe { helpers::rust_trace_trigger_work_start(TRIGGER_AFTER_MS) };
    }
    t.waitq.wake_all();
}

/// The trigger's delayed work: takes the triggered snapshot. Process
/// context.
///
/// # Safety
///
/// `ctx` is the pinned tracer given to `rust_trace_trigger_work_init`; the
/// work is cancelled before the tracer is dropped.
unsafe extern "C" fn trigger_work(ctx: *mut c_void) {
    // SAFETY: `ctx` is the pinned tracer, alive until the work is cancelled.
    let t = unsafe { &*ctx.cast::<Tracer>() };
    t.triggered_snapshot();
}

/// The periodic flush work: retires the partial buffers. Process context.
///
/// # Safety
///
/// `ctx` is the pinned tracer given to `rust_trace_flush_work_init`; the work is
/// cancelled before the tracer is dropped.
unsafe extern "C" fn flush_work(ctx: *mut c_void) {
    // SAFETY: `ctx` is the pinned tracer; the work is cancelled before the
    // probes are detached and before the tracer is dropped.
    let t = unsafe { &*ctx.cast::<Tracer>() };
    t.flush_periodic();
}

/// IPI handler of a flush: retires this CPU's partial buffer.
/// Runs on the CPU with IRQs off, so it cannot race that CPU's probe.
///
/// # Safety
///
/// `info` is the pool, and the function runs on a CPU with IRQs off
/// (`smp_call_function_single()`).
unsafe extern "C" fn flush_ipi(info: *mut c_void) {
    // SAFETY: `info` is the pool, alive while on_each_cpu() waits.
    let pool = unsafe { &*info.cast::<BufPool>() };
    // SAFETY: IPI context: IRQs off on this CPU.
    let cpu = unsafe { helpers::cpu::this_cpu() } as usize;
    // SAFETY: we run on `cpu` with IRQs off. The caller wakes the reader
    // once on_each_cpu() has returned.
    unsafe { pool.flush_local(cpu) };
}

/// The filter `spec` as a snapshot states it, in force from `since`.
fn stated_filter(spec: &FilterSpec, since: u64) -> FilterAt {
    let mut ids = [0u64; FILTER_IDS_MAX];
    let n = spec.record_ids(&mut ids);
    FilterAt {
        since,
        kind: spec.kind(),
        events: spec.events(),
        ids,
        n: n as u8,
    }
}
