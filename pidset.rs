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
//! A PID whose name, process or cgroup changes is forgotten by every CPU
//! at once, in O(1): [`NameForgets`] counts, per hash slot of PIDs, how
//! many times one was forgotten, and a cache entry stands only while that
//! count is the one its CPU read before it named the PID. (Sweeping every
//! CPU's cache instead cost `nr_cpu_ids` remote cache lines per fork,
//! rename and cgroup move, and a move of a 30,000-thread process, with
//! IRQs off, that many times over.)
//!
//! Context: [`PidSet::new`] and [`PidSet::clear`] run in process context
//! (the first may sleep); the bit operations run in any context and are
//! single atomic read-modify-writes, so concurrent probes on other CPUs
//! never lose each other's updates. A [`NameCache`] is read and filled
//! only by its CPU's writer (IRQs off); [`NameForgets::forget`] runs on any
//! CPU, in any context.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

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

/// Slots of [`NameForgets`] (PIDs are handed out in order: neighbours
/// fall in different slots).
const FORGET_SLOTS: usize = 4096;

/// How many times a PID of each slot (`pid % FORGET_SLOTS`) was forgotten
/// in flight recording: its name, process or cgroup changed, or it was
/// reused. A forget of one PID also makes the others of its slot named
/// again, once: one task record more, never a wrong name.
///
/// # Invariants
///
/// `seq` has `FORGET_SLOTS` entries.
pub(crate) struct NameForgets {
    seq: KVVec<AtomicU32>, // forgets per slot, wrapping (2^32 forgets of a slot within a CPU's epoch are needed to mistake one)
}

impl NameForgets {
    /// All counts 0 (16 KiB). May sleep.
    pub(crate) fn new() -> Result<Self> {
        let mut seq = KVVec::with_capacity(FORGET_SLOTS, GFP_KERNEL)?;
        for _ in 0..FORGET_SLOTS {
            seq.push(AtomicU32::new(0), GFP_KERNEL)?;
        }
        // INVARIANT: `FORGET_SLOTS` entries.
        Ok(NameForgets { seq })
    }

    /// The slot of `pid`.
    #[inline(always)]
    fn slot(&self, pid: u32) -> &AtomicU32 {
        // SAFETY: the index is below `FORGET_SLOTS` (the mask), the
        // length of `seq` (type invariant); unchecked, the probes that
        // forget a PID keep no panic path.
        unsafe { self.seq.get_unchecked(pid as usize & (FORGET_SLOTS - 1)) }
    }

    /// The count of `pid`'s slot, read before its task is read for a
    /// name (Acquire: the task's fields are read after it). Any context.
    #[inline(always)]
    pub(crate) fn seq(&self, pid: u32) -> u32 {
        self.slot(pid).load(Ordering::Acquire)
    }

    /// Forgets `pid` on every CPU: its next event on any CPU names it
    /// again. One atomic increment. Any CPU, any context.
    #[inline(always)]
    pub(crate) fn forget(&self, pid: u32) {
        self.slot(pid).fetch_add(1, Ordering::Release);
    }
}

/// The PIDs one CPU named in its current name epoch, direct-mapped by PID.
///
/// # Invariants
///
/// Each entry of `slots` is 0 or `epoch << 32 | pid` for a PID its CPU
/// named in that epoch (PID 0 is never stored), and the same entry of
/// `seqs` is the [`NameForgets`] count of that PID's slot read before it
/// was named.
pub(crate) struct NameCache {
    slots: [AtomicU64; NAME_CACHE_LEN], // by `pid % NAME_CACHE_LEN`
    seqs: [AtomicU32; NAME_CACHE_LEN],  // the forget count each entry was named under
}

impl NameCache {
    /// An empty cache.
    pub(crate) const fn new() -> Self {
        NameCache {
            slots: [const { AtomicU64::new(0) }; NAME_CACHE_LEN],
            seqs: [const { AtomicU32::new(0) }; NAME_CACHE_LEN],
        }
    }

    /// The entry of `pid` in `epoch`.
    #[inline(always)]
    fn tag(pid: u32, epoch: u32) -> u64 {
        (u64::from(epoch) << 32) | u64::from(pid)
    }

    /// The index of `pid`'s entry.
    #[inline(always)]
    fn index(pid: u32) -> usize {
        pid as usize & (NAME_CACHE_LEN - 1)
    }

    /// Whether `pid` was named in `epoch` and not forgotten since: `seq`
    /// is its [`NameForgets::seq`] now (PID 0 always counts as named).
    /// Its CPU's writer.
    #[inline(always)]
    pub(crate) fn contains(&self, pid: u32, epoch: u32, seq: u32) -> bool {
        let i = Self::index(pid);
        // The index is below the length: the mask cannot exceed it.
        pid == 0
            || (self.slots[i].load(Ordering::Relaxed) == Self::tag(pid, epoch)
                && self.seqs[i].load(Ordering::Relaxed) == seq)
    }

    /// Notes that `pid` was named in `epoch`, `seq` being its
    /// [`NameForgets::seq`] read before its task was. Its CPU's writer.
    #[inline(always)]
    pub(crate) fn insert(&self, pid: u32, epoch: u32, seq: u32) {
        if pid != 0 {
            let i = Self::index(pid);
            self.slots[i].store(Self::tag(pid, epoch), Ordering::Relaxed);
            self.seqs[i].store(seq, Ordering::Relaxed);
        }
    }

    /// Empties the cache. Quiescent callers only.
    pub(crate) fn clear(&self) {
        for s in self.slots.iter() {
            s.store(0, Ordering::Relaxed);
        }
    }
}
