//! Helpers shared by the integration tests: streams built with the
//! module's own encoder (format.rs).
#![allow(dead_code)]

use rtdecode::format::*;

/// Builds a stream the way the module does.
pub struct Builder {
    pub nr_cpus: u32,      // CPU ids of the header
    pub bytes: Vec<u8>,    // the stream so far
    pub seq: Vec<u64>,     // next batch sequence number per CPU
    pub written: Vec<u64>, // per CPU: events written (stored + lost)
    pub lost: Vec<u64>,    // per CPU: events lost
    pub batches: Vec<u64>, // per CPU: batches
}

impl Builder {
    /// A version 1 stream (tasks named by `comm` records), as the module
    /// wrote before version 2: the decoder still reads it.
    pub fn new(nr_cpus: u32) -> Self {
        Self::with_version(nr_cpus, VERSION_MIN)
    }

    /// A stream of the current version (`task` and `filter` records).
    pub fn latest(nr_cpus: u32) -> Self {
        Self::with_version(nr_cpus, VERSION)
    }

    /// A flight recorder's snapshot: the current version, its snapshot
    /// record right after the header.
    pub fn snapshot(nr_cpus: u32, snap: &Snapshot) -> Self {
        let mut b = Self::with_version(nr_cpus, VERSION);
        b.bytes.extend_from_slice(&snap.to_bytes());
        b
    }

    fn with_version(nr_cpus: u32, version: u16) -> Self {
        let h = Header {
            version,
            buf_size: 65536,
            nr_cpus,
            clock_id: CLOCK_LOCAL,
            start_ns: 1_000,
        };
        let n = nr_cpus as usize;
        Builder {
            nr_cpus,
            bytes: h.to_bytes().to_vec(),
            seq: vec![0; n],
            written: vec![0; n],
            lost: vec![0; n],
            batches: vec![0; n],
        }
    }

    /// Adds a batch of `cpu` at `ts`, reporting `lost` before it; `f` encodes
    /// the events and returns how many.
    pub fn batch(
        &mut self,
        cpu: u32,
        ts: u64,
        lost: u64,
        f: impl FnOnce(&mut Encoder<'_>) -> u32,
    ) -> usize {
        let mut ev = vec![0u8; 4096];
        let mut enc = Encoder::new(&mut ev);
        let n = f(&mut enc);
        let len = enc.fitted_len().unwrap();
        let c = cpu as usize;
        let hdr = BatchHeader {
            len: (BATCH_HDR_LEN + len) as u32,
            cpu,
            nevents: n,
            seq: self.seq[c],
            ts,
            lost,
        };
        self.seq[c] += 1;
        self.written[c] += u64::from(n) + lost;
        self.lost[c] += lost;
        self.batches[c] += 1;
        let at = self.bytes.len();
        self.bytes.extend_from_slice(&hdr.to_bytes());
        self.bytes.extend_from_slice(&ev[..len]);
        at
    }

    pub fn footer(mut self) -> Vec<u8> {
        let fixed = FooterFixed {
            nr_cpus: self.nr_cpus,
            clock_hz: 1_000_000_000,
            end_ns: 99_999,
            written: self.written.iter().sum(),
            lost: self.lost.iter().sum(),
        };
        self.bytes.extend_from_slice(&fixed.to_bytes());
        for c in 0..self.nr_cpus as usize {
            let t = CpuTotals {
                written: self.written[c],
                lost: self.lost[c],
                batches: self.batches[c],
            };
            self.bytes.extend_from_slice(&t.to_bytes());
        }
        self.bytes
    }
}

/// A two-CPU stream with every event type.
pub fn sample() -> Vec<u8> {
    sample_with_offsets().0
}

/// [`sample`], with the offsets of its three batches (7, 6 and 1 events).
pub fn sample_with_offsets() -> (Vec<u8>, [usize; 3]) {
    let mut b = Builder::new(2);
    let b0 = b.batch(0, 2_000, 0, |e| {
        e.comm(0, 10, b"ping\0\0\0\0\0\0\0\0\0\0\0\0");
        e.switch(0, 0, 0, 10);
        e.wakeup(5, false, 11, 1);
        e.fork(5, 10, 12);
        e.comm(0, 12, b"child");
        e.wakeup(1, true, 12, 0);
        e.switch(100, 10, 1, 0);
        7
    });
    let b1 = b.batch(1, 2_050, 0, |e| {
        e.comm(0, 11, b"pong");
        e.switch(10, 0, 0, 11);
        e.migrate(3, 12, 0, 1);
        e.exec(2, 12, 12);
        e.exit(7, 12);
        e.switch(1, 11, 9, 0);
        6
    });
    let b2 = b.batch(0, 3_000, 0, |e| {
        e.switch(0, 0, 0, 10);
        1
    });
    (b.footer(), [b0, b1, b2])
}

/// A version 2 stream: a process of two threads (10, its leader, and 11)
/// and a child process (12) it forks, which renames itself; a filter of
/// both processes stated at the start.
pub fn sample_v2() -> Vec<u8> {
    let mut b = Builder::latest(2);
    b.batch(0, 2_000, 0, |e| {
        e.filter(0, FILTER_TGID, EVENTS_ALL, &[10, 12]);
        e.task(0, 10, 10, 0, b"server");
        e.switch(0, 0, 0, 10);
        e.task(5, 11, 10, 0, b"worker");
        e.wakeup(0, false, 11, 1);
        e.task(5, 12, 12, 0, b"server");
        e.fork(0, 10, 12);
        e.wakeup(1, true, 12, 0);
        e.switch(100, 10, 1, 0);
        9
    });
    b.batch(1, 2_050, 0, |e| {
        e.switch(10, 0, 0, 11);
        e.task(3, 12, 12, 0, b"helper");
        e.exit(7, 12);
        e.switch(1, 11, 9, 0);
        4
    });
    b.footer()
}
