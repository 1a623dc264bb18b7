//! Streaming parse of a rust_trace capture, and the time-ordered merge of
//! its per-CPU event streams.
//!
//! [`StreamReader`] reads records in file order and holds one batch at a
//! time. [`Timeline`] needs a seekable file: a first pass indexes every
//! batch (offset, CPU, sequence number) and collects task names; the second
//! pass keeps one batch per CPU in memory and merges the CPUs by timestamp
//! (ties broken by CPU, then order within the CPU), so memory stays bounded
//! by `nr_cpus * buf_size` whatever the size of the capture.

use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};

use crate::format::decode::{Cursor, Event, FormatError};
use crate::format::{
    BatchHeader, CpuTotals, FooterFixed, Header, Snapshot, BATCH_HDR_LEN, FOOTER_CPU_LEN,
    FOOTER_FIXED_LEN, HEADER_LEN, MAGIC, SNAPSHOT_LEN, TAG_BATCH, TAG_FOOTER, TAG_SNAPSHOT,
};
use crate::replay::TaskInfo;

/// Largest batch accepted, whatever the header says (a corrupt length must
/// not make the decoder allocate gigabytes).
pub const MAX_BATCH: u32 = 64 << 20;

/// What went wrong, and where.
#[derive(Debug)]
pub struct DecodeError {
    /// Byte offset in the stream of the structure at fault.
    pub offset: u64,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// The kinds of [`DecodeError`].
#[derive(Debug)]
pub enum ErrorKind {
    /// A malformed structure.
    Format(FormatError),
    /// The stream ends before its footer: at a record boundary or inside a
    /// structure (a capture interrupted, a full disk, `head -c`).
    Cut(Cut),
    /// Bytes after the footer.
    TrailingData,
    /// A batch's events do not fill exactly its length, or their count differs.
    BadBatch(String),
    /// Reading failed.
    Io(io::Error),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: ", self.offset)?;
        match &self.kind {
            ErrorKind::Format(e) => write!(f, "{e}"),
            ErrorKind::Cut(c) => write!(f, "{c}"),
            ErrorKind::TrailingData => write!(f, "data after the footer"),
            ErrorKind::BadBatch(s) => write!(f, "{s}"),
            ErrorKind::Io(e) => write!(f, "read error: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

fn err(offset: u64, kind: ErrorKind) -> DecodeError {
    DecodeError { offset, kind }
}

/// The structure a stream was cut in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutIn {
    /// The stream header: nothing can be decoded.
    Header,
    /// Between two records: every record before is whole, the footer is missing.
    Boundary,
    /// The eight bytes (tag, length) that start a record.
    RecordStart,
    /// A batch, whose header says it is `len` bytes long.
    Batch {
        /// The batch's full length.
        len: u32,
    },
    /// The footer.
    Footer,
}

/// Where and how a stream that ends before its footer was cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    /// Offset of the incomplete structure (the stream's length at a boundary).
    pub offset: u64,
    /// Bytes of that structure present in the stream but not decoded.
    pub dropped: u64,
    /// The structure that was cut.
    pub within: CutIn,
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.within {
            CutIn::Header => write!(
                f,
                "stream cut inside its header ({} of {HEADER_LEN} bytes): nothing to decode",
                self.dropped
            ),
            CutIn::Boundary => write!(f, "stream ends without a footer (truncated?)"),
            CutIn::RecordStart => write!(
                f,
                "stream cut inside a record's tag and length: {} bytes dropped, no footer",
                self.dropped
            ),
            CutIn::Batch { len } => write!(
                f,
                "stream cut inside a batch of {len} bytes: {} bytes dropped, no footer",
                self.dropped
            ),
            CutIn::Footer => write!(
                f,
                "stream cut inside the footer: {} bytes dropped",
                self.dropped
            ),
        }
    }
}

/// One record of the stream after the header.
#[derive(Debug)]
pub enum Record {
    /// A batch: its offset, header and event bytes.
    Batch {
        /// Offset of the batch header in the stream.
        offset: u64,
        /// The batch header.
        hdr: BatchHeader,
        /// The event bytes (after the batch header).
        events: Vec<u8>,
    },
    /// The snapshot record of a flight recorder's snapshot (only right
    /// after the header).
    Snapshot {
        /// Offset of the record in the stream.
        offset: u64,
        /// The record.
        snap: Snapshot,
        /// A field that must be zero and is not
        /// ([`record_zero_fault`](crate::format::decode::record_zero_fault)).
        zero_fault: Option<&'static str>,
    },
    /// The footer.
    Footer {
        /// Offset of the footer in the stream.
        offset: u64,
        /// Its fixed part.
        fixed: FooterFixed,
        /// Per-CPU totals, `fixed.nr_cpus` of them.
        cpus: Vec<CpuTotals>,
        /// A field that must be zero and is not.
        zero_fault: Option<&'static str>,
    },
}

/// Reads a stream record by record.
pub struct StreamReader<R: Read> {
    r: R,                               // the input
    offset: u64,                        // bytes consumed so far
    header: Header,                     // the stream header
    header_fault: Option<&'static str>, // a fixed header field that is wrong
    footer: bool,                       // the footer was read
    records: u64,                       // records read so far
}

/// Reads until `buf` is full or EOF; returns the bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

impl<R: Read> StreamReader<R> {
    /// Reads and checks the stream header.
    pub fn new(mut r: R) -> Result<Self, DecodeError> {
        let mut h = [0u8; HEADER_LEN];
        let got = read_full(&mut r, &mut h).map_err(|e| err(0, ErrorKind::Io(e)))?;
        let header = match Header::parse(&h[..got]) {
            Ok(hdr) => hdr,
            // A short stream whose bytes start a header was cut; anything
            // else is not a rust_trace stream.
            Err(FormatError::Truncated) | Err(FormatError::BadMagic)
                if got < HEADER_LEN && h[..got.min(8)] == MAGIC[..got.min(8)] =>
            {
                return Err(err(
                    0,
                    ErrorKind::Cut(Cut {
                        offset: 0,
                        dropped: got as u64,
                        within: CutIn::Header,
                    }),
                ))
            }
            Err(e) => return Err(err(0, ErrorKind::Format(e))),
        };
        Ok(StreamReader {
            r,
            offset: HEADER_LEN as u64,
            header,
            header_fault: crate::format::decode::header_fixed_fault(&h),
            footer: false,
            records: 0,
        })
    }

    /// The stream header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// A fixed header field the parser does not need that breaks its rule
    /// (clock name, reserved bytes).
    pub fn header_fault(&self) -> Option<&'static str> {
        self.header_fault
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next record; `Ok(None)` after the footer at EOF.
    pub fn next_record(&mut self) -> Result<Option<Record>, DecodeError> {
        let at = self.offset;
        let cut = |dropped: usize, within| {
            err(
                at,
                ErrorKind::Cut(Cut {
                    offset: at,
                    dropped: dropped as u64,
                    within,
                }),
            )
        };
        let mut tl = [0u8; 8];
        match read_full(&mut self.r, &mut tl) {
            Ok(0) if self.footer => return Ok(None),
            Ok(_) if self.footer => return Err(err(at, ErrorKind::TrailingData)),
            Ok(0) => return Err(cut(0, CutIn::Boundary)),
            Ok(n) if n < tl.len() => return Err(cut(n, CutIn::RecordStart)),
            Ok(_) => {}
            Err(e) => return Err(err(at, ErrorKind::Io(e))),
        }
        let (tag, len) = crate::format::decode::record_tag_len(&tl)
            .map_err(|e| err(at, ErrorKind::Format(e)))?;
        let first = self.records == 0;
        self.records += 1;
        let min = match tag {
            TAG_BATCH => BATCH_HDR_LEN,
            TAG_FOOTER => FOOTER_FIXED_LEN,
            // From version 3, and only as the first record.
            TAG_SNAPSHOT if first && self.header.version >= 3 => SNAPSHOT_LEN,
            _ => return Err(err(at, ErrorKind::Format(FormatError::UnknownTag(tag)))),
        };
        let max = match tag {
            TAG_BATCH => self.header.buf_size.min(MAX_BATCH),
            TAG_SNAPSHOT => SNAPSHOT_LEN as u32,
            _ => FooterFixed::len_for(crate::format::MAX_CPUS) as u32,
        };
        if (len as usize) < min || len > max {
            return Err(err(at, ErrorKind::Format(FormatError::BadRecordLen(len))));
        }
        let mut rec = vec![0u8; len as usize];
        rec[..8].copy_from_slice(&tl);
        match read_full(&mut self.r, &mut rec[8..]) {
            Ok(n) if n < rec.len() - 8 => {
                let within = match tag {
                    TAG_BATCH => CutIn::Batch { len },
                    TAG_SNAPSHOT => CutIn::RecordStart,
                    _ => CutIn::Footer,
                };
                return Err(cut(8 + n, within));
            }
            Ok(_) => {}
            Err(e) => return Err(err(at, ErrorKind::Io(e))),
        }
        self.offset += u64::from(len);
        let zero_fault = crate::format::decode::record_zero_fault(tag, &rec);
        if tag == TAG_SNAPSHOT {
            let snap = Snapshot::parse(&rec).map_err(|e| err(at, ErrorKind::Format(e)))?;
            return Ok(Some(Record::Snapshot {
                offset: at,
                snap,
                zero_fault,
            }));
        }
        if tag == TAG_BATCH {
            let hdr = BatchHeader::parse(&rec).map_err(|e| err(at, ErrorKind::Format(e)))?;
            if hdr.cpu >= self.header.nr_cpus {
                return Err(err(at, ErrorKind::Format(FormatError::BadCpu(hdr.cpu))));
            }
            rec.drain(..BATCH_HDR_LEN);
            Ok(Some(Record::Batch {
                offset: at,
                hdr,
                events: rec,
            }))
        } else {
            let fixed = FooterFixed::parse(&rec).map_err(|e| err(at, ErrorKind::Format(e)))?;
            let cpus = rec[FOOTER_FIXED_LEN..]
                .chunks_exact(FOOTER_CPU_LEN)
                .map(CpuTotals::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| err(at, ErrorKind::Format(e)))?;
            self.footer = true;
            Ok(Some(Record::Footer {
                offset: at,
                fixed,
                cpus,
                zero_fault,
            }))
        }
    }
}

/// An event with its absolute time and CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedEvent {
    /// Absolute time, in the header's clock.
    pub ts: u64,
    /// CPU that recorded it.
    pub cpu: u32,
    /// Sequence number of its batch on that CPU.
    pub seq: u64,
    /// The event.
    pub ev: Event,
}

/// Decodes the events of one batch. The batch must hold exactly
/// `hdr.nevents` well-formed events filling its bytes.
pub fn batch_events(
    offset: u64,
    hdr: &BatchHeader,
    events: &[u8],
) -> Result<Vec<TimedEvent>, DecodeError> {
    // Each event takes at least two bytes: a corrupt count cannot make us
    // reserve more than the batch could hold.
    let mut out = Vec::with_capacity((hdr.nevents as usize).min(events.len() / 2));
    let mut c = Cursor::new(events);
    let mut ts = hdr.ts;
    while !c.at_end() {
        let at = offset + (BATCH_HDR_LEN + c.pos()) as u64;
        let (dt, ev) = c.next_event().map_err(|e| err(at, ErrorKind::Format(e)))?;
        ts = ts
            .checked_add(dt)
            .ok_or_else(|| err(at, ErrorKind::BadBatch("timestamp overflows".into())))?;
        out.push(TimedEvent {
            ts,
            cpu: hdr.cpu,
            seq: hdr.seq,
            ev,
        });
    }
    if out.len() != hdr.nevents as usize {
        return Err(err(
            offset,
            ErrorKind::BadBatch(format!(
                "batch says {} events, holds {}",
                hdr.nevents,
                out.len()
            )),
        ));
    }
    Ok(out)
}

/// A batch of the index: where it is and what its header says.
#[derive(Clone, Copy, Debug)]
pub struct BatchInfo {
    /// Offset of the batch header in the stream.
    pub offset: u64,
    /// Batch length, its header included.
    pub len: u32,
    /// Its sequence number on its CPU.
    pub seq: u64,
    /// Its start time (events lost just before it happened before this).
    pub ts: u64,
    /// Events its CPU lost just before it.
    pub lost: u64,
}

/// A capture (a file, or any seekable reader) indexed for time-ordered
/// reading.
pub struct Timeline<R: Read + Seek = File> {
    file: R,                                       // the capture
    header: Header,                                // its header
    per_cpu: Vec<Vec<BatchInfo>>,                  // each CPU's batches, in stream order
    footer: Option<(FooterFixed, Vec<CpuTotals>)>, // the footer, if present
    tasks: HashMap<u32, TaskInfo>,                 // the last task record of each PID
    lost_in_batches: Vec<u64>,                     // per CPU, sum of batch `lost` fields
    cut: Option<Cut>,                              // where the stream ends early, if it does
    snapshot: Option<Snapshot>,                    // the snapshot record, for a snapshot
}

impl<R: Read + Seek> Timeline<R> {
    /// Indexes `file` (first pass). Fails on any malformed record.
    pub fn open(mut file: R) -> Result<Self, DecodeError> {
        file.seek(SeekFrom::Start(0))
            .map_err(|e| err(0, ErrorKind::Io(e)))?;
        let mut sr = StreamReader::new(BufReader::with_capacity(1 << 20, &mut file))?;
        let header = *sr.header();
        let n = header.nr_cpus as usize;
        let mut per_cpu = vec![Vec::new(); n];
        let mut tasks = HashMap::new();
        let mut lost_in_batches = vec![0u64; n];
        let mut footer = None;
        let mut cut = None;
        let mut snapshot = None;
        loop {
            match sr.next_record() {
                Ok(Some(Record::Batch {
                    offset,
                    hdr,
                    events,
                })) => {
                    for te in batch_events(offset, &hdr, &events)? {
                        if let Some((pid, task)) = TaskInfo::of(&te.ev) {
                            tasks.insert(pid, task);
                        }
                    }
                    per_cpu[hdr.cpu as usize].push(BatchInfo {
                        offset,
                        len: hdr.len,
                        seq: hdr.seq,
                        ts: hdr.ts,
                        lost: hdr.lost,
                    });
                    let l = &mut lost_in_batches[hdr.cpu as usize];
                    *l = l.saturating_add(hdr.lost);
                }
                Ok(Some(Record::Footer { fixed, cpus, .. })) => footer = Some((fixed, cpus)),
                Ok(Some(Record::Snapshot { snap, .. })) => snapshot = Some(snap),
                Ok(None) => break,
                // A stream cut short still holds every record before the
                // cut: decode those, and say where it was cut.
                Err(DecodeError {
                    kind: ErrorKind::Cut(c),
                    ..
                }) => {
                    cut = Some(c);
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        drop(sr);
        Ok(Timeline {
            file,
            header,
            per_cpu,
            footer,
            tasks,
            lost_in_batches,
            cut,
            snapshot,
        })
    }

    /// The snapshot record, when the capture is a flight recorder's
    /// snapshot.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// Where the stream was cut, if it ends before its footer. Every
    /// record before the cut is decoded.
    pub fn cut(&self) -> Option<&Cut> {
        self.cut.as_ref()
    }

    /// The stream header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The footer, if the stream has one.
    pub fn footer(&self) -> Option<&(FooterFixed, Vec<CpuTotals>)> {
        self.footer.as_ref()
    }

    /// The last name recorded for `pid` in the whole capture (for
    /// summaries; an event is named by [`crate::replay::Replay`]).
    pub fn name(&self, pid: u32) -> Option<&[u8]> {
        self.tasks.get(&pid).map(|t| t.name.as_slice())
    }

    /// Every PID with a task record, with its last one.
    pub fn tasks(&self) -> &HashMap<u32, TaskInfo> {
        &self.tasks
    }

    /// The batches of `cpu`, in stream order.
    pub fn batches(&self, cpu: usize) -> &[BatchInfo] {
        self.per_cpu.get(cpu).map(|v| v.as_slice()).unwrap_or(&[])
    }

    /// Events lost per CPU as the batch headers report them.
    pub fn lost_in_batches(&self) -> &[u64] {
        &self.lost_in_batches
    }

    /// Calls `f` on every event in time order (second pass).
    pub fn for_each<F: FnMut(&TimedEvent)>(&mut self, mut f: F) -> Result<(), DecodeError> {
        self.try_for_each(|te| {
            f(te);
            Ok(())
        })
    }

    /// Calls `f` on every event in time order until it fails (second
    /// pass); a decoding error ends the pass as well.
    pub fn try_for_each<E, F>(&mut self, mut f: F) -> Result<(), E>
    where
        E: From<DecodeError>,
        F: FnMut(&TimedEvent) -> Result<(), E>,
    {
        struct Lane {
            next_batch: usize,       // index in per_cpu of the next batch to load
            events: Vec<TimedEvent>, // the loaded batch
            pos: usize,              // next event in `events`
        }
        let mut lanes: Vec<Lane> = (0..self.per_cpu.len())
            .map(|_| Lane {
                next_batch: 0,
                events: Vec::new(),
                pos: 0,
            })
            .collect();
        // Min-heap of (ts, cpu) over the lanes' next events.
        let mut heap = BinaryHeap::new();
        for (cpu, lane) in lanes.iter_mut().enumerate() {
            if self.refill(&mut lane.next_batch, cpu, &mut lane.events)? {
                lane.pos = 0;
                heap.push(std::cmp::Reverse((lane.events[0].ts, cpu)));
            }
        }
        while let Some(std::cmp::Reverse((_, cpu))) = heap.pop() {
            let lane = &mut lanes[cpu];
            f(&lane.events[lane.pos])?;
            lane.pos += 1;
            if lane.pos == lane.events.len() {
                lane.pos = 0;
                if !self.refill(&mut lane.next_batch, cpu, &mut lane.events)? {
                    continue;
                }
            }
            heap.push(std::cmp::Reverse((lane.events[lane.pos].ts, cpu)));
        }
        Ok(())
    }

    /// Loads the next non-empty batch of `cpu` into `events`.
    fn refill(
        &mut self,
        next: &mut usize,
        cpu: usize,
        events: &mut Vec<TimedEvent>,
    ) -> Result<bool, DecodeError> {
        while let Some(loc) = self.per_cpu[cpu].get(*next).copied() {
            *next += 1;
            let mut buf = vec![0u8; loc.len as usize];
            self.file
                .seek(SeekFrom::Start(loc.offset))
                .and_then(|_| self.file.read_exact(&mut buf))
                .map_err(|e| err(loc.offset, ErrorKind::Io(e)))?;
            let hdr =
                BatchHeader::parse(&buf).map_err(|e| err(loc.offset, ErrorKind::Format(e)))?;
            *events = batch_events(loc.offset, &hdr, &buf[BATCH_HDR_LEN..])?;
            if !events.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Opens `path` for a [`Timeline`]; `-` copies standard input to a
/// temporary file first (the merge needs to seek).
pub fn open_input(path: &std::path::Path) -> anyhow::Result<File> {
    use anyhow::Context;
    if path.as_os_str() == "-" {
        let mut tmp = tempfile_in_tmp()?;
        io::copy(&mut io::stdin().lock(), &mut tmp).context("copying standard input")?;
        tmp.seek(SeekFrom::Start(0))?;
        Ok(tmp)
    } else {
        File::open(path).with_context(|| format!("opening {}", path.display()))
    }
}

/// An anonymous temporary file (unlinked at once).
fn tempfile_in_tmp() -> anyhow::Result<File> {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("rtdecode-{}.tmp", std::process::id()));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(f)
}

/// Task name for display: the recorded name, `<idle>` for PID 0, else `<...>`.
pub fn display_name(name: Option<&[u8]>, pid: u32) -> String {
    match name {
        _ if pid == 0 => "<idle>".to_string(),
        Some(n) => String::from_utf8_lossy(n).into_owned(),
        None => "<...>".to_string(),
    }
}
