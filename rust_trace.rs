// SPDX-License-Identifier: GPL-2.0

//! rust_trace: a scheduler tracer with per-CPU vmalloc'd buffers and a
//! blocking reader on `/dev/rust_trace`.
//!
//! The crate root: the module list, the module parameters' checks and the
//! module state. The design lives in the files:
//!
//! - `format.rs`: the stream format, shared with the userspace decoder;
//! - `bufpool.rs`: per-CPU buffer pools, raw buffer handles, the lock-free
//!   empty stacks and full queue, the event write path;
//! - `probes.rs`: the scheduler tracepoint probes and their registration;
//! - `filter.rs`: which tasks and event types the probes record;
//! - `flight.rs`: the flight recorder: rings, consistent snapshots;
//! - `pidset.rs`: the lock-free PID bitmap of task names and the PID filter;
//! - `session.rs`: start, stop, flush and the blocking reader;
//! - `chardev.rs`: the misc device and its file operations;
//! - `microbench.rs`: the write path's microbenchmark
//!   (`RUST_TRACE_IOC_MICROBENCH`), built only with `make MICROBENCH=1`;
//! - `helpers.rs` and `helpers.c`: what the 6.12 `kernel` crate lacks, and
//!   the check of the bindgen layouts the module trusts.
//!
//! Module parameters (`modinfo rust_trace.ko`): `buf_size` (bytes per
//! buffer, power of two, 4 KiB..4 MiB, default 64 KiB), `nr_bufs` (buffers
//! per possible CPU, 2..1024, default 8), `flush_ms` (periodic flush, 0 =
//! off, default 1000), `flight` (1: flight recording from load, default 0),
//! `flight_gen_ms` (flight recording's generation period, 1..10000,
//! default 100).

use kernel::prelude::*;

mod bufpool;
mod chardev;
mod filter;
mod flight;
#[expect(
    dead_code,
    unreachable_pub,
    reason = "shared with the userspace decoder, which uses every item as a public API"
)]
mod format;
mod helpers;
#[cfg(rust_trace_microbench)]
mod microbench;
mod pidset;
mod probes;
mod session;
mod trigger;

module! {
    type: RustTrace,
    name: "rust_trace",
    author: "rust_trace developers",
    description: "Scheduler tracer: per-CPU buffers, streamed on /dev/rust_trace",
    license: "GPL",
}

/// Checks a module parameter; on error names it and its range in dmesg.
fn check_param(name: &str, v: u32, min: u32, max: u32, pow2: bool) -> Result<usize> {
    if v < min || v > max || (pow2 && !v.is_power_of_two()) {
        pr_err!(
            "{}={} out of range: {}{}..{}\n",
            name,
            v,
            if pow2 { "a power of two, " } else { "" },
            min,
            max
        );
        return Err(EINVAL);
    }
    Ok(v as usize)
}

/// The module state.
///
/// Fields are dropped in declaration order: the device goes first (no new
/// open; none is open, each holds a module reference), then the hotplug
/// state (no CPU gets buffers after), then the tracer, whose drop detaches
/// any probe and waits for its deferred works before the buffers are freed.
struct RustTrace {
    _dev: chardev::Registration,         // /dev/rust_trace
    _hotplug: bufpool::HotplugReg,       // gives CPUs coming online their buffers
    _tracer: Pin<KBox<session::Tracer>>, // buffers, probes, session
}

impl kernel::Module for RustTrace {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        helpers::check_layouts()?;
        // SAFETY: module parameters are set before init() and read-only (0444).
        let (bs, nb) = unsafe {
            (
                helpers::rust_trace_param_buf_size,
                helpers::rust_trace_param_nr_bufs,
            )
        };
        let buf_size = check_param("buf_size", bs, 4096, 4 << 20, true)?;
        let nr_bufs = check_param("nr_bufs", nb, 2, 1024, false)?;
        check_param("flush_ms", helpers::param_flush_ms(), 0, 60_000, false)?;
        // SAFETY: `nr_cpu_ids` is set at boot and never changes after.
        let nr_cpus = unsafe { kernel::bindings::nr_cpu_ids } as usize;
        let tracer = session::Tracer::new(nr_cpus, buf_size, nr_bufs)?;
        // Every online CPU's buffers now, each other CPU's when it first
        // comes online.
        // SAFETY: the module's one tracer, pinned, dropped after `hotplug`
        // (field order).
        let hotplug = unsafe { tracer.follow_hotplug()? };
        // SAFETY: read-only (0444) module parameter.
        let flight = unsafe { helpers::rust_trace_param_flight };
        check_param("flight", flight, 0, 1, false)?;
        let gen_ms = helpers::param_flight_gen_ms();
        check_param("flight_gen_ms", gen_ms, 1, 10_000, false)?;
        if flight == 1 {
            tracer.flight(gen_ms)?;
        }
        // The device goes live last, and nothing after it may fail: from
        // misc_register() on, an open takes a module reference (which
        // succeeds while the module is still loading), and a failed init
        // would free the module under that open file.
        // SAFETY: the tracer is dropped after the registration (field order).
        let dev = unsafe { chardev::Registration::new(&tracer)? };
        pr_info!(
            "loaded: {} CPU ids, {} online; {} x {} KiB buffers per online CPU, {} KiB in all\n",
            nr_cpus,
            tracer.cpus_with_buffers(),
            nr_bufs,
            buf_size / 1024,
            tracer.memory() / 1024
        );
        Ok(RustTrace {
            _dev: dev,
            _hotplug: hotplug,
            _tracer: tracer,
        })
    }
}

impl Drop for RustTrace {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
