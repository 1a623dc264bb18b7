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
//! The flight recorder names tasks differently (see `bufpool.rs`): each
//! CPU names, again, every task it mentions after each of its name epochs
//! starts, so that a snapshot cut at an epoch's start names every task it
//! mentions. A [`NameCache`] per CPU remembers which PIDs it named in its
//! current epoch: small and direct-mapped, since forgetting a PID only
//! costs one more task record.
//!
//! Context: [`PidSet::new`] and [`PidSet::clear`] run in process context
//! (the first may sleep); the bit operations run in any context and are
//! single atomic read-modify-writes, so concurrent probes on other CPUs
//! never lose each other's updates. A [`NameCache`] is read and filled by
//! its CPU's writer (IRQs off) and emptied of a PID by any CPU.

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

    /// The word of `pid` and its bit. PIDs are below `PID_LIMIT` (the
    /// kernel hands out no other): the index is masked, not checked, which
    /// keeps a compare and a load off the probes' path (a PID beyond
    /// would stand for itself modulo `PID_LIMIT`).
    #[inline(always)]
    fn word(&self, pid: u32) -> (&AtomicU64, u64) {
        let pid = pid as usize & (PID_LIMIT - 1);
        // SAFETY: `pid / 64 < PID_LIMIT / 64`, the length (type invariant).
        let w = unsafe { self.words.get_unchecked(pid / 64) };
        (w, 1 << (pid % 64))
    }

    /// Whether `pid` is in the set. Any context.
    #[inline(always)]
    pub(crate) fn contains(&self, pid: u32) -> bool {
        let (w, bit) = self.word(pid);
        w.load(Ordering::Relaxed) & bit != 0
    }

    /// Adds `pid`. Any context.
    #[inline(always)]
    pub(crate) fn insert(&self, pid: u32) {
        let (w, bit) = self.word(pid);
        w.fetch_or(bit, Ordering::Relaxed);
    }

    /// Removes `pid`. Any context.
    #[inline(always)]
    pub(crate) fn remove(&self, pid: u32) {
        let (w, bit) = self.word(pid);
        w.fetch_and(!bit, Ordering::Relaxed);
    }
}

/// Entries of a [`NameCache`].
const NAME_CACHE_LEN: usize = 256;

/// The PIDs one CPU named in its current name epoch, direct-mapped by PID.
///
/// # Invariants
///
/// Each entry is 0 or `epoch << 32 | pid` for a PID its CPU named in that
/// epoch (PID 0 is never stored).
pub(crate) struct NameCache {
    slots: [AtomicU64; NAME_CACHE_LEN], // by `pid % NAME_CACHE_LEN`
}

impl NameCache {
    /// An empty cache.
    pub(crate) const fn new() -> Self {
        NameCache {
            slots: [const { AtomicU64::new(0) }; NAME_CACHE_LEN],
        }
    }

    /// The entry of `pid` in `epoch`.
    #[inline(always)]
    fn tag(pid: u32, epoch: u32) -> u64 {
        (u64::from(epoch) << 32) | u64::from(pid)
    }

    /// The slot of `pid`.
    #[inline(always)]
    fn slot(&self, pid: u32) -> &AtomicU64 {
        // The index is below the length: the mask cannot exceed it.
        &self.slots[pid as usize & (NAME_CACHE_LEN - 1)]
    }

    /// Whether `pid` was named in `epoch` (PID 0 always counts as named).
    /// Its CPU's writer.
    #[inline(always)]
    pub(crate) fn contains(&self, pid: u32, epoch: u32) -> bool {
        pid == 0 || self.slot(pid).load(Ordering::Relaxed) == Self::tag(pid, epoch)
    }

    /// Notes that `pid` was named in `epoch`. Its CPU's writer.
    #[inline(always)]
    pub(crate) fn insert(&self, pid: u32, epoch: u32) {
        if pid != 0 {
            self.slot(pid)
                .store(Self::tag(pid, epoch), Ordering::Relaxed);
        }
    }

    /// Forgets `pid` whatever the epoch, so that its next event on this CPU
    /// names it again (its name, process or cgroup changed, or its PID was
    /// reused). Any CPU, any context.
    #[inline(always)]
    pub(crate) fn remove(&self, pid: u32) {
        let s = self.slot(pid);
        let v = s.load(Ordering::Relaxed);
        if v as u32 == pid && v != 0 {
            // A lost race means the slot now holds another PID: fine.
            let _ = s.compare_exchange(v, 0, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    /// Empties the cache. Quiescent callers only.
    pub(crate) fn clear(&self) {
        for s in self.slots.iter() {
            s.store(0, Ordering::Relaxed);
        }
    }
}
