//! `rtdecode record`: a capture in one command, as `perf sched record` and
//! `trace-cmd record` take one.
//!
//! ```text
//!   rtdecode record [-o OUT] [--pid P,.. | --tgid P,.. | --cgroup PATH]
//!                   [--events LIST] [-- CMD ARGS...]
//!
//!   fork CMD, held on a pipe           (it must not run before the session)
//!   control fd (O_WRONLY): filter ..., events ...
//!                         (with CMD: filter pid CHILD, the command and the
//!                         tasks it forks)
//!   reader fd (O_RDONLY): the session starts; its filter record says what
//!                         the capture leaves out
//!   release CMD; then poll(reader, signalfd):
//!     reader readable  -> read, append to OUT; 0 = EOF: done
//!     SIGCHLD (CMD)    -> its status kept; write "stop"
//!     SIGINT, SIGTERM  -> write "stop"; drain to EOF; SIGTERM to CMD if alive
//!   filter clear, events all                  (the module as no one set it)
//! ```
//!
//! On a terminal, a status line on stderr says every half second how long
//! it has recorded, how many events (the module's counters,
//! `RUST_TRACE_IOC_STATS`), how many bytes, how many lost and at what rate;
//! at the end one summary line says what the file holds (from its footer).
//!
//! The device is driven exactly as `cat /dev/rust_trace > out` and `echo
//! stop` drive it: the file is the stream, ending with its footer whatever
//! ended the recording. The exit status is the command's (128 + N if a
//! signal N killed it), else 0; 2 on an error (as for every rtdecode
//! command), said on stderr with the module's error code.
//!
//! The command is forked first and held: `filter pid` needs a task that
//! exists, and the command must not run before the session does.
//!
//! With `--flight`, the module flight records instead ([`run_flight`]):
//! nothing is read while the command runs, memory stays what the module
//! allocated, and when the command ends (or on Ctrl-C) one `snapshot` of
//! the recent past is written to OUT. With `--trigger US` as well, the
//! latency trigger is armed and a snapshot it takes first is the one
//! written; the command runs on to its end.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::stream::Timeline;

/// What to record.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The device.
    pub device: PathBuf,
    /// Output file; `-` for standard output.
    pub output: PathBuf,
    /// `filter pid`: these tasks and their children.
    pub pids: Vec<u32>,
    /// `filter tgid`: every thread of these processes.
    pub tgids: Vec<u32>,
    /// `filter cgroup`: a cgroup v2 directory, as a path in the cgroup2
    /// mount or relative to its root.
    pub cgroup: Option<PathBuf>,
    /// `events`: event type names, comma-separated.
    pub events: Option<String>,
    /// The command to run and follow, with its arguments.
    pub command: Vec<OsString>,
    /// Flight recording: keep only the recent past, and write a snapshot
    /// of it at the end (see [`run_flight`]).
    pub flight: bool,
    /// With `flight`: arm the latency trigger at this many microseconds.
    pub trigger_us: Option<u64>,
}

/// `struct rust_trace_stats` (`uapi/rust_trace.h`).
#[repr(C)]
#[derive(Default)]
struct Stats {
    cpu: u32,         // in: CPU id or STATS_ALL
    flags: u32,       // out: RUST_TRACE_STATS_F_*
    nr_cpus: u32,     // out: number of CPU ids
    pad: u32,         // zero
    written: u64,     // events the probes tried to record
    lost: u64,        // events dropped: no empty buffer
    batches: u64,     // batches handed to the reader
    read_events: u64, // events copied out to the reader
    read_bytes: u64,  // batch bytes copied out to the reader
    overwritten: u64, // flight recording: events overwritten
}

/// `RUST_TRACE_STATS_ALL`: the totals.
const STATS_ALL: u32 = u32::MAX;
/// `RUST_TRACE_IOC_STATS`: `_IOWR('R', 1, struct rust_trace_stats)`.
const IOC_STATS: libc::c_ulong = (3 << 30)
    | ((std::mem::size_of::<Stats>() as libc::c_ulong) << 16)
    | ((b'R' as libc::c_ulong) << 8)
    | 1;

/// What opening the device failed with, said so that the fix is plain.
fn open_error(e: io::Error, device: &Path) -> anyhow::Error {
    let d = device.display();
    let why = match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENXIO) | Some(libc::ENODEV) => {
            format!("{d} is not there: is rust_trace loaded? (insmod rust_trace.ko)")
        }
        Some(libc::EACCES) | Some(libc::EPERM) => {
            format!("{d}: permission denied: recording needs root or CAP_PERFMON")
        }
        Some(libc::EBUSY) => {
            format!("{d} is busy: another reader has a session open (one at a time)")
        }
        _ => format!("opening {d}"),
    };
    anyhow::Error::new(e).context(why)
}

/// `Err(errno)` of the last call when `ret` is -1.
fn check(ret: libc::c_int, what: &str) -> Result<libc::c_int> {
    if ret < 0 {
        return Err(io::Error::last_os_error()).with_context(|| what.to_string());
    }
    Ok(ret)
}

/// The device's command file.
struct Control {
    file: File,      // /dev/rust_trace opened write-only
    device: PathBuf, // its path, for messages
}

impl Control {
    fn open(device: &Path) -> Result<Self> {
        let file = File::options()
            .write(true)
            .open(device)
            .map_err(|e| open_error(e, device))?;
        Ok(Control {
            file,
            device: device.to_path_buf(),
        })
    }

    /// The module's counters (totals); `None` if the ioctl fails.
    fn stats(&self) -> Option<Stats> {
        let mut st = Stats {
            cpu: STATS_ALL,
            ..Default::default()
        };
        // SAFETY: `st` is a `struct rust_trace_stats` the ioctl fills.
        let r = unsafe { libc::ioctl(self.file.as_raw_fd(), IOC_STATS as _, &mut st) };
        (r == 0).then_some(st)
    }

    /// Writes one command; the module's error code on failure.
    fn send(&mut self, cmd: &str) -> Result<()> {
        self.file
            .write_all(cmd.as_bytes())
            .with_context(|| format!("{}: '{}'", self.device.display(), cmd))
    }
}

/// The cgroup path the module takes (relative to the cgroup2 root, with a
/// leading `/`) for `path`: a path inside a mounted cgroup2 loses the mount
/// point; any other is taken as already relative to the root.
pub fn cgroup_arg(path: &Path, mountinfo: &str) -> String {
    let mut best: Option<&str> = None;
    for line in mountinfo.lines() {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - FSTYPE SOURCE SUPER
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        if post.split_whitespace().next() != Some("cgroup2") {
            continue;
        }
        let Some(mnt) = pre.split_whitespace().nth(4) else {
            continue;
        };
        if path.starts_with(mnt) && best.is_none_or(|b| mnt.len() > b.len()) {
            best = Some(mnt);
        }
    }
    let rel = match best {
        Some(m) => path.strip_prefix(m).unwrap_or(path),
        None => path,
    };
    let s = rel.to_string_lossy();
    let s = s.trim_start_matches('/').trim_end_matches('/');
    format!("/{s}")
}

/// The filter command for `opt`, `child` being the command's PID if there
/// is one; `filter clear` when no filter is asked.
fn filter_command(opt: &Options, child: Option<libc::pid_t>) -> Result<String> {
    let list = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
    let n = usize::from(!opt.pids.is_empty())
        + usize::from(!opt.tgids.is_empty())
        + usize::from(opt.cgroup.is_some())
        + usize::from(!opt.command.is_empty());
    if n > 1 {
        bail!("give one of --pid, --tgid, --cgroup and a command");
    }
    Ok(if let Some(pid) = child {
        format!("filter pid {pid}")
    } else if !opt.pids.is_empty() {
        format!("filter pid {}", list(&opt.pids))
    } else if !opt.tgids.is_empty() {
        format!("filter tgid {}", list(&opt.tgids))
    } else if let Some(c) = &opt.cgroup {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        format!("filter cgroup {}", cgroup_arg(c, &mountinfo))
    } else {
        "filter clear".to_string()
    })
}

/// The command, forked and held until [`Child::release`].
struct Child {
    pid: libc::pid_t,    // its PID
    go: Option<OwnedFd>, // closing it lets the child exec
    exec_err: OwnedFd,   // CLOEXEC pipe: the child's exec errno, or EOF on success
}

impl Child {
    /// Forks the command; it waits for [`Child::release`], with signals
    /// unblocked and at their defaults, then execs.
    fn spawn(argv: &[OsString]) -> Result<Child> {
        let args: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()).context("a NUL byte in the command"))
            .collect::<Result<_>>()?;
        let mut ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        let mut go = [0; 2];
        let mut err = [0; 2];
        // SAFETY: both arrays hold two fds.
        unsafe {
            check(libc::pipe2(go.as_mut_ptr(), libc::O_CLOEXEC), "pipe")?;
            check(libc::pipe2(err.as_mut_ptr(), libc::O_CLOEXEC), "pipe")?;
        }
        // SAFETY: the child only calls async-signal-safe functions before exec.
        let pid = check(unsafe { libc::fork() }, "fork")?;
        if pid == 0 {
            // SAFETY: async-signal-safe calls on valid arguments, in the child.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                libc::signal(libc::SIGTERM, libc::SIG_DFL);
                libc::close(go[1]);
                let mut b = 0u8;
                // Wait for release: EOF when the parent closes its end.
                while libc::read(go[0], (&mut b as *mut u8).cast(), 1) < 0
                    && *libc::__errno_location() == libc::EINTR
                {}
                libc::execvp(ptrs[0], ptrs.as_ptr());
                let e = *libc::__errno_location();
                libc::write(err[1], (&e as *const libc::c_int).cast(), 4);
                libc::_exit(127);
            }
        }
        // SAFETY: the parent's ends are open fds we own from here; the
        // child's are closed.
        unsafe {
            libc::close(go[0]);
            libc::close(err[1]);
            Ok(Child {
                pid,
                go: Some(OwnedFd::from_raw_fd(go[1])),
                exec_err: OwnedFd::from_raw_fd(err[0]),
            })
        }
    }

    /// Lets the command exec; its exec error if that failed.
    fn release(&mut self) -> Result<(), io::Error> {
        self.go = None;
        let mut e = [0u8; 4];
        let mut f = File::from(self.exec_err.try_clone()?);
        match f.read(&mut e) {
            Ok(4) => Err(io::Error::from_raw_os_error(i32::from_ne_bytes(e))),
            _ => Ok(()),
        }
    }
}

/// Signals the recorder handles, blocked and read from a signalfd. SIGINT
/// and SIGTERM are set to their default first: a shell starts background
/// jobs with SIGINT ignored, and an ignored signal never reaches the
/// signalfd (blocked, the default action does not run).
fn signal_fd() -> Result<OwnedFd> {
    // SAFETY: plain calls on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGCHLD] {
            libc::sigaddset(&mut set, s);
        }
        check(
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()),
            "sigprocmask",
        )?;
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
        let fd = check(
            libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK),
            "signalfd",
        )?;
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// The exit status a shell gives for a `waitpid` status.
fn exit_code(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    }
}

/// Records as `opt` says; returns the exit status.
pub fn record(opt: &Options) -> Result<i32> {
    let mut ctl = Control::open(&opt.device)?;
    filter_command(opt, None)?;
    let sigfd = signal_fd()?;
    let mut child = if opt.command.is_empty() {
        None
    } else {
        Some(Child::spawn(&opt.command)?)
    };
    // From here on, a failure must not leave the command held or running.
    let filter = filter_command(opt, child.as_ref().map(|c| c.pid))?;
    let res = run(opt, &mut ctl, &filter, &sigfd, child.as_mut());
    if let Some(c) = child {
        let mut status = 0;
        // SAFETY: our child, not reaped yet if this returns 0 (run()
        // reaps it when it ends).
        if unsafe { libc::waitpid(c.pid, &mut status, libc::WNOHANG) } == 0 {
            // SAFETY: as above; then wait for it.
            unsafe {
                libc::kill(c.pid, libc::SIGTERM);
                libc::waitpid(c.pid, &mut status, 0);
            }
        }
    }
    // The module as no one set it.
    let _ = ctl
        .send("filter clear")
        .and_then(|_| ctl.send("events all"));
    res
}

/// The recording proper (see the top of the file).
fn run(
    opt: &Options,
    ctl: &mut Control,
    filter: &str,
    sigfd: &OwnedFd,
    mut child: Option<&mut Child>,
) -> Result<i32> {
    ctl.send(filter)?;
    ctl.send(&format!(
        "events {}",
        opt.events.as_deref().unwrap_or("all")
    ))?;
    if opt.flight {
        return run_flight(opt, ctl, sigfd, child);
    }
    let mut out = create_output(opt)?;
    let mut reader = File::open(&opt.device).map_err(|e| open_error(e, &opt.device))?;
    // SAFETY: isatty() on a valid fd.
    let tty = unsafe { libc::isatty(libc::STDERR_FILENO) } == 1;
    let start = std::time::Instant::now();
    // The first status line at once, then every half second.
    let mut shown = start
        .checked_sub(std::time::Duration::from_secs(1))
        .unwrap_or(start);
    let mut status: Option<i32> = None;
    let mut stopping = false;
    if let Some(c) = child.as_deref_mut() {
        if let Err(e) = c.release() {
            ctl.send("stop")?;
            stopping = true;
            status = Some(127);
            eprintln!(
                "rtdecode record: cannot run {}: {e}",
                opt.command[0].to_string_lossy()
            );
        }
    }
    let mut interrupted = None;
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: reader.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sigfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        if tty && shown.elapsed().as_millis() >= 500 {
            shown = std::time::Instant::now();
            status_line(ctl, start, bytes);
        }
        // SAFETY: two valid pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, if tty { 500 } else { -1 }) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e).context("poll");
        }
        if fds[1].revents & libc::POLLIN != 0 {
            let sig = read_signals(sigfd, child.as_deref(), &mut status);
            if interrupted.is_none() {
                interrupted = sig;
            }
            if !stopping && (status.is_some() || interrupted.is_some()) {
                ctl.send("stop")?;
                stopping = true;
            }
        }
        if fds[0].revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
            let n = match reader.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).context("reading the stream"),
            };
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])
                .with_context(|| format!("writing {}", opt.output.display()))?;
            bytes += n as u64;
        }
    }
    out.flush()?;
    drop(out);
    drop(reader);
    if tty {
        show_status("");
    }
    summary(opt, bytes);
    if let Some(c) = child {
        if status.is_none() {
            // Interrupted: the command still runs.
            // SAFETY: our child.
            unsafe { libc::kill(c.pid, libc::SIGTERM) };
            let mut st = 0;
            // SAFETY: as above.
            unsafe { libc::waitpid(c.pid, &mut st, 0) };
            status = Some(exit_code(st));
        }
    }
    Ok(status.unwrap_or(0))
}

/// Reads the signals pending on `sigfd`: reaps `child` on SIGCHLD (its
/// exit status into `status`, if not known yet); returns the first other
/// signal (SIGINT, SIGTERM), if any.
fn read_signals(sigfd: &OwnedFd, child: Option<&Child>, status: &mut Option<i32>) -> Option<i32> {
    let mut other = None;
    // SAFETY: a signalfd_siginfo is plain data.
    let mut si: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let sz = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: `si` has room for `sz` bytes.
    while unsafe {
        libc::read(
            sigfd.as_raw_fd(),
            (&mut si as *mut libc::signalfd_siginfo).cast(),
            sz,
        )
    } == sz as isize
    {
        let sig = si.ssi_signo as i32;
        if sig != libc::SIGCHLD {
            other = other.or(Some(sig));
        } else if let (Some(c), None) = (child, *status) {
            let mut st = 0;
            // SAFETY: our child.
            if unsafe { libc::waitpid(c.pid, &mut st, libc::WNOHANG) } == c.pid {
                *status = Some(exit_code(st));
            }
        }
    }
    other
}

/// The output file, or standard output for `-`.
fn create_output(opt: &Options) -> Result<Box<dyn Write>> {
    Ok(if opt.output == Path::new("-") {
        Box::new(io::stdout().lock())
    } else {
        Box::new(
            File::create(&opt.output)
                .with_context(|| format!("creating {}", opt.output.display()))?,
        )
    })
}

/// Flight recording around the command (or until a signal), then one
/// snapshot to OUT; with a trigger, the trigger's snapshot if it comes
/// first. Returns the command's exit status (0 without one).
fn run_flight(
    opt: &Options,
    ctl: &mut Control,
    sigfd: &OwnedFd,
    mut child: Option<&mut Child>,
) -> Result<i32> {
    let mut out = create_output(opt)?;
    ctl.send("flight")?;
    let res = (|| -> Result<(i32, u64, bool)> {
        if let Some(us) = opt.trigger_us {
            ctl.send(&format!("trigger latency {us}"))?;
        }
        // A snapshot's window starts at a generation boundary after the
        // recording started: let one pass before the command runs, so
        // that all of it can be in the snapshot.
        let gen_ms: u64 =
            std::fs::read_to_string("/sys/module/rust_trace/parameters/flight_gen_ms")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(100);
        std::thread::sleep(std::time::Duration::from_millis(gen_ms + 2));
        // SAFETY: isatty() on a valid fd.
        let tty = unsafe { libc::isatty(libc::STDERR_FILENO) } == 1;
        let start = std::time::Instant::now();
        let mut status: Option<i32> = None;
        if let Some(c) = child.as_deref_mut() {
            if let Err(e) = c.release() {
                status = Some(127);
                eprintln!(
                    "rtdecode record: cannot run {}: {e}",
                    opt.command[0].to_string_lossy()
                );
            }
        }
        let mut interrupted = false;
        // With a trigger, the snapshot's reader is open from the start
        // (an open never waits): poll() says when the trigger's snapshot
        // is there.
        let reader = match opt.trigger_us {
            Some(_) => Some(
                File::options()
                    .read(true)
                    .open(&opt.device)
                    .map_err(|e| open_error(e, &opt.device))?,
            ),
            None => None,
        };
        let mut triggered = false;
        // Until the command ends, a signal comes, or the trigger's
        // snapshot is there.
        while status.is_none() && !interrupted && !triggered {
            if tty {
                let st = ctl.stats().unwrap_or_default();
                show_status(&format!(
                    "flight recording: {:.1} s, {} events, {} overwritten{}",
                    start.elapsed().as_secs_f64(),
                    st.written,
                    st.overwritten,
                    if opt.trigger_us.is_some() {
                        ", trigger armed"
                    } else {
                        ""
                    }
                ));
            }
            let mut fds = [
                libc::pollfd {
                    fd: sigfd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    // A negative fd is ignored.
                    fd: reader.as_ref().map_or(-1, |f| f.as_raw_fd()),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: two valid pollfds.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, 100) };
            if n > 0
                && fds[0].revents != 0
                && read_signals(sigfd, child.as_deref(), &mut status).is_some()
            {
                interrupted = true;
            }
            triggered = n > 0 && fds[1].revents & libc::POLLIN != 0;
        }
        if !triggered {
            ctl.send("snapshot")?;
        }
        let mut reader = match reader {
            Some(f) => f,
            None => File::open(&opt.device).map_err(|e| open_error(e, &opt.device))?,
        };
        if tty {
            show_status("");
        }
        let bytes = io::copy(&mut reader, &mut out)
            .with_context(|| format!("writing {}", opt.output.display()))?;
        out.flush()?;
        Ok((status.unwrap_or(-1), bytes, triggered))
    })();
    let stopped = ctl.send("stop");
    let (mut status, bytes, triggered) = res?;
    stopped?;
    drop(out);
    summary(opt, bytes);
    if triggered {
        eprintln!(
            "rtdecode record: the trigger took this snapshot: rtdecode explain {}",
            opt.output.display()
        );
    }
    if let Some(c) = child {
        if status < 0 {
            // The trigger or a signal ended the recording: the command
            // runs to its end after a trigger, is ended after a signal.
            let mut st = 0;
            if !triggered {
                // SAFETY: our child.
                unsafe { libc::kill(c.pid, libc::SIGTERM) };
            }
            // SAFETY: as above.
            unsafe { libc::waitpid(c.pid, &mut st, 0) };
            status = exit_code(st);
        }
    }
    Ok(status.max(0))
}

/// The live status line (a terminal only): elapsed time, events recorded,
/// bytes written, events lost, rate.
fn status_line(ctl: &Control, start: std::time::Instant, bytes: u64) {
    let secs = start.elapsed().as_secs_f64();
    let (events, lost) = ctl
        .stats()
        .map_or((0, 0), |s| (s.written.saturating_sub(s.lost), s.lost));
    let mb = bytes as f64 / 1e6;
    show_status(&format!(
        "recording: {secs:.1} s, {events} events, {mb:.2} MB, {lost} lost, {:.2} MB/s",
        if secs > 0.0 { mb / secs } else { 0.0 }
    ));
}

/// Replaces the terminal's status line with `line` (empty: clears it), in
/// one write(2): the command's own output shares the terminal, and a line
/// written in pieces (what `eprint!` does) could be cut by it.
fn show_status(line: &str) {
    let _ = io::stderr().write_all(format!("\r\x1b[K{line}").as_bytes());
}

/// One line on stderr: what the file holds, from its footer.
fn summary(opt: &Options, bytes: u64) {
    let name = opt.output.display();
    if opt.output == Path::new("-") {
        eprintln!("rtdecode record: {bytes} bytes written to standard output");
        return;
    }
    let footer = File::open(&opt.output)
        .ok()
        .and_then(|f| Timeline::open(io::BufReader::new(f)).ok())
        .and_then(|mut tl| {
            tl.for_each(|_| {}).ok()?;
            tl.footer().map(|(f, _)| (f.written, f.lost))
        });
    match footer {
        Some((written, lost)) => eprintln!(
            "rtdecode record: {bytes} bytes in {name}: {} events recorded, {lost} lost",
            written - lost
        ),
        None => eprintln!("rtdecode record: {bytes} bytes in {name}, without a footer"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stats_ioctl_is_the_uapi_headers() {
        // _IOWR('R', 1, struct rust_trace_stats), 64 bytes.
        assert_eq!(std::mem::size_of::<Stats>(), 64);
        assert_eq!(IOC_STATS, 0xc040_5201);
    }

    #[test]
    fn open_errors_say_what_to_do() {
        let d = Path::new("/dev/rust_trace");
        let e = |n| format!("{:#}", open_error(io::Error::from_raw_os_error(n), d));
        assert!(e(libc::ENOENT).contains("is rust_trace loaded?"));
        assert!(e(libc::EACCES).contains("needs root or CAP_PERFMON"));
        assert!(e(libc::EBUSY).contains("another reader"));
    }

    #[test]
    fn cgroup_paths_lose_the_mount_point() {
        let mi = "\
22 1 0:21 / /sys rw - sysfs sysfs rw
30 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw
";
        let p = |s: &str| cgroup_arg(Path::new(s), mi);
        assert_eq!(p("/sys/fs/cgroup/a/b"), "/a/b");
        assert_eq!(p("/sys/fs/cgroup/a/b/"), "/a/b");
        assert_eq!(p("/sys/fs/cgroup"), "/");
        assert_eq!(p("/a/b"), "/a/b");
        assert_eq!(p("a"), "/a");
    }

    #[test]
    fn one_filter_at_a_time() {
        let o = Options {
            pids: vec![1],
            tgids: vec![2],
            ..Default::default()
        };
        assert!(filter_command(&o, None).is_err());
        let o = Options {
            pids: vec![3, 4],
            ..Default::default()
        };
        assert_eq!(filter_command(&o, None).unwrap(), "filter pid 3 4");
        assert_eq!(Options::default().events, None);
        assert_eq!(
            filter_command(&Options::default(), None).unwrap(),
            "filter clear"
        );
        let o = Options {
            command: vec!["true".into()],
            ..Default::default()
        };
        assert_eq!(filter_command(&o, Some(77)).unwrap(), "filter pid 77");
        let o = Options {
            cgroup: Some("/a".into()),
            command: vec!["true".into()],
            ..Default::default()
        };
        assert!(filter_command(&o, Some(77)).is_err());
    }
}
