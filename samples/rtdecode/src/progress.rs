//! A progress line on standard error for long reads: shown only when
//! standard error is a terminal and the input is over [`MIN_BYTES`].

use std::io::{self, IsTerminal, Read, Write};
use std::time::{Duration, Instant};

/// Inputs smaller than this show no progress.
pub const MIN_BYTES: u64 = 8 << 20;

/// Wraps a reader and redraws `label: 42% (310 MiB/s)` at most ten times a
/// second; clears the line when dropped.
pub struct ProgressReader<R> {
    inner: R,            // the input
    label: &'static str, // what is being done
    total: u64,          // input size
    done: u64,           // bytes read so far
    start: Instant,      // when reading started
    last: Instant,       // last redraw
    shown: bool,         // whether anything was drawn
}

impl<R: Read> ProgressReader<R> {
    /// Shows progress of reading `total` bytes from `inner` if worthwhile.
    pub fn new(inner: R, label: &'static str, total: u64) -> Self {
        let now = Instant::now();
        ProgressReader {
            inner,
            label,
            total,
            done: 0,
            start: now,
            last: now,
            shown: false,
        }
    }

    fn enabled(&self) -> bool {
        self.total >= MIN_BYTES && io::stderr().is_terminal()
    }
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.last.elapsed() >= Duration::from_millis(100) && self.enabled() {
            self.last = Instant::now();
            let secs = self.start.elapsed().as_secs_f64().max(1e-9);
            let pct = 100.0 * self.done as f64 / self.total as f64;
            let rate = self.done as f64 / secs / (1 << 20) as f64;
            let _ = write!(
                io::stderr(),
                "\r{}: {:3.0}% ({:.0} MiB/s)  ",
                self.label,
                pct.min(100.0),
                rate
            );
            self.shown = true;
        }
        Ok(n)
    }
}

impl<R> Drop for ProgressReader<R> {
    fn drop(&mut self) {
        if self.shown {
            let _ = write!(io::stderr(), "\r{:60}\r", "");
        }
    }
}
