//! rtdecode: reads the stream `cat /dev/rust_trace` writes.
//!
//! The format itself is `format.rs` at the top of the repository, compiled
//! here as [`format`] exactly as the kernel module compiles it, so the
//! decoder and the module cannot disagree on a constant.
//!
//! - [`stream`]: a streaming parser of records (header, batches, footer) that
//!   keeps one batch in memory at a time, and [`stream::Timeline`], which
//!   merges the per-CPU event streams of a file by time;
//! - [`validate`]: every rule of the format, with byte offsets;
//! - [`stats`]: per-CPU and per-task statistics and wakeup latencies;
//! - [`report`]: one line per event;
//! - [`perfetto`]: Perfetto protobuf and Chrome JSON export;
//! - [`record`]: `rtdecode record`, a capture around a command;
//! - [`explain`]: why a woken task did not run at once.

pub mod explain;
#[path = "../../../format.rs"]
#[allow(clippy::all)]
pub mod format;

pub mod ftrace;
pub mod perfetto;
pub mod progress;
pub mod record;
pub mod replay;
pub mod report;
pub mod stats;
pub mod stream;
pub mod validate;
