// SPDX-License-Identifier: GPL-2.0
/*
 * rt_helpers.c: what a 6.12 Rust module cannot reach by itself.
 *
 * rust_trace is written in Rust; this file holds only the pieces that are C
 * macros, static inlines, or C structures the 6.12 `kernel` crate has no
 * binding for (see ../shared/KERNEL-NOTES.md, "What 6.12.117 gives a Rust
 * module"):
 *
 *  - the module parameters (module_param has no Rust form in 6.12);
 *  - the misc device, its file_operations table (whose entries are the
 *    Rust functions of chardev.rs), the irq_work and the delayed work
 *    objects; the works call back into Rust with the context pointer Rust
 *    registered;
 *  - the layout of the task_struct and file fields Rust reads: on this
 *    toolchain bindgen's task_struct layout differs from the C compiler's
 *    (pid at 1104 instead of 1120), so Rust takes offsets from here instead
 *    of trusting kernel::bindings for these structures;
 *  - one-line wrappers of macros and static inlines: smp_processor_id,
 *    preempt_disable/enable, local_irq_save/restore, cpu_possible, cpu_online,
 *    tracepoint_synchronize_unregister, init_waitqueue_head, poll_wait.
 *
 * No logic lives here. Context: rt_irq_work_queue() is safe in any context
 * (it is called from scheduler tracepoint probes); everything else is called
 * from process context.
 */
#include <linux/cpumask.h>
#include <linux/irq_work.h>
#include <linux/irqflags.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/smp.h>
#include <linux/tracepoint.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "rt_helpers.h"

unsigned int rt_param_buf_size = 64 * 1024;
module_param_named(buf_size, rt_param_buf_size, uint, 0444);
MODULE_PARM_DESC(buf_size,
		 "bytes per trace buffer: a power of two, 4096..4194304 (default 65536)");

unsigned int rt_param_nr_bufs = 8;
module_param_named(nr_bufs, rt_param_nr_bufs, uint, 0444);
MODULE_PARM_DESC(nr_bufs, "trace buffers per possible CPU: 2..1024 (default 8)");

unsigned int rt_param_flush_ms = 1000;
module_param_named(flush_ms, rt_param_flush_ms, uint, 0644);
MODULE_PARM_DESC(flush_ms,
		 "period of the flush of partial buffers to the reader, ms; 0 = off, max 60000 (default 1000)");

/* The device's operations: all in Rust. .owner pins the module while open. */
static const struct file_operations rt_fops = {
	.owner = THIS_MODULE,
	.open = rust_trace_open,
	.release = rust_trace_release,
	.read = rust_trace_read,
	.write = rust_trace_write,
	.poll = rust_trace_poll,
	.unlocked_ioctl = rust_trace_ioctl,
};

/* The misc device: /dev/rust_trace, dynamic minor, mode 0600. */
static struct miscdevice rt_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "rust_trace",
	.mode = 0600,
	.fops = &rt_fops,
};

int rt_misc_register(void)
{
	return misc_register(&rt_misc);
}

void rt_misc_deregister(void)
{
	misc_deregister(&rt_misc);
}

/* Deferred reader wake-up: queued from probes, runs in hard IRQ context. */
static struct irq_work rt_irq_work;
static void (*rt_irq_work_fn)(void *ctx);
static void *rt_irq_work_ctx;

static void rt_irq_work_call(struct irq_work *work)
{
	rt_irq_work_fn(rt_irq_work_ctx);
}

void rt_irq_work_init(void (*fn)(void *ctx), void *ctx)
{
	rt_irq_work_fn = fn;
	rt_irq_work_ctx = ctx;
	init_irq_work(&rt_irq_work, rt_irq_work_call);
}

void rt_irq_work_queue(void)
{
	irq_work_queue(&rt_irq_work);
}

void rt_irq_work_sync(void)
{
	irq_work_sync(&rt_irq_work);
}

/* Periodic flush: a self-rearming delayed work, process context. */
static struct delayed_work rt_flush_work;
static void (*rt_flush_fn)(void *ctx);
static void *rt_flush_ctx;
static unsigned int rt_flush_period_ms;

static void rt_flush_work_call(struct work_struct *work)
{
	rt_flush_fn(rt_flush_ctx);
	schedule_delayed_work(&rt_flush_work, msecs_to_jiffies(rt_flush_period_ms));
}

void rt_flush_work_init(void (*fn)(void *ctx), void *ctx)
{
	rt_flush_fn = fn;
	rt_flush_ctx = ctx;
	INIT_DELAYED_WORK(&rt_flush_work, rt_flush_work_call);
}

void rt_flush_work_start(unsigned int ms)
{
	rt_flush_period_ms = ms;
	schedule_delayed_work(&rt_flush_work, msecs_to_jiffies(ms));
}

void rt_flush_work_cancel(void)
{
	/* Handles the self-rearming work: it is not requeued once this starts. */
	cancel_delayed_work_sync(&rt_flush_work);
}


unsigned int rt_smp_processor_id(void)
{
	return smp_processor_id();
}

unsigned long rt_irq_save(void)
{
	unsigned long flags;

	local_irq_save(flags);
	return flags;
}

void rt_irq_restore(unsigned long flags)
{
	local_irq_restore(flags);
}

bool rt_cpu_possible(unsigned int cpu)
{
	return cpu_possible(cpu);
}

bool rt_cpu_online(unsigned int cpu)
{
	return cpu_online(cpu);
}

#ifdef RUST_TRACE_BENCH
/* bench.rs (make BENCH=1 only). */
void rt_preempt_disable(void)
{
	preempt_disable();
}

void rt_preempt_enable(void)
{
	preempt_enable();
}

void rt_cond_resched(void)
{
	cond_resched();
}

bool rt_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}
#endif

void rt_tracepoint_sync(void)
{
	tracepoint_synchronize_unregister();
}

void rt_task_layout(struct rt_task_layout *l)
{
	l->pid = offsetof(struct task_struct, pid);
	l->comm = offsetof(struct task_struct, comm);
	l->exit_state = offsetof(struct task_struct, exit_state);
	l->cpu = offsetof(struct task_struct, thread_info.cpu);
}

bool rt_file_readable(const struct file *file)
{
	return file->f_mode & FMODE_READ;
}

bool rt_file_nonblock(const struct file *file)
{
	return file->f_flags & O_NONBLOCK;
}

void *rt_file_private(const struct file *file)
{
	return file->private_data;
}

void rt_file_set_private(struct file *file, void *data)
{
	file->private_data = data;
}

void rt_init_waitqueue_head(struct wait_queue_head *wq)
{
	init_waitqueue_head(wq);
}

void rt_poll_wait(struct file *file, struct wait_queue_head *wq,
		  struct poll_table_struct *pt)
{
	poll_wait(file, wq, pt);
}
