// SPDX-License-Identifier: GPL-2.0

//! `/dev/rust_trace`: the misc device and its file operations.
//!
//! 6.12 has no Rust misc device abstraction. This file builds the device's
//! `struct file_operations` ([`FOPS`]) from the `extern "C"` functions
//! below, so the compiler checks each entry's type, and registers it
//! through `rust_trace_misc_register()`, which owns the `struct miscdevice`
//! (dynamic minor, mode 0600) in `helpers.c`. The table's layout is
//! bindgen's; `helpers.rs` checks it against the C compiler's at load.
//!
//! | operation              | who        | what                                        |
//! |------------------------|------------|---------------------------------------------|
//! | open, FMODE_READ       | one reader | starts a session (`EBUSY` if one is open); in flight recording, a reader of the pending snapshot or of the next (never waits: see `session.rs`) |
//! | open, write-only       | any number | commands and counters                       |
//! | read                   | the reader | the stream; blocks (a snapshot's reader until one is taken; `ESRCH` once flight recording stops); `EAGAIN` if O_NONBLOCK |
//! | write                  | any writer | `stop`, `flush`, `filter ...`, `events ...` (`filter.rs`), `flight`, `snapshot` (`flight.rs`), `trigger latency <us> [pid <pid>]`, `trigger off` (`trigger.rs`); anything else `EINVAL` |
//! | poll                   | any        | `EPOLLIN` when a read would not block       |
//! | RUST_TRACE_IOC_STATS   | any        | per-CPU or total counters (also from 32-bit tools: `compat_ioctl`) |
//! | RUST_TRACE_IOC_MICROBENCH | any     | times the write path (`microbench.rs`; only with `make MICROBENCH=1`) |
//! | release (reader)       |            | ends the session                            |
//!
//! Opening needs `CAP_PERFMON` or `CAP_SYS_ADMIN` (as `perf_event_open` does
//! for kernel-wide tracing) on top of the node's 0600 mode. The VFS holds a
//! reference on this module while a file is open (`FOPS.owner`), so `rmmod`
//! is refused then.
//!
//! Context: every operation runs in process context and may sleep.

use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::bindings;
use kernel::ffi::{c_char, c_int, c_long, c_uint, c_ulong, c_void};
use kernel::ioctl::_IOWR;
use kernel::prelude::*;
use kernel::types::{AsBytes, FromBytes};
use kernel::uaccess::UserSlice;

use crate::bufpool::Counts;
use crate::filter::FilterCmd;
use crate::helpers;
use crate::session::{Tracer, UserBuf};

/// `EPOLLIN | EPOLLRDNORM`.
const POLL_IN: u32 = 0x0001 | 0x0040;
/// `EPOLLOUT | EPOLLWRNORM`.
const POLL_OUT: u32 = 0x0004 | 0x0100;
/// Longest command accepted by `write`: room for a cgroup path of
/// `PATH_MAX` bytes after `filter cgroup `.
const CMD_MAX: usize = 4096 + 64;

/// Argument of `RUST_TRACE_IOC_STATS` (`uapi/rust_trace.h`, `struct
/// rust_trace_stats`; its size and command number are checked against C's
/// at load, `helpers.rs`).
#[repr(C)]
#[derive(Default, Clone, Copy)]
pub(crate) struct RustTraceStats {
    cpu: u32,         // in: CPU id, or RUST_TRACE_STATS_ALL for the totals
    flags: u32,       // out: RUST_TRACE_STATS_F_*
    nr_cpus: u32,     // out: number of CPU ids
    _pad: u32,        // zero
    written: u64,     // out: events the probes tried to record
    lost: u64,        // out: events dropped (no empty buffer)
    batches: u64,     // out: batches retired to the reader
    read_events: u64, // out: events copied out to the reader
    read_bytes: u64,  // out: batch bytes copied out to the reader
    overwritten: u64, // out: flight recording: events overwritten
}

kernel::static_assert!(core::mem::size_of::<RustTraceStats>() == 64);

// SAFETY: only integers, no padding (4 * 4 + 6 * 8 bytes, all aligned).
unsafe impl FromBytes for RustTraceStats {}
// SAFETY: as above.
unsafe impl AsBytes for RustTraceStats {}

/// `cpu` value asking for the totals.
const RUST_TRACE_STATS_ALL: u32 = u32::MAX;
/// The CPU has buffers (it is possible).
const RUST_TRACE_STATS_F_CPU: u32 = 1 << 0;
/// A session is tracing.
const RUST_TRACE_STATS_F_RUNNING: u32 = 1 << 1;
/// A reader is open.
const RUST_TRACE_STATS_F_READER: u32 = 1 << 2;
/// Flight recording runs.
const RUST_TRACE_STATS_F_FLIGHT: u32 = 1 << 3;
/// A snapshot waits for its reader.
const RUST_TRACE_STATS_F_SNAPSHOT: u32 = 1 << 4;
/// `_IOWR('R', 1, struct rust_trace_stats)`.
pub(crate) const RUST_TRACE_IOC_STATS: u32 = _IOWR::<RustTraceStats>(b'R' as u32, 1);

/// The device's file operations.
///
/// # Invariants
///
/// Read-only: built at compile time and only ever read (by the VFS).
struct FileOps(bindings::file_operations);

// SAFETY: the table is never written (type invariant); its pointers are to
// functions and to the module, which the VFS may read from any thread.
unsafe impl Sync for FileOps {}

/// The table the misc device is registered with.
static FOPS: FileOps = FileOps(bindings::file_operations {
    // SAFETY: `__this_module` is the module itself, made by modpost, alive
    // as long as the module; only its address is taken.
    owner: unsafe { helpers::__this_module.get() },
    open: Some(rust_trace_open),
    release: Some(rust_trace_release),
    read: Some(rust_trace_read),
    write: Some(rust_trace_write),
    poll: Some(rust_trace_poll),
    unlocked_ioctl: Some(rust_trace_ioctl),
    // 32-bit tools: the stats structure has one layout on both ABIs (no
    // pointer, u64s at multiples of 8), so only the argument's pointer
    // needs converting.
    #[cfg(CONFIG_COMPAT)]
    compat_ioctl: Some(bindings::compat_ptr_ioctl),
    // SAFETY: all other entries are pointers and flags, for which zero
    // means none.
    ..unsafe { core::mem::zeroed() }
});

/// The tracer the file operations serve; set while the device is registered.
static TRACER: AtomicPtr<Tracer> = AtomicPtr::new(core::ptr::null_mut());

/// The registered misc device; deregisters on drop.
///
/// # Invariants
///
/// The device is registered, and `TRACER` points to a tracer that outlives
/// this registration.
pub(crate) struct Registration(());

impl Registration {
    /// Registers `/dev/rust_trace` serving `tracer`. May sleep.
    ///
    /// # Safety
    ///
    /// `tracer` must outlive the returned registration.
    pub(crate) unsafe fn new(tracer: &Tracer) -> Result<Self> {
        TRACER.store(core::ptr::from_ref(tracer).cast_mut(), Ordering::Release);
        // SAFETY: `FOPS` is static and read-only, and its functions expect
        // the files of this device.
        let ret = unsafe { helpers::rust_trace_misc_register(&FOPS.0) };
        if ret != 0 {
            TRACER.store(core::ptr::null_mut(), Ordering::Release);
            return Err(Error::from_errno(ret));
        }
        // INVARIANT: registered; TRACER set.
        Ok(Registration(()))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: registered (type invariant); no file is open, since each
        // holds a module reference.
        unsafe { helpers::rust_trace_misc_deregister() };
        TRACER.store(core::ptr::null_mut(), Ordering::Release);
    }
}

/// The tracer of an open file.
///
/// # Safety
///
/// `file` is a file of this device opened by [`rust_trace_open`].
unsafe fn tracer_of<'a>(file: *mut bindings::file) -> &'a Tracer {
    // SAFETY: rust_trace_open() stored the tracer, which outlives every open
    // file (each holds a module reference).
    unsafe { &*helpers::rust_trace_file_private(file).cast::<Tracer>() }
}

/// Whether `file` was opened for reading (is the session's reader).
///
/// # Safety
///
/// `file` is a valid file.
unsafe fn is_reader(file: *mut bindings::file) -> bool {
    // SAFETY: valid file.
    unsafe { helpers::rust_trace_file_readable(file) }
}

/// `open`: a reader starts a session; needs CAP_PERFMON or CAP_SYS_ADMIN.
///
/// # Safety
///
/// Called by the VFS with a valid inode and file of this device.
unsafe extern "C" fn rust_trace_open(
    inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: plain capability checks on the current task.
    if !unsafe {
        bindings::capable(bindings::CAP_PERFMON as c_int)
            || bindings::capable(bindings::CAP_SYS_ADMIN as c_int)
    } {
        return EPERM.to_errno();
    }
    let tracer = TRACER.load(Ordering::Acquire);
    if tracer.is_null() {
        return ENODEV.to_errno();
    }
    // SAFETY: `inode` and `file` come from the VFS open path.
    let ret = unsafe { bindings::stream_open(inode, file) };
    if ret != 0 {
        return ret;
    }
    // SAFETY: set by Registration::new and valid while registered.
    let t = unsafe { &*tracer };
    // The opener's record first: nothing fails after the session starts.
    // SAFETY: `file` is valid; `private_data` is ours after misc_open().
    let ret = unsafe { helpers::rust_trace_file_open(file, tracer.cast::<c_void>()) };
    if ret != 0 {
        return ret;
    }
    // SAFETY: `file` is valid.
    if unsafe { is_reader(file) } {
        // Never waits: misc_open() holds the misc devices' mutex around
        // this call (see session.rs, "Nothing waits in open()").
        if let Err(e) = t.open_reader() {
            // SAFETY: made above; release() is not called for a failed open.
            unsafe { helpers::rust_trace_file_close(file) };
            return e.to_errno();
        }
    }
    0
}

/// `release`: closing the reader ends the session.
///
/// # Safety
///
/// Called by the VFS with a file opened by [`rust_trace_open`].
unsafe extern "C" fn rust_trace_release(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: a file of this device.
    let t = unsafe { tracer_of(file) };
    // SAFETY: valid file.
    if unsafe { is_reader(file) } {
        t.end();
    }
    // SAFETY: opened by rust_trace_open(); nothing uses the file after.
    unsafe { helpers::rust_trace_file_close(file) };
    0
}

/// `read`: the stream.
///
/// # Safety
///
/// Called by the VFS with a file opened by [`rust_trace_open`] for reading
/// and a user buffer of `count` bytes.
unsafe extern "C" fn rust_trace_read(
    file: *mut bindings::file,
    buf: *mut c_char,
    count: usize,
    _pos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: a file of this device (the VFS checked FMODE_READ).
    let t = unsafe { tracer_of(file) };
    // SAFETY: valid file.
    let nonblock = unsafe { helpers::rust_trace_file_nonblock(file) };
    let mut out = UserBuf::new(buf as usize, count);
    match t.read(&mut out, nonblock) {
        Ok(n) => n as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// A command written to the device.
enum Command {
    /// `stop`: end the session's tracing.
    Stop,
    /// `flush`: hand the partial buffers to the reader.
    Flush,
    /// `filter ...` or `events ...` (see `filter.rs`).
    Filter(FilterCmd),
    /// `flight`: start flight recording (see `flight.rs`).
    Flight,
    /// `snapshot`: freeze the recent past for the next reader.
    Snapshot,
    /// `trigger latency <us> [pid <pid>]`: arm the latency trigger.
    Trigger(u64, Option<i32>),
    /// `trigger off`: disarm it.
    TriggerOff,
}

/// Parses a command: words separated by spaces or tabs, optionally
/// followed by one newline. `EINVAL` for anything unknown or malformed.
fn parse_command(b: &[u8]) -> Result<Command> {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    match b {
        b"stop" => Ok(Command::Stop),
        b"flush" => Ok(Command::Flush),
        b"flight" => Ok(Command::Flight),
        b"snapshot" => Ok(Command::Snapshot),
        _ => {
            let mut words = b
                .split(|&c| c == b' ' || c == b'\t')
                .filter(|w| !w.is_empty());
            if b.split(|&c| c == b' ' || c == b'\t').next() == Some(b"trigger") {
                words.next();
                return parse_trigger(words);
            }
            Ok(Command::Filter(FilterCmd::parse(words)?))
        }
    }
}

/// Parses the words after `trigger`: `latency <us> [pid <pid>]` or `off`.
fn parse_trigger<'a>(mut words: impl Iterator<Item = &'a [u8]>) -> Result<Command> {
    let cmd = match words.next() {
        Some(b"off") => Command::TriggerOff,
        Some(b"latency") => {
            let us = words.next().and_then(parse_u64).ok_or(EINVAL)?;
            let pid = match words.next() {
                None => None,
                Some(b"pid") => {
                    let p = words.next().and_then(parse_u64).ok_or(EINVAL)?;
                    Some(i32::try_from(p).map_err(|_| EINVAL)?)
                }
                Some(_) => return Err(EINVAL),
            };
            Command::Trigger(us, pid)
        }
        _ => return Err(EINVAL),
    };
    if words.next().is_some() {
        return Err(EINVAL);
    }
    Ok(cmd)
}

/// A decimal number of at most 18 digits.
fn parse_u64(w: &[u8]) -> Option<u64> {
    if w.is_empty() || w.len() > 18 || !w.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(w.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// `write`: a command.
///
/// # Safety
///
/// Called by the VFS with a file opened by [`rust_trace_open`] for writing
/// and a user buffer of `count` bytes.
unsafe extern "C" fn rust_trace_write(
    file: *mut bindings::file,
    buf: *const c_char,
    count: usize,
    _pos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: a file of this device (the VFS checked FMODE_WRITE).
    let t = unsafe { tracer_of(file) };
    // SAFETY: as above; the opener lives until release, after this call.
    let opener = unsafe { &*helpers::rust_trace_file_opener(file) };
    if count == 0 {
        return 0;
    }
    if count > CMD_MAX {
        return EINVAL.to_errno() as isize;
    }
    let mut cmd = KVec::new();
    if let Err(e) = UserSlice::new(buf as usize, count).read_all(&mut cmd, GFP_KERNEL) {
        return e.to_errno() as isize;
    }
    let res = match parse_command(&cmd) {
        Ok(Command::Stop) => t.stop(),
        Ok(Command::Flush) => t.flush(),
        Ok(Command::Filter(f)) => t.set_filter(&f, opener),
        Ok(Command::Flight) => t.flight(helpers::param_flight_gen_ms()),
        Ok(Command::Snapshot) => t.snapshot(),
        Ok(Command::Trigger(us, pid)) => t.arm_trigger(us, pid, opener),
        Ok(Command::TriggerOff) => t.trigger_off(),
        Err(e) => Err(e),
    };
    match res {
        Ok(()) => count as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// `poll`: readable when a read would not block.
///
/// # Safety
///
/// Called by the VFS with a file opened by [`rust_trace_open`].
unsafe extern "C" fn rust_trace_poll(
    file: *mut bindings::file,
    pt: *mut bindings::poll_table_struct,
) -> c_uint {
    // SAFETY: a file of this device.
    let t = unsafe { tracer_of(file) };
    // SAFETY: valid file, table and wait queue (alive as long as the tracer).
    unsafe { helpers::rust_trace_poll_wait(file, t.waitq().as_ptr(), pt) };
    let mut mask = POLL_OUT;
    // SAFETY: valid file.
    if unsafe { is_reader(file) } && t.readable() {
        mask |= POLL_IN;
    }
    mask
}

/// `unlocked_ioctl`: `RUST_TRACE_IOC_STATS`.
///
/// # Safety
///
/// Called by the VFS with a file opened by [`rust_trace_open`].
unsafe extern "C" fn rust_trace_ioctl(
    file: *mut bindings::file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // SAFETY: a file of this device.
    let t = unsafe { tracer_of(file) };
    match ioctl(t, cmd, arg) {
        Ok(()) => 0,
        Err(e) => e.to_errno() as c_long,
    }
}

fn ioctl(t: &Tracer, cmd: u32, arg: usize) -> Result {
    match cmd {
        RUST_TRACE_IOC_STATS => ioctl_stats(t, arg),
        #[cfg(rust_trace_microbench)]
        crate::microbench::RUST_TRACE_IOC_MICROBENCH => crate::microbench::ioctl(t, arg),
        _ => Err(ENOTTY),
    }
}

fn ioctl_stats(t: &Tracer, arg: usize) -> Result {
    let (mut reader, mut writer) =
        UserSlice::new(arg, core::mem::size_of::<RustTraceStats>()).reader_writer();
    let req: RustTraceStats = reader.read()?;
    let (running, reader_open, flight, snapshot) = t.state();
    let mut flags = 0;
    let st: Counts = if req.cpu == RUST_TRACE_STATS_ALL {
        t.total_stats()
    } else if (req.cpu as usize) < t.nr_cpus() {
        if t.has_cpu(req.cpu as usize) {
            flags |= RUST_TRACE_STATS_F_CPU;
        }
        t.cpu_stats(req.cpu as usize)
    } else {
        return Err(EINVAL);
    };
    if running {
        flags |= RUST_TRACE_STATS_F_RUNNING;
    }
    if reader_open {
        flags |= RUST_TRACE_STATS_F_READER;
    }
    if flight {
        flags |= RUST_TRACE_STATS_F_FLIGHT;
    }
    if snapshot {
        flags |= RUST_TRACE_STATS_F_SNAPSHOT;
    }
    writer.write(&RustTraceStats {
        cpu: req.cpu,
        flags,
        nr_cpus: t.nr_cpus() as u32,
        _pad: 0,
        written: st.written,
        lost: st.lost,
        batches: st.batches,
        read_events: st.read_events,
        read_bytes: st.read_bytes,
        overwritten: st.overwritten,
    })
}
