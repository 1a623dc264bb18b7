// SPDX-License-Identifier: GPL-2.0

//! A set of PIDs, one bit per PID, that probes test and change without a
//! lock.
//!
//! Two users: the probes' record of which PIDs have their task record in
//! the stream (`Recorder::names`, see `probes.rs`), and the PID filter's
//! set of followed tasks (`filter.rs`). Both need a membership test and
//! updates from tracepoint context, where nothing may allocate or sleep,
//! for any PID the kernel may hand out: so the set is a flat bitmap sized
//! for `PID_MAX_LIMIT`, allocated once (512 KiB) when the module loads.
//! ftrace's `pid_list` makes the same choice in a sparser shape.
//!
//! Context: [`PidSet::new`] and [`PidSet::clear`] run in process context
//! (the first may sleep); the bit operations run in any context and are
//! single atomic read-modify-writes, so concurrent probes on other CPUs
//! never lose each other's updates.

use core::sync::atomic::{AtomicU64, Ordering};

use kernel::prelude::*;

/// Largest PID the bitmap covers (the kernel's `PID_MAX_LIMIT` on 64-bit).
const PID_LIMIT: usize = 4 * 1024 * 1024;

/// A set of PIDs.
///
/// # Invariants
///
/// `words` has `PID_LIMIT / 64` entries.
pub(crate) struct PidSet {
    words: KVVec<AtomicU64>, // bit `pid % 64` of word `pid / 64`
}

impl PidSet {
    /// Allocates an empty set (512 KiB). May sleep.
    pub(crate) fn new() -> Result<Self> {
        let n = PID_LIMIT / 64;
        let mut words = KVVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            words.push(AtomicU64::new(0), GFP_KERNEL)?;
        }
        // INVARIANT: `n` words.
        Ok(PidSet { words })
    }

    /// Bytes the set takes.
    pub(crate) fn memory(&self) -> usize {
        self.words.len() * core::mem::size_of::<AtomicU64>()
    }

    /// Empties the set. Process context; callers make sure no probe
    /// relies on the set meanwhile.
    pub(crate) fn clear(&self) {
        for w in self.words.iter() {
            w.store(0, Ordering::Relaxed);
        }
    }

    /// Whether `pid` is in the set. Any context.
    #[inline(always)]
    pub(crate) fn contains(&self, pid: u32) -> bool {
        let pid = pid as usize;
        match self.words.get(pid / 64) {
            Some(w) => w.load(Ordering::Relaxed) & (1 << (pid % 64)) != 0,
            None => false,
        }
    }

    /// Adds `pid`. Any context.
    #[inline(always)]
    pub(crate) fn insert(&self, pid: u32) {
        let pid = pid as usize;
        if let Some(w) = self.words.get(pid / 64) {
            w.fetch_or(1 << (pid % 64), Ordering::Relaxed);
        }
    }

    /// Removes `pid`. Any context.
    #[inline(always)]
    pub(crate) fn remove(&self, pid: u32) {
        let pid = pid as usize;
        if let Some(w) = self.words.get(pid / 64) {
            w.fetch_and(!(1 << (pid % 64)), Ordering::Relaxed);
        }
    }
}
