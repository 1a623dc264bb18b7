// SPDX-License-Identifier: GPL-2.0

//! What the 6.12 `kernel` crate lacks, reached from Rust: the Rust half of
//! the C glue, whose other half is `helpers.c` (declared in `helpers.h`).
//!
//! Two kinds of foreign functions:
//!
//! - GPL exports of the kernel that bindgen did not pick up for the 6.12
//!   `kernel` crate: `local_clock()` and the tracepoint registry;
//! - the functions of `helpers.c`: macros, static inlines and C-only
//!   objects (module parameters, the misc device, the irq_work and the
//!   delayed work), in sections named after the Rust file they serve, in
//!   the same order here and there.
//!
//! # The bindgen layouts the module trusts
//!
//! Rust embeds or reads a few C structures through `kernel::bindings`:
//!
//! | structure                | how Rust uses it                              |
//! |--------------------------|-----------------------------------------------|
//! | `struct wait_queue_head` | embedded in the tracer (`session::WaitQueue`) |
//! | `struct wait_queue_entry`| on the stack of a sleeping reader             |
//! | `struct tracepoint`      | its `name` is read to find the sched events    |
//! | `struct file_operations` | the device's table is built in Rust (`chardev.rs`) |
//!
//! bindgen's idea of a layout can differ from the C compiler's (on this
//! toolchain it does for `struct task_struct`, which Rust therefore reads
//! at offsets the C compiler reports, [`TaskLayout`]). [`check_layouts`]
//! compares each of these with the C compiler's `sizeof`, `_Alignof` and
//! `offsetof`, and the stream constants and ioctl structures the uapi
//! header gives C with `format.rs` and `chardev.rs`; the module refuses to
//! load on any difference.
//!
//! Context: everything here is callable from process context; the functions
//! marked "any context" are the ones the probes use.

use core::mem::{align_of, offset_of, size_of};

use kernel::bindings;
use kernel::ffi::{c_char, c_int, c_uint, c_ulong, c_void};
use kernel::prelude::*;

use crate::format::{FOOTER_CPU_LEN, FOOTER_FIXED_LEN, HEADER_LEN};

/// What an open file of the device holds (`struct rust_trace_opener`,
/// made at `open`): the tracer, and the opener's PID and cgroup
/// namespaces, in which the file's writes name PIDs and cgroup paths
/// whoever writes (cgroup.c stores the namespace at open, "to protect
/// against inherited fd attacks"). Opaque here; C reads it.
#[repr(C)]
pub(crate) struct Opener {
    _opaque: [u8; 0], // defined in helpers.c
}

// Kernel exports without a binding: include/linux/sched/clock.h,
// include/linux/tracepoint.h.
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
    /// The module itself, made by modpost (the `module!` macro declares it
    /// the same way); for the `owner` of the device's file operations.
    pub(crate) static __this_module: kernel::types::Opaque<bindings::module>;
}

/// The CPU and IRQ state of the write path, inline.
///
/// `smp_processor_id()` and `local_irq_save()` are macros and static
/// inlines that C compiles to a few instructions: a `%gs`-relative load,
/// `pushf; pop; cli`. Called through `helpers.c` they cost a call, a
/// return and the spills around them on every event (about 20
/// instructions in all, measured with the microbenchmark). Where those
/// macros are plain instructions (x86-64 SMP without Xen PV's paravirt
/// IRQ operations) this module emits the same instructions; elsewhere, and
/// where lockdep traces IRQ state (`CONFIG_TRACE_IRQFLAGS`, which must see
/// every IRQ disable), it calls the C helpers.
#[cfg(all(
    CONFIG_X86_64,
    CONFIG_SMP,
    not(CONFIG_PARAVIRT_XXL),
    not(CONFIG_TRACE_IRQFLAGS)
))]
pub(crate) mod cpu {
    use kernel::ffi::{c_uint, c_ulong};

    extern "C" {
        /// `struct pcpu_hot` of `arch/x86/include/asm/current.h`, a
        /// per-CPU variable (its address is an offset from `%gs`);
        /// `helpers.c` asserts that `cpu_number` is at byte
        /// [`PCPU_HOT_CPU_NUMBER`].
        static pcpu_hot: u8;
    }

    /// Offset of `cpu_number` in `struct pcpu_hot`.
    const PCPU_HOT_CPU_NUMBER: usize = 12;

    /// `raw_smp_processor_id()`: `this_cpu_read(pcpu_hot.cpu_number)`.
    ///
    /// # Safety
    ///
    /// Preemption or IRQs are off (else the CPU may change at once).
    #[inline(always)]
    pub(crate) unsafe fn this_cpu() -> c_uint {
        let cpu: u32;
        // SAFETY: a load from this CPU's `pcpu_hot`, which every
        // possible CPU has; `%gs` is the per-CPU base in the kernel.
        unsafe {
            core::arch::asm!(
                "mov {cpu:e}, dword ptr gs:[rip + {hot} + {off}]",
                cpu = out(reg) cpu,
                hot = sym pcpu_hot,
                off = const PCPU_HOT_CPU_NUMBER,
                options(nostack, readonly, preserves_flags),
            )
        };
        cpu
    }

    /// `raw_local_irq_save()`: `pushf; pop; cli`. Any context.
    ///
    /// # Safety
    ///
    /// The result is given back to [`irq_restore`] on this CPU.
    #[inline(always)]
    pub(crate) unsafe fn irq_save() -> c_ulong {
        let flags: c_ulong;
        // SAFETY: saves RFLAGS and disables IRQs on this CPU, which the
        // kernel allows in any context; no `nomem`: the compiler keeps
        // memory accesses on their side of it, as `barrier()` does.
        unsafe { core::arch::asm!("pushfq", "pop {f}", "cli", f = out(reg) flags) };
        flags
    }

    /// `raw_local_irq_restore()`: `sti` if IRQs were on at the save.
    ///
    /// # Safety
    ///
    /// `flags` is what [`irq_save`] returned on this CPU.
    #[inline(always)]
    pub(crate) unsafe fn irq_restore(flags: c_ulong) {
        /// `X86_EFLAGS_IF`.
        const IF: c_ulong = 1 << 9;
        if flags & IF != 0 {
            // SAFETY: IRQs were on when `flags` was saved; as above.
            unsafe { core::arch::asm!("sti") };
        }
    }
}

/// The same through `helpers.c`, where the inline forms do not apply.
#[cfg(not(all(
    CONFIG_X86_64,
    CONFIG_SMP,
    not(CONFIG_PARAVIRT_XXL),
    not(CONFIG_TRACE_IRQFLAGS)
)))]
pub(crate) mod cpu {
    use kernel::ffi::{c_uint, c_ulong};

    /// `smp_processor_id()` through `helpers.c`.
    ///
    /// # Safety
    ///
    /// Preemption or IRQs are off.
    #[inline(always)]
    pub(crate) unsafe fn this_cpu() -> c_uint {
        // SAFETY: by the caller's contract.
        unsafe { super::rust_trace_smp_processor_id() }
    }

    /// `local_irq_save()` through `helpers.c`.
    ///
    /// # Safety
    ///
    /// The result is given back to [`irq_restore`] on this CPU.
    #[inline(always)]
    pub(crate) unsafe fn irq_save() -> c_ulong {
        // SAFETY: always allowed.
        unsafe { super::rust_trace_irq_save() }
    }

    /// `local_irq_restore()` through `helpers.c`.
    ///
    /// # Safety
    ///
    /// `flags` is what [`irq_save`] returned on this CPU.
    #[inline(always)]
    pub(crate) unsafe fn irq_restore(flags: c_ulong) {
        // SAFETY: by the caller's contract.
        unsafe { super::rust_trace_irq_restore(flags) }
    }
}

/// `flush_ms=`, now: `READ_ONCE()`, as sysfs may store it at any moment
/// (the parameter is 0644).
pub(crate) fn param_flush_ms() -> c_uint {
    // SAFETY: a live static of the module; a volatile read of an aligned
    // `unsigned int` is what READ_ONCE() does.
    unsafe { core::ptr::read_volatile(&raw const rust_trace_param_flush_ms) }
}

/// `flight_gen_ms=`, now: `READ_ONCE()` (0644, like `flush_ms=`).
pub(crate) fn param_flight_gen_ms() -> c_uint {
    // SAFETY: as in `param_flush_ms`.
    unsafe { core::ptr::read_volatile(&raw const rust_trace_param_flight_gen_ms) }
}

// helpers.c, section by section.
#[allow(
    improper_ctypes,
    reason = "only pointers to these C structures cross; kernel::bindings allows the same"
)]
extern "C" {
    // rust_trace.rs: the module parameters (module_param() has no Rust
    // form in 6.12) and the layouts the C compiler sees.

    /// `buf_size=` module parameter.
    pub(crate) static rust_trace_param_buf_size: c_uint;
    /// `nr_bufs=` module parameter.
    pub(crate) static rust_trace_param_nr_bufs: c_uint;
    /// `flush_ms=` module parameter (0644: read it with [`param_flush_ms`]).
    static rust_trace_param_flush_ms: c_uint;
    /// `flight=` module parameter: 1 starts flight recording at load.
    pub(crate) static rust_trace_param_flight: c_uint;
    /// `flight_gen_ms=` module parameter (0644: read it with
    /// [`param_flight_gen_ms`]).
    static rust_trace_param_flight_gen_ms: c_uint;
    /// Fills in the C compiler's sizes and offsets (see [`check_layouts`]).
    fn rust_trace_layouts(l: *mut Layouts);

    // bufpool.rs: CPU and IRQ state (macros and static inlines), and the
    // reader's wake-up (`struct irq_work` has no binding). The first three
    // are called through `cpu`, only where it has no inline form.

    /// `smp_processor_id()`: preemption must be off. Any context.
    #[allow(dead_code, reason = "unused where `cpu` has its inline form")]
    pub(crate) fn rust_trace_smp_processor_id() -> c_uint;
    /// `local_irq_save()`. Any context.
    #[allow(dead_code, reason = "unused where `cpu` has its inline form")]
    pub(crate) fn rust_trace_irq_save() -> c_ulong;
    /// `local_irq_restore()`. Any context.
    #[allow(dead_code, reason = "unused where `cpu` has its inline form")]
    pub(crate) fn rust_trace_irq_restore(flags: c_ulong);
    /// Queues the reader-wake irq_work on this CPU. Any context, NMI included.
    pub(crate) fn rust_trace_irq_work_queue();
    /// `lockdep_assert_irqs_disabled()`: a lockdep warning if IRQs are on.
    /// Any context.
    #[cfg(CONFIG_PROVE_LOCKING)]
    pub(crate) fn rust_trace_assert_irqs_off();

    // probes.rs: the task fields the probes read (bindgen's task_struct is
    // wrong here), a task's cgroup and its threads (static inlines and a
    // macro, under RCU) and tracepoint_synchronize_unregister() (static
    // inline).

    /// Fills in the offsets of the task fields the probes read.
    pub(crate) fn rust_trace_task_layout(l: *mut TaskLayout);
    /// The cgroup v2 id of `p` (0 without cgroups): `cgroup_id(task_dfl_cgroup(p))`.
    /// Any context.
    pub(crate) fn rust_trace_task_cgroup_id(p: *const bindings::task_struct) -> u64;
    /// Calls `f(ctx, pid)` for `p`, or, if `all`, for every thread of its
    /// thread group (`for_each_thread()` under RCU). Any context.
    pub(crate) fn rust_trace_for_each_thread(
        p: *mut bindings::task_struct,
        all: bool,
        f: unsafe extern "C" fn(ctx: *mut c_void, pid: c_uint),
        ctx: *mut c_void,
    );
    /// `tracepoint_synchronize_unregister()`: waits for running probes. May sleep.
    pub(crate) fn rust_trace_tracepoint_sync();

    // filter.rs: PIDs in the writer's namespace, cgroup lookup, references
    // and ancestry (static inlines), the walk over every task (a macro).

    /// The global PID of the task (or, with `tgid`, the process) that is
    /// `nr` in the PID namespace of `o`'s opener; `-ESRCH` if there is none.
    pub(crate) fn rust_trace_pid_resolve(o: *const Opener, nr: c_int, tgid: bool) -> c_int;
    /// The cgroup v2 directory at `path` from the root of the cgroup
    /// namespace of `o`'s opener: on success stores it, with a reference
    /// taken, in `out` and returns 0; else `-ENOENT` (also for an opener's
    /// root the caller cannot see), `-ENOTDIR`, `-ENAMETOOLONG`, `-ENOMEM`
    /// or `-EOPNOTSUPP` (no cgroups). May sleep.
    pub(crate) fn rust_trace_cgroup_lookup(
        o: *const Opener,
        path: *const c_char,
        out: *mut *mut bindings::cgroup,
    ) -> c_int;
    /// `cgroup_get()`: one more reference.
    pub(crate) fn rust_trace_cgroup_get(cgrp: *mut bindings::cgroup);
    /// `cgroup_put()`: drops a reference. Any context.
    pub(crate) fn rust_trace_cgroup_put(cgrp: *mut bindings::cgroup);
    /// `cgroup_id()`.
    pub(crate) fn rust_trace_cgroup_id(cgrp: *mut bindings::cgroup) -> u64;
    /// Whether `p` is in `anc` or below (`cgroup_is_descendant()` of its
    /// cgroup v2, under RCU). Any context.
    pub(crate) fn rust_trace_task_in_cgroup(
        p: *const bindings::task_struct,
        anc: *mut bindings::cgroup,
    ) -> bool;
    /// Calls `add(ctx, pid)` for every task that `in_set(ctx, pid)` holds
    /// for itself or an ancestor (a thread's parent being its group
    /// leader): one pass over the tasks, under RCU with a reschedule point
    /// every 1,024. Process context; may sleep.
    pub(crate) fn rust_trace_add_descendants(
        in_set: unsafe extern "C" fn(ctx: *mut c_void, pid: c_uint) -> bool,
        add: unsafe extern "C" fn(ctx: *mut c_void, pid: c_uint),
        ctx: *mut c_void,
    );

    // bufpool.rs: the CPU hotplug state giving CPUs their buffers.

    /// `cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "rust_trace:online", online,
    /// NULL)`: calls `online` for every online CPU now and for each CPU
    /// coming online later, in its hotplug thread. The state number, or a
    /// negative error. Process context, may sleep.
    pub(crate) fn rust_trace_cpuhp_setup(
        online: unsafe extern "C" fn(cpu: c_uint) -> c_int,
    ) -> c_int;
    /// `cpuhp_remove_state(state)`: no callback of it runs after it
    /// returns. Process context, may sleep.
    pub(crate) fn rust_trace_cpuhp_remove(state: c_int);

    // flight.rs: a short sleep.

    /// `usleep_range(us, us + us / 2)`: sleeps on an hrtimer. Process
    /// context.
    pub(crate) fn rust_trace_usleep(us: c_ulong);

    // trigger.rs: the waking task and its context (macros), and the
    // delayed work of a triggered snapshot.

    /// `current`. Any context.
    pub(crate) fn rust_trace_current() -> *mut bindings::task_struct;
    /// Whether the `sched_waking` of `p` starts a wait that ends at a
    /// switch-in: `p` is not `current` and not on a runqueue (either way
    /// `try_to_wake_up()` makes it runnable in place, and no switch-in
    /// follows). Called under `p->pi_lock`, which keeps `on_rq` from
    /// turning 1, or for `p == current`. Any context.
    pub(crate) fn rust_trace_waking_starts_wait(p: *const bindings::task_struct) -> bool;
    /// Bit 0: in hard IRQ context; bit 1: serving a softirq. Any context.
    pub(crate) fn rust_trace_irq_context() -> c_uint;
    /// Sets the function the trigger's delayed work calls, with `ctx`.
    pub(crate) fn rust_trace_trigger_work_init(
        f: unsafe extern "C" fn(ctx: *mut c_void),
        ctx: *mut c_void,
    );
    /// Runs the trigger's work `ms` milliseconds from now (unless queued
    /// already). Any context but NMI (it arms a timer).
    pub(crate) fn rust_trace_trigger_work_start(ms: c_uint);
    /// Cancels the trigger's work and waits for it to finish. May sleep.
    pub(crate) fn rust_trace_trigger_work_cancel();

    // session.rs: the irq_work's and the periodic flush's C objects,
    // cpu_online() and init_waitqueue_head() (macros).

    /// Sets the function the reader-wake irq_work calls, with `ctx`.
    pub(crate) fn rust_trace_irq_work_init(
        f: unsafe extern "C" fn(ctx: *mut c_void),
        ctx: *mut c_void,
    );
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
    /// `cpu_online()`.
    pub(crate) fn rust_trace_cpu_online(cpu: c_uint) -> bool;
    /// `init_waitqueue_head()`.
    pub(crate) fn rust_trace_init_waitqueue_head(wq: *mut bindings::wait_queue_head);

    // chardev.rs: the misc device (`struct miscdevice` has no binding), the
    // file fields it reads (FMODE_READ and O_NONBLOCK are cast macros) and
    // poll_wait() (static inline).

    /// Registers /dev/rust_trace with the operations `fops`.
    pub(crate) fn rust_trace_misc_register(fops: *const bindings::file_operations) -> c_int;
    /// Removes /dev/rust_trace.
    pub(crate) fn rust_trace_misc_deregister();
    /// `file->f_mode & FMODE_READ`.
    pub(crate) fn rust_trace_file_readable(file: *const bindings::file) -> bool;
    /// `file->f_flags & O_NONBLOCK`.
    pub(crate) fn rust_trace_file_nonblock(file: *const bindings::file) -> bool;
    /// Makes `file`'s [`Opener`]: `tracer` and the caller's PID and cgroup
    /// namespaces (references taken). 0 or `-ENOMEM`. May sleep.
    pub(crate) fn rust_trace_file_open(file: *mut bindings::file, tracer: *mut c_void) -> c_int;
    /// Frees `file`'s [`Opener`] and drops its references.
    pub(crate) fn rust_trace_file_close(file: *mut bindings::file);
    /// The tracer of `file`'s [`Opener`].
    pub(crate) fn rust_trace_file_private(file: *const bindings::file) -> *mut c_void;
    /// `file`'s [`Opener`], valid until the file is released.
    pub(crate) fn rust_trace_file_opener(file: *const bindings::file) -> *const Opener;
    /// `poll_wait()`.
    pub(crate) fn rust_trace_poll_wait(
        file: *mut bindings::file,
        wq: *mut bindings::wait_queue_head,
        pt: *mut bindings::poll_table_struct,
    );

    // microbench.rs (`make MICROBENCH=1` only): static inlines.

    /// `preempt_disable()`.
    #[cfg(rust_trace_microbench)]
    pub(crate) fn rust_trace_preempt_disable();
    /// `preempt_enable()`.
    #[cfg(rust_trace_microbench)]
    pub(crate) fn rust_trace_preempt_enable();
    /// `cond_resched()`. Process context.
    #[cfg(rust_trace_microbench)]
    pub(crate) fn rust_trace_cond_resched();
    /// `fatal_signal_pending(current)`.
    #[cfg(rust_trace_microbench)]
    pub(crate) fn rust_trace_fatal_signal_pending() -> bool;
}

/// Offsets of `struct task_struct` fields, from the C compiler
/// (`struct rust_trace_task_layout`). bindgen's layout of `task_struct` is
/// wrong on this toolchain (16 bytes off at `pid`), so the probes use these.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct TaskLayout {
    /// `pid` (`pid_t`).
    pub(crate) pid: usize,
    /// `tgid` (`pid_t`).
    pub(crate) tgid: usize,
    /// `comm` (`char[16]`).
    pub(crate) comm: usize,
    /// `exit_state` (`int`).
    pub(crate) exit_state: usize,
    /// `thread_info.cpu` (`u32`): `task_cpu()`.
    pub(crate) cpu: usize,
}

/// What the C compiler says of the layouts Rust trusts, and of the uapi
/// header (`struct rust_trace_layouts`, filled in by helpers.c), in the
/// order of [`expected_layouts`].
#[repr(C)]
#[derive(Default)]
struct Layouts {
    values: [usize; NR_LAYOUTS], // see LAYOUT_NAMES
}

/// Number of facts compared.
const NR_LAYOUTS: usize = 18;

/// What each fact of [`Layouts`] is, for the error message.
const LAYOUT_NAMES: [&str; NR_LAYOUTS] = [
    "sizeof(struct wait_queue_head)",
    "_Alignof(struct wait_queue_head)",
    "sizeof(struct wait_queue_entry)",
    "_Alignof(struct wait_queue_entry)",
    "offsetof(struct tracepoint, name)",
    "sizeof(struct file_operations)",
    "offsetof(struct file_operations, owner)",
    "offsetof(struct file_operations, read)",
    "offsetof(struct file_operations, write)",
    "offsetof(struct file_operations, poll)",
    "offsetof(struct file_operations, unlocked_ioctl)",
    "offsetof(struct file_operations, open)",
    "offsetof(struct file_operations, release)",
    "RUST_TRACE_HEADER_LEN",
    "RUST_TRACE_FOOTER_FIXED_LEN",
    "RUST_TRACE_FOOTER_CPU_LEN",
    "sizeof(struct rust_trace_stats)",
    "RUST_TRACE_IOC_STATS",
];

/// The same facts as Rust sees them: bindgen's layouts, `format.rs` and the
/// ioctl of `chardev.rs`. (The microbenchmark's ioctl structure, built on
/// request only, is pinned by a static assertion on each side.)
fn expected_layouts() -> [usize; NR_LAYOUTS] {
    use bindings::{file_operations as Fops, tracepoint, wait_queue_entry, wait_queue_head};
    [
        size_of::<wait_queue_head>(),
        align_of::<wait_queue_head>(),
        size_of::<wait_queue_entry>(),
        align_of::<wait_queue_entry>(),
        offset_of!(tracepoint, name),
        size_of::<Fops>(),
        offset_of!(Fops, owner),
        offset_of!(Fops, read),
        offset_of!(Fops, write),
        offset_of!(Fops, poll),
        offset_of!(Fops, unlocked_ioctl),
        offset_of!(Fops, open),
        offset_of!(Fops, release),
        HEADER_LEN,
        FOOTER_FIXED_LEN,
        FOOTER_CPU_LEN,
        size_of::<crate::chardev::RustTraceStats>(),
        crate::chardev::RUST_TRACE_IOC_STATS as usize,
    ]
}

/// Compares the layouts Rust trusts with the C compiler's, and the uapi
/// header with `format.rs` and the ioctl structures: `EINVAL`, with a
/// dmesg line naming each difference, if any differs. May sleep.
pub(crate) fn check_layouts() -> Result {
    let mut c = Layouts::default();
    // SAFETY: `c` is valid for writing a `struct rust_trace_layouts`, which
    // has the same layout (NR_LAYOUTS size_t values, static_assert in C).
    unsafe { rust_trace_layouts(&mut c) };
    let rust = expected_layouts();
    let mut ok = true;
    for ((name, &want), &got) in LAYOUT_NAMES.iter().zip(rust.iter()).zip(c.values.iter()) {
        if want != got {
            pr_err!("{name}: {got} for the C compiler, {want} for Rust: refusing to load\n");
            ok = false;
        }
    }
    if ok {
        Ok(())
    } else {
        Err(EINVAL)
    }
}
