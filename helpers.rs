// SPDX-License-Identifier: GPL-2.0

//! Foreign functions rust_trace calls that `kernel::bindings` lacks.
//!
//! Two kinds: GPL exports of the kernel that bindgen did not pick up for the
//! 6.12 `kernel` crate (`local_clock`, the tracepoint registry), and the
//! wrappers of `helpers.c` (macros, static inlines and C-only objects;
//! see that file). The signatures are copied from the 6.12
//! headers named beside each group; `helpers.h` declares the C side.
//!
//! Context: everything here is callable from process context; the functions
//! marked "any context" are the ones the probes use.

use kernel::bindings;
use kernel::ffi::{c_char, c_int, c_uint, c_ulong, c_void};

// include/linux/sched/clock.h, include/linux/tracepoint.h
// `allow`, not `expect`: whether a structure trips the lint depends on the
// kernel configuration (the debug kernel's `struct module` does not).
#[allow(
    improper_ctypes,
    reason = "only pointers to these C structures cross; kernel::bindings allows the same"
)]
extern "C" {
    /// Per-CPU monotonic nanoseconds (sched_clock based). Any context.
    pub(crate) fn local_clock() -> u64;
    /// Calls `fct` for every tracepoint of the core kernel.
    pub(crate) fn for_each_kernel_tracepoint(
        fct: unsafe extern "C" fn(tp: *mut bindings::tracepoint, data: *mut c_void),
        data: *mut c_void,
    );
    /// Attaches `probe` (with `data` as its first argument) to `tp`.
    pub(crate) fn tracepoint_probe_register(
        tp: *mut bindings::tracepoint,
        probe: *mut c_void,
        data: *mut c_void,
    ) -> c_int;
    /// Detaches what `tracepoint_probe_register` attached.
    pub(crate) fn tracepoint_probe_unregister(
        tp: *mut bindings::tracepoint,
        probe: *mut c_void,
        data: *mut c_void,
    ) -> c_int;
}

// helpers.c
// `allow`, not `expect`: whether a structure trips the lint depends on the
// kernel configuration (the debug kernel's `struct module` does not).
#[allow(
    improper_ctypes,
    reason = "only pointers to these C structures cross; kernel::bindings allows the same"
)]
extern "C" {
    /// `buf_size=` module parameter.
    pub(crate) static rust_trace_param_buf_size: c_uint;
    /// `nr_bufs=` module parameter.
    pub(crate) static rust_trace_param_nr_bufs: c_uint;
    /// `flush_ms=` module parameter (writable at run time: read it once).
    pub(crate) static rust_trace_param_flush_ms: c_uint;

    /// Registers /dev/rust_trace (its operations are chardev.rs's functions).
    pub(crate) fn rust_trace_misc_register() -> c_int;
    /// Removes /dev/rust_trace.
    pub(crate) fn rust_trace_misc_deregister();

    /// Sets the function the reader-wake irq_work calls, with `ctx`.
    pub(crate) fn rust_trace_irq_work_init(
        f: unsafe extern "C" fn(ctx: *mut c_void),
        ctx: *mut c_void,
    );
    /// Queues the irq_work on this CPU. Any context, NMI included.
    pub(crate) fn rust_trace_irq_work_queue();
    /// Waits until the irq_work is not running anywhere.
    pub(crate) fn rust_trace_irq_work_sync();

    /// Sets the function the periodic flush work calls, with `ctx`.
    pub(crate) fn rust_trace_flush_work_init(
        f: unsafe extern "C" fn(ctx: *mut c_void),
        ctx: *mut c_void,
    );
    /// Starts the periodic flush every `ms` milliseconds.
    pub(crate) fn rust_trace_flush_work_start(ms: c_uint);
    /// Stops the periodic flush and waits for a running one to finish.
    pub(crate) fn rust_trace_flush_work_cancel();

    /// `preempt_disable()`. Benchmark build only.
    #[cfg(rust_trace_microbench)]
    pub(crate) fn rust_trace_preempt_disable();
    /// `preempt_enable()`. Benchmark build only.
    #[cfg(rust_trace_microbench)]
    pub(crate) fn rust_trace_preempt_enable();
    /// `smp_processor_id()`: preemption must be off. Any context.
    pub(crate) fn rust_trace_smp_processor_id() -> c_uint;
    /// `local_irq_save()`. Any context.
    pub(crate) fn rust_trace_irq_save() -> c_ulong;
    /// `local_irq_restore()`. Any context.
    pub(crate) fn rust_trace_irq_restore(flags: c_ulong);
    /// `cpu_possible()`.
    pub(crate) fn rust_trace_cpu_possible(cpu: c_uint) -> bool;
    /// `cpu_online()`.
    pub(crate) fn rust_trace_cpu_online(cpu: c_uint) -> bool;
    /// `cond_resched()`. Process context. Benchmark build only.
    #[cfg(rust_trace_microbench)]
    pub(crate) fn rust_trace_cond_resched();
    /// `fatal_signal_pending(current)`. Benchmark build only.
    #[cfg(rust_trace_microbench)]
    pub(crate) fn rust_trace_fatal_signal_pending() -> bool;
    /// `tracepoint_synchronize_unregister()`: waits for running probes. May sleep.
    pub(crate) fn rust_trace_tracepoint_sync();

    /// Fills in the offsets of the task fields the probes read.
    pub(crate) fn rust_trace_task_layout(l: *mut TaskLayout);
    /// `file->f_mode & FMODE_READ`.
    pub(crate) fn rust_trace_file_readable(file: *const bindings::file) -> bool;
    /// `file->f_flags & O_NONBLOCK`.
    pub(crate) fn rust_trace_file_nonblock(file: *const bindings::file) -> bool;
    /// `file->private_data`.
    pub(crate) fn rust_trace_file_private(file: *const bindings::file) -> *mut c_void;
    /// `file->private_data = data`.
    pub(crate) fn rust_trace_file_set_private(file: *mut bindings::file, data: *mut c_void);

    /// `init_waitqueue_head()`.
    pub(crate) fn rust_trace_init_waitqueue_head(wq: *mut bindings::wait_queue_head);
    /// `poll_wait()`.
    pub(crate) fn rust_trace_poll_wait(
        file: *mut bindings::file,
        wq: *mut bindings::wait_queue_head,
        pt: *mut bindings::poll_table_struct,
    );
}

/// Offsets of `struct task_struct` fields, from the C compiler
/// (`struct rust_trace_task_layout`). bindgen's layout of `task_struct` is wrong on
/// this toolchain (16 bytes off at `pid`), so the probes use these.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct TaskLayout {
    /// `pid` (`pid_t`).
    pub(crate) pid: usize,
    /// `comm` (`char[16]`).
    pub(crate) comm: usize,
    /// `exit_state` (`int`).
    pub(crate) exit_state: usize,
    /// `thread_info.cpu` (`u32`): `task_cpu()`.
    pub(crate) cpu: usize,
}

/// Compares a C string with a byte string (no NUL in `want`).
///
/// # Safety
///
/// `s` must point to a NUL-terminated string.
pub(crate) unsafe fn cstr_eq(s: *const c_char, want: &[u8]) -> bool {
    for (i, &w) in want.iter().enumerate() {
        // SAFETY: the string is NUL-terminated and every byte before index
        // `i` matched a non-NUL byte of `want`, so index `i` is in bounds.
        if unsafe { *s.add(i) } != w {
            return false;
        }
    }
    // SAFETY: as above, index `want.len()` is within the string or its NUL.
    unsafe { *s.add(want.len()) == 0 }
}
