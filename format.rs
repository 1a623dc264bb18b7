// SPDX-License-Identifier: GPL-2.0

//! The rust_trace stream format: the one source of truth.
//!
//! This file is compiled twice: into the kernel module (as `mod format`, with
//! `--cfg MODULE`) and into the userspace decoder under `samples/` (through a
//! `#[path]` module). It uses `core` only. The encoder half is what the
//! module's probes call; the decoder half (`mod decode`) is compiled only
//! outside the kernel. Both halves use the constants below, so the writer and
//! the reader cannot drift apart. `docs/FORMAT.md` describes the same layout
//! in prose.
//!
//! ```text
//!   stream := Header Snapshot? Batch* Footer EOF
//!
//!   Header (64 bytes)   magic "RSTRACE\0", version, header length, buffer size,
//!                       CPU count, clock id, start time, clock name
//!   Snapshot            tag "SNAP", len, window, generation period, events
//!                       overwritten, the filter at the window's start, the
//!                       trigger, the clock skew seen (a flight recorder's
//!                       snapshot only)
//!   Batch               tag "BTCH", len, cpu, nevents, seq, ts, lost | events
//!   Footer              tag "FOOT", len, nr_cpus, clock_hz, end time,
//!                       totals, then per CPU: written, lost, batches
//!
//!   event := type:u8 dt:varint args:varint*      (TASK adds len:u8 name[len];
//!                                                  FILTER has u8 kind and count)
//! ```
//!
//! All fixed-width integers are little-endian. A varint is LEB128: seven bits
//! a byte, low bits first, the high bit set on every byte but the last. `dt`
//! is the time since the previous event of the same batch (for the first
//! event: since the batch's `ts`), in nanoseconds of the clock the header
//! names.
//!
//! Accounting: per CPU, `written` counts every event a probe tried to record
//! while tracing and `lost` those it had to drop (no empty buffer). Every
//! event not lost is in exactly one batch of the stream, so
//! `events in the stream + lost == written`, per CPU and in total.

/// First eight bytes of a stream.
pub const MAGIC: [u8; 8] = *b"RSTRACE\0";
/// Format version this file writes.
pub const VERSION: u16 = 3;
/// Oldest format version the decoder reads. Version 1 names tasks with
/// [`EV_COMM`] alone (no process, no cgroup) and has no [`EV_FILTER`];
/// version 2 has no snapshot record ([`TAG_SNAPSHOT`]).
pub const VERSION_MIN: u16 = 1;
/// Length of the stream header in bytes.
pub const HEADER_LEN: usize = 64;
/// Clock id: the kernel's `local_clock()`, nanoseconds, per-CPU monotonic.
pub const CLOCK_LOCAL: u32 = 1;
/// Name of [`CLOCK_LOCAL`], as written in the header.
pub const CLOCK_LOCAL_NAME: &[u8] = b"local_clock";

/// Tag of a batch record ("BTCH" read as little-endian bytes).
pub const TAG_BATCH: u32 = u32::from_le_bytes(*b"BTCH");
/// Tag of the footer record ("FOOT").
pub const TAG_FOOTER: u32 = u32::from_le_bytes(*b"FOOT");
/// Tag of the snapshot record ("SNAP"), from version 3: right after the
/// header of a flight recorder's snapshot, nowhere else.
pub const TAG_SNAPSHOT: u32 = u32::from_le_bytes(*b"SNAP");
/// Length of the snapshot record.
pub const SNAPSHOT_LEN: usize = 160;
/// Snapshot flag: a latency trigger took it (the trigger fields are set).
pub const SNAP_F_TRIGGERED: u16 = 1 << 0;
/// Trigger flag: the task was woken from hard IRQ context.
pub const TRIGGER_F_IRQ: u32 = 1 << 0;
/// Trigger flag: the task was woken from a softirq.
pub const TRIGGER_F_SOFTIRQ: u32 = 1 << 1;
/// Length of a batch header; its events follow.
pub const BATCH_HDR_LEN: usize = 40;
/// Length of the fixed part of the footer; per-CPU entries follow.
pub const FOOTER_FIXED_LEN: usize = 48;
/// Length of one per-CPU entry of the footer.
pub const FOOTER_CPU_LEN: usize = 24;
/// Largest CPU count a stream may declare (bounds the footer's length).
pub const MAX_CPUS: u32 = 8192;

/// Event type: `sched_switch` (dt, prev_pid, prev_state, next_pid).
pub const EV_SWITCH: u8 = 1;
/// Event type: `sched_wakeup` (dt, pid, target_cpu).
pub const EV_WAKEUP: u8 = 2;
/// Event type: `sched_wakeup_new` (dt, pid, target_cpu).
pub const EV_WAKEUP_NEW: u8 = 3;
/// Event type: `sched_process_fork` (dt, parent_pid, child_pid).
pub const EV_FORK: u8 = 4;
/// Event type: `sched_process_exit` (dt, pid).
pub const EV_EXIT: u8 = 5;
/// Event type: `sched_process_exec` (dt, pid, old_pid).
pub const EV_EXEC: u8 = 6;
/// Event type: `sched_migrate_task` (dt, pid, orig_cpu, dest_cpu).
pub const EV_MIGRATE: u8 = 7;
/// Event type: task name, version 1 (dt, pid, len:u8, name bytes).
pub const EV_COMM: u8 = 8;
/// Event type: task, from version 2 (dt, pid, tgid, cgroup, len:u8, name
/// bytes): its name, its process (thread-group id) and its cgroup v2 id
/// (0 when the kernel has no cgroups).
pub const EV_TASK: u8 = 9;
/// Event type: the filter in force from here on, from version 2 (dt,
/// kind:u8, events, n:u8, then n ids): see [`FILTER_PID`] and the others.
pub const EV_FILTER: u8 = 10;
/// The last event type.
pub const EV_LAST: u8 = EV_FILTER;

/// Longest task name (the kernel's `TASK_COMM_LEN` - 1).
pub const TASK_NAME_MAX: usize = 15;

/// Filter kind: none, every task passes.
pub const FILTER_NONE: u8 = 0;
/// Filter kind: the tasks of the ids (PIDs) and the children they fork.
pub const FILTER_PID: u8 = 1;
/// Filter kind: every thread of the processes of the ids (TGIDs).
pub const FILTER_TGID: u8 = 2;
/// Filter kind: the tasks in the cgroup v2 of the one id, or below it.
pub const FILTER_CGROUP: u8 = 3;
/// Most ids a filter lists.
pub const FILTER_IDS_MAX: usize = 8;
/// An events mask with every event type: bit `1 << type`.
pub const EVENTS_ALL: u32 = (1 << EV_SWITCH)
    | (1 << EV_WAKEUP)
    | (1 << EV_WAKEUP_NEW)
    | (1 << EV_FORK)
    | (1 << EV_EXIT)
    | (1 << EV_EXEC)
    | (1 << EV_MIGRATE);

/// The event types by the names the `events` command gives them (the
/// decoder prints the same names).
pub const EVENT_NAMES: [(u8, &str); 7] = [
    (EV_SWITCH, "switch"),
    (EV_WAKEUP, "wakeup"),
    (EV_WAKEUP_NEW, "wakeup_new"),
    (EV_FORK, "fork"),
    (EV_EXIT, "exit"),
    (EV_EXEC, "exec"),
    (EV_MIGRATE, "migrate"),
];

/// `prev_state` letters, indexed by the state index a switch event carries:
/// the kernel's `task_index_to_char()` order, then index 9 for "preempted
/// while runnable", which ftrace prints as `R+`.
pub const STATE_CHARS: &[u8; 9] = b"RSDTtXZPI";
/// State index of a task preempted while runnable.
pub const STATE_PREEMPTED: u32 = 9;

/// Longest encoding of a `u32` varint.
pub const VARINT32_MAX: usize = 5;
/// Longest encoding of a `u64` varint.
pub const VARINT64_MAX: usize = 10;

/// Longest encoding of each event, beside its encoder below: the type byte,
/// `dt`, then the arguments at their longest. A writer reserves this much
/// before it encodes.
pub const SWITCH_MAX: usize = 1 + VARINT64_MAX + 3 * VARINT32_MAX;
/// Longest [`EV_WAKEUP`] or [`EV_WAKEUP_NEW`].
pub const WAKEUP_MAX: usize = 1 + VARINT64_MAX + 2 * VARINT32_MAX;
/// Longest [`EV_FORK`].
pub const FORK_MAX: usize = 1 + VARINT64_MAX + 2 * VARINT32_MAX;
/// Longest [`EV_EXIT`].
pub const EXIT_MAX: usize = 1 + VARINT64_MAX + VARINT32_MAX;
/// Longest [`EV_EXEC`].
pub const EXEC_MAX: usize = 1 + VARINT64_MAX + 2 * VARINT32_MAX;
/// Longest [`EV_MIGRATE`].
pub const MIGRATE_MAX: usize = 1 + VARINT64_MAX + 3 * VARINT32_MAX;
/// Longest [`EV_COMM`] (version 1).
pub const COMM_MAX: usize = 1 + VARINT64_MAX + VARINT32_MAX + 1 + TASK_NAME_MAX;
/// Longest [`EV_TASK`].
pub const TASK_MAX: usize = 1 + VARINT64_MAX + 2 * VARINT32_MAX + VARINT64_MAX + 1 + TASK_NAME_MAX;
/// Longest [`EV_FILTER`], the longest event of all.
pub const FILTER_MAX: usize =
    1 + VARINT64_MAX + 1 + VARINT32_MAX + 1 + FILTER_IDS_MAX * VARINT64_MAX;

/// Writes events into a byte slice that the caller has sized for them.
///
/// Never panics and never writes past the slice: each event checks once,
/// before its first byte, that its maximum length (`SWITCH_MAX`, ...) fits
/// in what is left; if not, it writes nothing and marks the encoder as
/// overflowed, which the caller checks once at the end
/// ([`Encoder::fitted_len`] returns `None`). The module reserves each
/// event's maximum length first, so overflow only reports a bug.
///
/// One check per event, not per byte, is what makes the writes cheap on
/// the probes' path: after it, the bytes go through a raw cursor
/// ([`Cursor`]), and each event's maximum is the sum of its parts' (a
/// `u32` varint is at most [`VARINT32_MAX`] bytes, a `u64` one at most
/// [`VARINT64_MAX`]), which is what bounds the writes.
///
/// # Invariants
///
/// `pos <= buf.len()`.
pub struct Encoder<'a> {
    buf: &'a mut [u8], // destination
    pos: usize,        // bytes written so far
    overflow: bool,    // an event did not fit
}

/// A write position inside an [`Encoder`]'s slice, for one event whose
/// maximum length was checked to fit.
///
/// # Invariants
///
/// At least as many bytes from `p` on are inside the encoder's slice as
/// the event still writes (at most the maximum checked by
/// [`Encoder::event`], less what it wrote so far).
struct Cursor {
    p: *mut u8, // next byte to write
}

impl Cursor {
    /// Writes one byte.
    ///
    /// # Safety
    ///
    /// The event has at least one byte left of its checked maximum.
    #[inline(always)]
    unsafe fn put(&mut self, b: u8) {
        // SAFETY: `p` is inside the slice (the caller's contract and the
        // type invariant); one byte fewer is left afterwards.
        unsafe {
            self.p.write(b);
            self.p = self.p.add(1);
        }
    }

    /// Appends a LEB128 varint of a `u32`: at most [`VARINT32_MAX`] bytes.
    ///
    /// # Safety
    ///
    /// The event has at least [`VARINT32_MAX`] bytes left.
    #[inline(always)]
    unsafe fn varint32(&mut self, v: u32) {
        // SAFETY: at most VARINT32_MAX bytes, by the caller: a u32 has 32
        // bits, 7 a byte, so 4 bytes with the high bit set and a fifth.
        unsafe { self.varint(u64::from(v)) }
    }

    /// Appends a LEB128 varint of a `u64`: at most [`VARINT64_MAX`] bytes.
    ///
    /// # Safety
    ///
    /// The event has at least [`VARINT64_MAX`] bytes left.
    #[inline(always)]
    unsafe fn varint64(&mut self, v: u64) {
        // SAFETY: at most VARINT64_MAX bytes, by the caller: 64 bits, 7 a
        // byte, so 9 bytes with the high bit set and a tenth.
        unsafe { self.varint(v) }
    }

    /// Appends `v` as a LEB128 varint: the first three bytes unrolled
    /// (the common sizes: PIDs, CPUs, small times), each a store to a fixed
    /// offset and a compare, the rest in a loop.
    ///
    /// # Safety
    ///
    /// The event has room left for `v`'s encoding: one byte per 7 bits.
    #[inline(always)]
    unsafe fn varint(&mut self, v: u64) {
        let p = self.p;
        // SAFETY: byte `i` is written only when `v` needs more than `i`
        // bytes, so within the room the caller has (all writes below).
        unsafe {
            if v < 1 << 7 {
                p.write(v as u8);
                self.p = p.add(1);
                return;
            }
            p.write(v as u8 | 0x80);
            if v < 1 << 14 {
                p.add(1).write((v >> 7) as u8);
                self.p = p.add(2);
                return;
            }
            p.add(1).write((v >> 7) as u8 | 0x80);
            if v < 1 << 21 {
                p.add(2).write((v >> 14) as u8);
                self.p = p.add(3);
                return;
            }
            p.add(2).write((v >> 14) as u8 | 0x80);
            self.p = p.add(3);
            let mut v = v >> 21;
            while v >= 0x80 {
                self.put((v as u8) | 0x80);
                v >>= 7;
            }
            self.put(v as u8);
        }
    }

    /// A name: its length byte, then its bytes up to the first NUL, at
    /// most [`TASK_NAME_MAX`] of them: at most `1 + TASK_NAME_MAX` bytes.
    ///
    /// A name of [`TASK_NAME_MAX`] bytes or more (a task's `comm`, always)
    /// is handled eight bytes at a time: the first NUL is found in two
    /// words, and the words are stored whole; the bytes past the name that
    /// this stores are within the event's room, overwritten by the next
    /// event or past the end of the batch, never part of it.
    ///
    /// # Safety
    ///
    /// The event has at least `1 + TASK_NAME_MAX` bytes left.
    #[inline(always)]
    unsafe fn name(&mut self, comm: &[u8]) {
        /// Bit 7 of each byte of `x` that is the first zero byte, or above
        /// one (the borrow of the subtraction only runs upward).
        fn zero_bytes(x: u64) -> u64 {
            x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080
        }
        const _: () = assert!(TASK_NAME_MAX == 15);
        // `try_from`, not `copy_from_slice`: the latter is a call to core's
        // out-of-line copy, with a panic path, from a probe.
        let word = |r: core::ops::Range<usize>| {
            comm.get(r)
                .and_then(|b| <&[u8; 8]>::try_from(b).ok())
                .map(|b| u64::from_le_bytes(*b))
        };
        // Bytes 7..15 for the second: its byte 0 is also the first's last.
        if let (Some(lo), Some(hi)) = (word(0..8), word(7..15)) {
            let z = zero_bytes(lo);
            // Bytes 8..15, then a zero: at most 15 in all.
            let len = if z != 0 {
                z.trailing_zeros() / 8
            } else {
                8 + zero_bytes(hi >> 8).trailing_zeros() / 8
            };
            // SAFETY: the length byte, then bytes 1..9 and 8..16 from `p`:
            // 1 + TASK_NAME_MAX bytes in all, by the caller's contract; then
            // `p` moves past the name only (`len <= TASK_NAME_MAX`).
            unsafe {
                self.p.write(len as u8);
                self.p.add(1).cast::<u64>().write_unaligned(lo.to_le());
                self.p.add(8).cast::<u64>().write_unaligned(hi.to_le());
                self.p = self.p.add(1 + len as usize);
            }
            return;
        }
        // A shorter slice (the decoder's tests build such names): byte by
        // byte, with wrapping counters (len <= TASK_NAME_MAX).
        let mut len: usize = 0;
        for &c in comm.iter().take(TASK_NAME_MAX) {
            if c == 0 {
                break;
            }
            len = len.wrapping_add(1);
        }
        // SAFETY: 1 + len <= 1 + TASK_NAME_MAX bytes, by the caller.
        unsafe { self.put(len as u8) };
        for &c in comm.iter().take(len) {
            // SAFETY: as above.
            unsafe { self.put(c) };
        }
    }
}

impl<'a> Encoder<'a> {
    /// Starts encoding at the beginning of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        // INVARIANT: 0 <= buf.len().
        Encoder {
            buf,
            pos: 0,
            overflow: false,
        }
    }

    /// Bytes written if every event fitted; `None` if one did not.
    pub fn fitted_len(&self) -> Option<usize> {
        if self.overflow {
            None
        } else {
            Some(self.pos)
        }
    }

    /// Starts one event of at most `max` bytes: its cursor if `max` bytes
    /// are left, else `None` (nothing is written, the overflow is marked).
    /// [`Encoder::end`] takes the cursor back. (Not a closure taking the
    /// cursor: the compiler inlines a closure's body only into a single
    /// caller, and each event's encoding is inlined into several probes.)
    #[inline(always)]
    fn begin(&mut self, max: usize) -> Option<Cursor> {
        // `pos <= len` (type invariant): no wrap.
        if max > self.buf.len().wrapping_sub(self.pos) {
            self.overflow = true;
            return None;
        }
        // SAFETY: `pos <= len`: the pointer is inside the slice or one past it.
        let p = unsafe { self.buf.as_mut_ptr().add(self.pos) };
        // INVARIANT: `max` bytes from `p` on are inside the slice; the
        // caller writes at most `max` through the cursor.
        Some(Cursor { p })
    }

    /// Ends the event `c` wrote: its bytes are in.
    #[inline(always)]
    fn end(&mut self, c: Cursor) {
        // INVARIANT: the event stayed within the bytes checked by begin(),
        // so `pos` stays <= len.
        // SAFETY: both pointers are into the same slice, `c.p` at or after
        // its start.
        self.pos = unsafe { c.p.offset_from(self.buf.as_mut_ptr()) } as usize;
    }

    /// `sched_switch`: `prev_state` is a state index (see [`STATE_CHARS`]).
    /// At most [`SWITCH_MAX`] bytes.
    #[inline(always)]
    pub fn switch(&mut self, dt: u64, prev_pid: u32, prev_state: u32, next_pid: u32) {
        let Some(mut c) = self.begin(SWITCH_MAX) else {
            return;
        };
        // SAFETY: 1 + VARINT64_MAX + 3 * VARINT32_MAX = SWITCH_MAX bytes.
        unsafe {
            c.put(EV_SWITCH);
            c.varint64(dt);
            c.varint32(prev_pid);
            c.varint32(prev_state);
            c.varint32(next_pid);
        }
        self.end(c);
    }

    /// `sched_wakeup` or, with `new`, `sched_wakeup_new`. At most
    /// [`WAKEUP_MAX`] bytes.
    #[inline(always)]
    pub fn wakeup(&mut self, dt: u64, new: bool, pid: u32, target_cpu: u32) {
        let Some(mut c) = self.begin(WAKEUP_MAX) else {
            return;
        };
        // SAFETY: 1 + VARINT64_MAX + 2 * VARINT32_MAX = WAKEUP_MAX bytes.
        unsafe {
            c.put(if new { EV_WAKEUP_NEW } else { EV_WAKEUP });
            c.varint64(dt);
            c.varint32(pid);
            c.varint32(target_cpu);
        }
        self.end(c);
    }

    /// `sched_process_fork`. At most [`FORK_MAX`] bytes.
    #[inline(always)]
    pub fn fork(&mut self, dt: u64, parent_pid: u32, child_pid: u32) {
        let Some(mut c) = self.begin(FORK_MAX) else {
            return;
        };
        // SAFETY: 1 + VARINT64_MAX + 2 * VARINT32_MAX = FORK_MAX bytes.
        unsafe {
            c.put(EV_FORK);
            c.varint64(dt);
            c.varint32(parent_pid);
            c.varint32(child_pid);
        }
        self.end(c);
    }

    /// `sched_process_exit`. At most [`EXIT_MAX`] bytes.
    #[inline(always)]
    pub fn exit(&mut self, dt: u64, pid: u32) {
        let Some(mut c) = self.begin(EXIT_MAX) else {
            return;
        };
        // SAFETY: 1 + VARINT64_MAX + VARINT32_MAX = EXIT_MAX bytes.
        unsafe {
            c.put(EV_EXIT);
            c.varint64(dt);
            c.varint32(pid);
        }
        self.end(c);
    }

    /// `sched_process_exec`. At most [`EXEC_MAX`] bytes.
    #[inline(always)]
    pub fn exec(&mut self, dt: u64, pid: u32, old_pid: u32) {
        let Some(mut c) = self.begin(EXEC_MAX) else {
            return;
        };
        // SAFETY: 1 + VARINT64_MAX + 2 * VARINT32_MAX = EXEC_MAX bytes.
        unsafe {
            c.put(EV_EXEC);
            c.varint64(dt);
            c.varint32(pid);
            c.varint32(old_pid);
        }
        self.end(c);
    }

    /// `sched_migrate_task`. At most [`MIGRATE_MAX`] bytes.
    #[inline(always)]
    pub fn migrate(&mut self, dt: u64, pid: u32, orig_cpu: u32, dest_cpu: u32) {
        let Some(mut c) = self.begin(MIGRATE_MAX) else {
            return;
        };
        // SAFETY: 1 + VARINT64_MAX + 3 * VARINT32_MAX = MIGRATE_MAX bytes.
        unsafe {
            c.put(EV_MIGRATE);
            c.varint64(dt);
            c.varint32(pid);
            c.varint32(orig_cpu);
            c.varint32(dest_cpu);
        }
        self.end(c);
    }

    /// Task name, version 1: `comm` up to its first NUL, at most
    /// [`TASK_NAME_MAX`] bytes of it. At most [`COMM_MAX`] bytes in all.
    #[inline(always)]
    pub fn comm(&mut self, dt: u64, pid: u32, comm: &[u8]) {
        let Some(mut c) = self.begin(COMM_MAX) else {
            return;
        };
        // SAFETY: 1 + VARINT64_MAX + VARINT32_MAX + 1 + TASK_NAME_MAX =
        // COMM_MAX bytes.
        unsafe {
            c.put(EV_COMM);
            c.varint64(dt);
            c.varint32(pid);
            c.name(comm);
        }
        self.end(c);
    }

    /// Task: `comm` (as [`Encoder::comm`]), its process `tgid` and its
    /// cgroup id. At most [`TASK_MAX`] bytes.
    #[inline(always)]
    pub fn task(&mut self, dt: u64, pid: u32, tgid: u32, cgroup: u64, comm: &[u8]) {
        let Some(mut c) = self.begin(TASK_MAX) else {
            return;
        };
        // SAFETY: 1 + VARINT64_MAX + 2 * VARINT32_MAX + VARINT64_MAX + 1 +
        // TASK_NAME_MAX = TASK_MAX bytes.
        unsafe {
            c.put(EV_TASK);
            c.varint64(dt);
            c.varint32(pid);
            c.varint32(tgid);
            c.varint64(cgroup);
            c.name(comm);
        }
        self.end(c);
    }

    /// The filter in force: its `kind` (`FILTER_*`), the `events` mask of
    /// the event types recorded, and its ids (at most [`FILTER_IDS_MAX`]
    /// are written). At most [`FILTER_MAX`] bytes.
    pub fn filter(&mut self, dt: u64, kind: u8, events: u32, ids: &[u64]) {
        let n = ids.len().min(FILTER_IDS_MAX);
        let Some(mut c) = self.begin(FILTER_MAX) else {
            return;
        };
        // SAFETY: 1 + VARINT64_MAX + 1 + VARINT32_MAX + 1 + n *
        // VARINT64_MAX <= FILTER_MAX bytes (n <= FILTER_IDS_MAX).
        unsafe {
            c.put(EV_FILTER);
            c.varint64(dt);
            c.put(kind);
            c.varint32(events);
            c.put(n as u8);
            for &id in ids.iter().take(n) {
                c.varint64(id);
            }
        }
        self.end(c);
    }
}

/// Stream header, the first [`HEADER_LEN`] bytes of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version ([`VERSION`] when written; what a stream says when read).
    pub version: u16,
    /// Bytes per trace buffer, its in-memory header included.
    pub buf_size: u32,
    /// Number of CPU ids (`nr_cpu_ids`); batch `cpu` fields are below it.
    pub nr_cpus: u32,
    /// Clock of all timestamps ([`CLOCK_LOCAL`]).
    pub clock_id: u32,
    /// Clock reading when the session started.
    pub start_ns: u64,
}

impl Header {
    /// Serialises the header.
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&MAGIC);
        b[8..10].copy_from_slice(&self.version.to_le_bytes());
        b[10..12].copy_from_slice(&(HEADER_LEN as u16).to_le_bytes());
        b[12..16].copy_from_slice(&self.buf_size.to_le_bytes());
        b[16..20].copy_from_slice(&self.nr_cpus.to_le_bytes());
        b[20..24].copy_from_slice(&self.clock_id.to_le_bytes());
        b[24..32].copy_from_slice(&self.start_ns.to_le_bytes());
        b[32..32 + CLOCK_LOCAL_NAME.len()].copy_from_slice(CLOCK_LOCAL_NAME);
        b
    }
}

/// Header of one batch: one trace buffer's worth of events from one CPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchHeader {
    /// Bytes of the batch, this header included.
    pub len: u32,
    /// CPU that recorded the events.
    pub cpu: u32,
    /// Number of events in the batch.
    pub nevents: u32,
    /// Per-CPU batch sequence number, from 0 in each session, no gaps.
    pub seq: u64,
    /// Absolute time of the batch start; the first event's `dt` counts from it.
    pub ts: u64,
    /// Events this CPU lost since its previous batch.
    pub lost: u64,
}

impl BatchHeader {
    /// Serialises the batch header.
    ///
    /// Built from five little-endian words rather than by slice copies:
    /// the module writes it when a probe switches buffers, and a slice
    /// copy there is a call to the Rust library's out-of-line copy, which
    /// has a panic path.
    pub fn to_bytes(self) -> [u8; BATCH_HDR_LEN] {
        let words: [u64; BATCH_HDR_LEN / 8] = [
            (u64::from(TAG_BATCH) | u64::from(self.len) << 32).to_le(),
            (u64::from(self.cpu) | u64::from(self.nevents) << 32).to_le(),
            self.seq.to_le(),
            self.ts.to_le(),
            self.lost.to_le(),
        ];
        // SAFETY: five u64 are BATCH_HDR_LEN bytes, in memory order; each
        // is stored little-endian, as the format says.
        unsafe { core::mem::transmute::<[u64; BATCH_HDR_LEN / 8], [u8; BATCH_HDR_LEN]>(words) }
    }
}

/// Per-CPU totals carried by the footer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTotals {
    /// Events the probes tried to record on this CPU.
    pub written: u64,
    /// Events dropped on this CPU because no empty buffer was left.
    pub lost: u64,
    /// Batches this CPU handed to the reader.
    pub batches: u64,
}

/// Fixed part of the footer, the last record of a stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FooterFixed {
    /// Number of per-CPU entries that follow.
    pub nr_cpus: u32,
    /// Clock ticks per second (1e9: nanoseconds).
    pub clock_hz: u64,
    /// Clock reading when tracing stopped.
    pub end_ns: u64,
    /// Sum of the per-CPU `written`.
    pub written: u64,
    /// Sum of the per-CPU `lost`.
    pub lost: u64,
}

impl FooterFixed {
    /// Total footer length for `nr_cpus` CPUs.
    pub const fn len_for(nr_cpus: u32) -> usize {
        FOOTER_FIXED_LEN + FOOTER_CPU_LEN * nr_cpus as usize
    }

    /// Serialises the fixed part.
    pub fn to_bytes(self) -> [u8; FOOTER_FIXED_LEN] {
        let mut b = [0u8; FOOTER_FIXED_LEN];
        let len = Self::len_for(self.nr_cpus) as u32;
        b[0..4].copy_from_slice(&TAG_FOOTER.to_le_bytes());
        b[4..8].copy_from_slice(&len.to_le_bytes());
        b[8..12].copy_from_slice(&self.nr_cpus.to_le_bytes());
        b[16..24].copy_from_slice(&self.clock_hz.to_le_bytes());
        b[24..32].copy_from_slice(&self.end_ns.to_le_bytes());
        b[32..40].copy_from_slice(&self.written.to_le_bytes());
        b[40..48].copy_from_slice(&self.lost.to_le_bytes());
        b
    }
}

impl CpuTotals {
    /// Serialises one per-CPU footer entry.
    pub fn to_bytes(self) -> [u8; FOOTER_CPU_LEN] {
        let mut b = [0u8; FOOTER_CPU_LEN];
        b[0..8].copy_from_slice(&self.written.to_le_bytes());
        b[8..16].copy_from_slice(&self.lost.to_le_bytes());
        b[16..24].copy_from_slice(&self.batches.to_le_bytes());
        b
    }
}

/// The latency trigger that took a snapshot: a task woken at `wakeup_ns`
/// (`sched_waking`, in the waker's context) that ran only at `run_ns`,
/// more than `threshold_ns` later.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trigger {
    /// The task that waited.
    pub pid: u32,
    /// The task that woke it: the one running on the waking CPU (the
    /// interrupted one when woken from IRQ context).
    pub waker: u32,
    /// The CPU it ran on.
    pub cpu: u32,
    /// The CPU the waker ran on.
    pub waker_cpu: u32,
    /// `TRIGGER_F_*`.
    pub flags: u32,
    /// When it was woken.
    pub wakeup_ns: u64,
    /// When it ran.
    pub run_ns: u64,
    /// The threshold it exceeded.
    pub threshold_ns: u64,
}

/// The snapshot record of a flight recorder's snapshot: the window the
/// snapshot holds every event of, and what it cannot show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Start of the window: every CPU's events from here on are in the
    /// snapshot, none before. A multiple of `gen_ns`, or the end of the
    /// previous snapshot when nothing was overwritten since.
    pub window_start: u64,
    /// End of the window (excluded): no event at or after it.
    pub window_end: u64,
    /// The generation period: task names start again at every multiple.
    pub gen_ns: u64,
    /// Events recorded since flight recording started that were
    /// overwritten before the snapshot (the recorder's memory is fixed).
    pub overwritten: u64,
    /// `SNAP_F_*`.
    pub flags: u16,
    /// The filter in force at `window_start`: its kind (`FILTER_*`).
    pub filter_kind: u8,
    /// Its event mask.
    pub filter_events: u32,
    /// Its ids, `filter_n` of them valid.
    pub filter_ids: [u64; FILTER_IDS_MAX],
    /// Number of ids.
    pub filter_n: u8,
    /// The trigger, when `flags` has [`SNAP_F_TRIGGERED`].
    pub trigger: Trigger,
    /// How far some CPU's clock was seen to disagree with the one that
    /// set `window_end`, at the freeze (ns, saturating; 0: none seen). A
    /// CPU whose clock was behind may miss its events of up to this long
    /// before `window_end`; one whose clock was ahead may hold events up
    /// to this long at or after it. Where the clocks agree it is 0.
    pub skew_ns: u32,
}

impl Snapshot {
    /// Serialises the snapshot record.
    pub fn to_bytes(self) -> [u8; SNAPSHOT_LEN] {
        let mut b = [0u8; SNAPSHOT_LEN];
        b[0..4].copy_from_slice(&TAG_SNAPSHOT.to_le_bytes());
        b[4..8].copy_from_slice(&(SNAPSHOT_LEN as u32).to_le_bytes());
        b[8..16].copy_from_slice(&self.window_start.to_le_bytes());
        b[16..24].copy_from_slice(&self.window_end.to_le_bytes());
        b[24..32].copy_from_slice(&self.gen_ns.to_le_bytes());
        b[32..40].copy_from_slice(&self.overwritten.to_le_bytes());
        b[40] = self.filter_kind;
        b[41] = self.filter_n;
        b[42..44].copy_from_slice(&self.flags.to_le_bytes());
        b[44..48].copy_from_slice(&self.filter_events.to_le_bytes());
        for (i, id) in self.filter_ids.iter().enumerate() {
            let o = 48 + 8 * i;
            b[o..o + 8].copy_from_slice(&id.to_le_bytes());
        }
        let t = &self.trigger;
        b[112..116].copy_from_slice(&t.pid.to_le_bytes());
        b[116..120].copy_from_slice(&t.waker.to_le_bytes());
        b[120..124].copy_from_slice(&t.cpu.to_le_bytes());
        b[124..128].copy_from_slice(&t.flags.to_le_bytes());
        b[128..136].copy_from_slice(&t.wakeup_ns.to_le_bytes());
        b[136..144].copy_from_slice(&t.run_ns.to_le_bytes());
        b[144..152].copy_from_slice(&t.threshold_ns.to_le_bytes());
        b[152..156].copy_from_slice(&t.waker_cpu.to_le_bytes());
        b[156..160].copy_from_slice(&self.skew_ns.to_le_bytes());
        b
    }
}

/// Decoding, for userspace only (the module never parses a stream).
#[cfg(not(MODULE))]
pub mod decode {
    use super::*;

    /// What is wrong with a piece of a stream. Offsets are added by callers.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum FormatError {
        /// Fewer bytes than the structure needs.
        Truncated,
        /// The first eight bytes are not [`MAGIC`].
        BadMagic,
        /// A version this decoder does not know.
        UnknownVersion(u16),
        /// A header length other than [`HEADER_LEN`].
        BadHeaderLen(u16),
        /// A varint longer than its type allows.
        BadVarint,
        /// A varint whose value does not fit its field.
        ValueTooLarge,
        /// An event type byte this decoder does not know.
        UnknownEvent(u8),
        /// A task name longer than [`TASK_NAME_MAX`].
        BadCommLen(u8),
        /// A filter of an unknown kind, or with more than [`FILTER_IDS_MAX`] ids.
        BadFilter(u8),
        /// A record tag that is neither a batch nor the footer.
        UnknownTag(u32),
        /// A record length that is impossible for its tag.
        BadRecordLen(u32),
        /// A CPU count or CPU id out of range.
        BadCpu(u32),
    }

    impl core::fmt::Display for FormatError {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            match self {
                Self::Truncated => write!(f, "truncated"),
                Self::BadMagic => write!(f, "bad magic (not a rust_trace stream)"),
                Self::UnknownVersion(v) => write!(f, "unknown format version {v}"),
                Self::BadHeaderLen(l) => write!(f, "bad header length {l}"),
                Self::BadVarint => write!(f, "corrupt varint"),
                Self::ValueTooLarge => write!(f, "varint value too large for its field"),
                Self::UnknownEvent(t) => write!(f, "unknown event type {t}"),
                Self::BadCommLen(l) => write!(f, "task name length {l} over {TASK_NAME_MAX}"),
                Self::BadFilter(b) => write!(f, "bad filter record (byte {b})"),
                Self::UnknownTag(t) => write!(f, "unknown record tag {t:#010x}"),
                Self::BadRecordLen(l) => write!(f, "bad record length {l}"),
                Self::BadCpu(c) => write!(f, "CPU {c} out of range"),
            }
        }
    }

    fn u16_at(b: &[u8], o: usize) -> u16 {
        u16::from_le_bytes([b[o], b[o + 1]])
    }
    fn u32_at(b: &[u8], o: usize) -> u32 {
        let mut a = [0u8; 4];
        a.copy_from_slice(&b[o..o + 4]);
        u32::from_le_bytes(a)
    }
    fn u64_at(b: &[u8], o: usize) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[o..o + 8]);
        u64::from_le_bytes(a)
    }

    impl Header {
        /// Parses a stream header from the first [`HEADER_LEN`] bytes.
        pub fn parse(b: &[u8]) -> Result<Header, FormatError> {
            if b.len() < 12 {
                return Err(FormatError::Truncated);
            }
            if b[0..8] != MAGIC {
                return Err(FormatError::BadMagic);
            }
            let version = u16_at(b, 8);
            if !(VERSION_MIN..=VERSION).contains(&version) {
                return Err(FormatError::UnknownVersion(version));
            }
            let hlen = u16_at(b, 10);
            if hlen as usize != HEADER_LEN {
                return Err(FormatError::BadHeaderLen(hlen));
            }
            if b.len() < HEADER_LEN {
                return Err(FormatError::Truncated);
            }
            let nr_cpus = u32_at(b, 16);
            if nr_cpus == 0 || nr_cpus > MAX_CPUS {
                return Err(FormatError::BadCpu(nr_cpus));
            }
            Ok(Header {
                version,
                buf_size: u32_at(b, 12),
                nr_cpus,
                clock_id: u32_at(b, 20),
                start_ns: u64_at(b, 24),
            })
        }
    }

    /// The first byte range of a stream header that breaks a fixed rule
    /// the parser does not need: `clock_name` is [`CLOCK_LOCAL_NAME`]
    /// NUL-padded and `reserved` is zero. `b` is the whole header.
    pub fn header_fixed_fault(b: &[u8]) -> Option<&'static str> {
        let name = &b[32..48];
        let (n, pad) = name.split_at(CLOCK_LOCAL_NAME.len());
        if n != CLOCK_LOCAL_NAME || pad.iter().any(|&c| c != 0) {
            return Some("header clock_name is not local_clock, NUL-padded");
        }
        if b[48..HEADER_LEN].iter().any(|&c| c != 0) {
            return Some("header reserved bytes 48..64 are not zero");
        }
        None
    }

    /// The field of a footer or snapshot record (`b`, the whole record)
    /// that must be zero and is not: the footer's `reserved`; the
    /// snapshot's flag bits other than [`SNAP_F_TRIGGERED`],
    /// ids past `filter_n`, and, unless a trigger took it, every trigger
    /// field (with one, trigger flag bits other than IRQ and softirq).
    pub fn record_zero_fault(tag: u32, b: &[u8]) -> Option<&'static str> {
        let nonzero = |r: core::ops::Range<usize>| b[r].iter().any(|&c| c != 0);
        if tag == TAG_FOOTER {
            return nonzero(12..16).then_some("footer reserved bytes 12..16 are not zero");
        }
        if tag != TAG_SNAPSHOT {
            return None;
        }
        let flags = u16_at(b, 42);
        let n = usize::from(b[41]).min(FILTER_IDS_MAX);
        if flags & !SNAP_F_TRIGGERED != 0 {
            Some("snapshot flag bits other than bit 0 are set")
        } else if nonzero(48 + 8 * n..112) {
            Some("snapshot filter ids past filter_n are not zero")
        } else if flags & SNAP_F_TRIGGERED == 0 && nonzero(112..156) {
            Some("snapshot trigger fields set without the trigger flag")
        } else if u32_at(b, 124) & !(TRIGGER_F_IRQ | TRIGGER_F_SOFTIRQ) != 0 {
            Some("snapshot trigger flag bits other than 0 and 1 are set")
        } else {
            None
        }
    }

    /// The first eight bytes of a record: its tag and total length.
    pub fn record_tag_len(b: &[u8]) -> Result<(u32, u32), FormatError> {
        if b.len() < 8 {
            return Err(FormatError::Truncated);
        }
        Ok((u32_at(b, 0), u32_at(b, 4)))
    }

    impl BatchHeader {
        /// Parses a batch header (tag already checked by the caller).
        pub fn parse(b: &[u8]) -> Result<BatchHeader, FormatError> {
            if b.len() < BATCH_HDR_LEN {
                return Err(FormatError::Truncated);
            }
            let len = u32_at(b, 4);
            if (len as usize) < BATCH_HDR_LEN {
                return Err(FormatError::BadRecordLen(len));
            }
            Ok(BatchHeader {
                len,
                cpu: u32_at(b, 8),
                nevents: u32_at(b, 12),
                seq: u64_at(b, 16),
                ts: u64_at(b, 24),
                lost: u64_at(b, 32),
            })
        }
    }

    impl FooterFixed {
        /// Parses the fixed part of a footer (tag already checked).
        pub fn parse(b: &[u8]) -> Result<FooterFixed, FormatError> {
            if b.len() < FOOTER_FIXED_LEN {
                return Err(FormatError::Truncated);
            }
            let len = u32_at(b, 4);
            let nr_cpus = u32_at(b, 8);
            if nr_cpus == 0 || nr_cpus > MAX_CPUS {
                return Err(FormatError::BadCpu(nr_cpus));
            }
            if len as usize != Self::len_for(nr_cpus) {
                return Err(FormatError::BadRecordLen(len));
            }
            Ok(FooterFixed {
                nr_cpus,
                clock_hz: u64_at(b, 16),
                end_ns: u64_at(b, 24),
                written: u64_at(b, 32),
                lost: u64_at(b, 40),
            })
        }
    }

    impl Snapshot {
        /// Parses a snapshot record (tag already checked by the caller).
        pub fn parse(b: &[u8]) -> Result<Snapshot, FormatError> {
            if b.len() < SNAPSHOT_LEN {
                return Err(FormatError::Truncated);
            }
            let len = u32_at(b, 4);
            if len as usize != SNAPSHOT_LEN {
                return Err(FormatError::BadRecordLen(len));
            }
            let mut filter_ids = [0u64; FILTER_IDS_MAX];
            for (i, id) in filter_ids.iter_mut().enumerate() {
                *id = u64_at(b, 48 + 8 * i);
            }
            let filter_n = b[41];
            if usize::from(filter_n) > FILTER_IDS_MAX || b[40] > FILTER_CGROUP {
                return Err(FormatError::BadFilter(filter_n));
            }
            Ok(Snapshot {
                window_start: u64_at(b, 8),
                window_end: u64_at(b, 16),
                gen_ns: u64_at(b, 24),
                overwritten: u64_at(b, 32),
                filter_kind: b[40],
                filter_n,
                flags: u16_at(b, 42),
                filter_events: u32_at(b, 44),
                filter_ids,
                trigger: Trigger {
                    pid: u32_at(b, 112),
                    waker: u32_at(b, 116),
                    cpu: u32_at(b, 120),
                    flags: u32_at(b, 124),
                    wakeup_ns: u64_at(b, 128),
                    run_ns: u64_at(b, 136),
                    threshold_ns: u64_at(b, 144),
                    waker_cpu: u32_at(b, 152),
                },
                skew_ns: u32_at(b, 156),
            })
        }
    }

    impl CpuTotals {
        /// Parses one per-CPU footer entry.
        pub fn parse(b: &[u8]) -> Result<CpuTotals, FormatError> {
            if b.len() < FOOTER_CPU_LEN {
                return Err(FormatError::Truncated);
            }
            Ok(CpuTotals {
                written: u64_at(b, 0),
                lost: u64_at(b, 8),
                batches: u64_at(b, 16),
            })
        }
    }

    /// A decoded event (its `dt` is returned beside it).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Event {
        /// `sched_switch`.
        Switch {
            /// Task switched out.
            prev_pid: u32,
            /// Its state index ([`STATE_CHARS`], [`STATE_PREEMPTED`]).
            prev_state: u32,
            /// Task switched in.
            next_pid: u32,
        },
        /// `sched_wakeup` (`new` false) or `sched_wakeup_new` (`new` true).
        Wakeup {
            /// Whether this is a new task's first wakeup.
            new: bool,
            /// Task woken.
            pid: u32,
            /// CPU it will run on.
            target_cpu: u32,
        },
        /// `sched_process_fork`.
        Fork {
            /// Forking task.
            parent_pid: u32,
            /// New task.
            child_pid: u32,
        },
        /// `sched_process_exit`.
        Exit {
            /// Exiting task.
            pid: u32,
        },
        /// `sched_process_exec`.
        Exec {
            /// Task after exec.
            pid: u32,
            /// Its pid before exec (differs when a non-leader thread execs).
            old_pid: u32,
        },
        /// `sched_migrate_task`.
        Migrate {
            /// Task moved.
            pid: u32,
            /// CPU it leaves.
            orig_cpu: u32,
            /// CPU it goes to.
            dest_cpu: u32,
        },
        /// A task: its name, process and cgroup ([`EV_TASK`]; an
        /// [`EV_COMM`] of version 1 gives the name alone).
        Task {
            /// Task named.
            pid: u32,
            /// Its process (thread-group id); 0 when not recorded (version 1).
            tgid: u32,
            /// Its cgroup v2 id; 0 when not recorded.
            cgroup: u64,
            /// Name bytes, `len` of them valid.
            name: [u8; TASK_NAME_MAX],
            /// Length of the name.
            len: u8,
        },
        /// The filter in force from here on ([`EV_FILTER`]).
        Filter {
            /// Its kind (`FILTER_*`).
            kind: u8,
            /// The event types recorded, bit `1 << type`.
            events: u32,
            /// Ids it lists, `n` of them valid.
            ids: [u64; FILTER_IDS_MAX],
            /// Number of ids.
            n: u8,
        },
    }

    impl Event {
        /// The event's type byte (`EV_*`; a version 1 name is [`EV_TASK`]).
        pub fn type_byte(&self) -> u8 {
            match self {
                Event::Switch { .. } => EV_SWITCH,
                Event::Wakeup { new: false, .. } => EV_WAKEUP,
                Event::Wakeup { new: true, .. } => EV_WAKEUP_NEW,
                Event::Fork { .. } => EV_FORK,
                Event::Exit { .. } => EV_EXIT,
                Event::Exec { .. } => EV_EXEC,
                Event::Migrate { .. } => EV_MIGRATE,
                Event::Task { .. } => EV_TASK,
                Event::Filter { .. } => EV_FILTER,
            }
        }

        /// The name of an [`Event::Task`].
        pub fn comm_bytes(&self) -> Option<&[u8]> {
            match self {
                Event::Task { name, len, .. } => Some(&name[..*len as usize]),
                _ => None,
            }
        }
    }

    /// Reads events from one batch's event bytes.
    pub struct Cursor<'a> {
        buf: &'a [u8], // the batch's event bytes
        pos: usize,    // next byte to read
    }

    impl<'a> Cursor<'a> {
        /// Starts at the first byte of `buf`.
        pub fn new(buf: &'a [u8]) -> Self {
            Cursor { buf, pos: 0 }
        }

        /// Offset of the next byte within the slice.
        pub fn pos(&self) -> usize {
            self.pos
        }

        /// Whether all bytes were consumed.
        pub fn at_end(&self) -> bool {
            self.pos >= self.buf.len()
        }

        fn byte(&mut self) -> Result<u8, FormatError> {
            let b = *self.buf.get(self.pos).ok_or(FormatError::Truncated)?;
            self.pos += 1;
            Ok(b)
        }

        /// Reads a LEB128 varint of at most [`VARINT64_MAX`] bytes.
        pub fn varint(&mut self) -> Result<u64, FormatError> {
            let mut v: u64 = 0;
            for i in 0..VARINT64_MAX {
                let b = self.byte()?;
                let bits = u64::from(b & 0x7f);
                if i == VARINT64_MAX - 1 && b > 1 {
                    return Err(FormatError::BadVarint);
                }
                v |= bits << (7 * i);
                if b & 0x80 == 0 {
                    return Ok(v);
                }
            }
            Err(FormatError::BadVarint)
        }

        fn varint32(&mut self) -> Result<u32, FormatError> {
            u32::try_from(self.varint()?).map_err(|_| FormatError::ValueTooLarge)
        }

        /// Reads one event: its `dt` and the event.
        pub fn next_event(&mut self) -> Result<(u64, Event), FormatError> {
            let ty = self.byte()?;
            if !(EV_SWITCH..=EV_LAST).contains(&ty) {
                return Err(FormatError::UnknownEvent(ty));
            }
            let dt = self.varint()?;
            let ev = match ty {
                EV_SWITCH => Event::Switch {
                    prev_pid: self.varint32()?,
                    prev_state: self.varint32()?,
                    next_pid: self.varint32()?,
                },
                EV_WAKEUP | EV_WAKEUP_NEW => Event::Wakeup {
                    new: ty == EV_WAKEUP_NEW,
                    pid: self.varint32()?,
                    target_cpu: self.varint32()?,
                },
                EV_FORK => Event::Fork {
                    parent_pid: self.varint32()?,
                    child_pid: self.varint32()?,
                },
                EV_EXIT => Event::Exit {
                    pid: self.varint32()?,
                },
                EV_EXEC => Event::Exec {
                    pid: self.varint32()?,
                    old_pid: self.varint32()?,
                },
                EV_MIGRATE => Event::Migrate {
                    pid: self.varint32()?,
                    orig_cpu: self.varint32()?,
                    dest_cpu: self.varint32()?,
                },
                EV_COMM | EV_TASK => {
                    let pid = self.varint32()?;
                    let (tgid, cgroup) = if ty == EV_TASK {
                        (self.varint32()?, self.varint()?)
                    } else {
                        (0, 0)
                    };
                    let len = self.byte()?;
                    if len as usize > TASK_NAME_MAX {
                        return Err(FormatError::BadCommLen(len));
                    }
                    let mut name = [0u8; TASK_NAME_MAX];
                    for slot in name.iter_mut().take(len as usize) {
                        *slot = self.byte()?;
                    }
                    Event::Task {
                        pid,
                        tgid,
                        cgroup,
                        name,
                        len,
                    }
                }
                _ => {
                    let kind = self.byte()?;
                    if kind > FILTER_CGROUP {
                        return Err(FormatError::BadFilter(kind));
                    }
                    let events = self.varint32()?;
                    let n = self.byte()?;
                    if n as usize > FILTER_IDS_MAX {
                        return Err(FormatError::BadFilter(n));
                    }
                    let mut ids = [0u64; FILTER_IDS_MAX];
                    for slot in ids.iter_mut().take(n as usize) {
                        *slot = self.varint()?;
                    }
                    Event::Filter {
                        kind,
                        events,
                        ids,
                        n,
                    }
                }
            };
            Ok((dt, ev))
        }
    }
}
