// SPDX-License-Identifier: GPL-2.0
/*
 * helpers.c: the C half of helpers.rs, what a 6.12 Rust module cannot
 * reach by itself.
 *
 * rust_trace is written in Rust; this file holds only what must be C:
 * macros and static inlines that bindgen cannot turn into functions, and
 * C objects the 6.12 `kernel` crate has no binding for. Its sections serve
 * the Rust files named in their titles, in the order helpers.rs declares
 * them. No decision is taken here: the one loop, the walk over the task
 * list of rust_trace_add_descendants(), is here because the task list and
 * the parent links are read with macros under RCU, with lock breaks; what
 * to do with each task is the Rust callback's.
 *
 * Context: rust_trace_smp_processor_id(), rust_trace_irq_save(),
 * rust_trace_irq_restore(), rust_trace_irq_work_queue(),
 * rust_trace_task_cgroup_id(), rust_trace_task_in_cgroup() and
 * rust_trace_for_each_thread() are called from scheduler tracepoint probes
 * (any context; the cgroup ones take the RCU read lock, which nests
 * anywhere); everything else from process context.
 */
#include <linux/build_bug.h>
#include <linux/cgroup.h>
#include <linux/cpuhotplug.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/irq_work.h>
#include <linux/irqflags.h>
#include <linux/lockdep.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/nsproxy.h>
#include <linux/pid_namespace.h>
#include <linux/slab.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/smp.h>
#include <linux/threads.h>
#include <linux/tracepoint.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "helpers.h"
#include "uapi/rust_trace.h"

/*
 * chardev.rs and filter.rs: what an open file of the device holds (its
 * private_data, see rust_trace_file_open()).
 */
struct rust_trace_opener {
	void *tracer;				/* the module's Tracer */
	struct pid_namespace *pid_ns;		/* the opener's, referenced */
	struct cgroup_namespace *cgroup_ns;	/* the opener's, referenced (cgroups) */
};

/*
 * rust_trace.rs: the module parameters, which module_param() declares and
 * 6.12 has no Rust form of; and the layouts the C compiler sees, for the
 * load-time check of the bindgen layouts Rust trusts (helpers.rs).
 */
unsigned int rust_trace_param_buf_size = 64 * 1024;
module_param_named(buf_size, rust_trace_param_buf_size, uint, 0444);
MODULE_PARM_DESC(buf_size,
		 "bytes per trace buffer: a power of two, 4096..4194304 (default 65536)");

unsigned int rust_trace_param_nr_bufs = 8;
module_param_named(nr_bufs, rust_trace_param_nr_bufs, uint, 0444);
MODULE_PARM_DESC(nr_bufs, "trace buffers per online CPU: 2..1024 (default 8)");

unsigned int rust_trace_param_flush_ms = 1000;
module_param_named(flush_ms, rust_trace_param_flush_ms, uint, 0644);
MODULE_PARM_DESC(flush_ms,
		 "period of the flush of partial buffers to a reader waiting for data, ms; 0 = off, max 60000 (default 1000)");

unsigned int rust_trace_param_flight;
module_param_named(flight, rust_trace_param_flight, uint, 0444);
MODULE_PARM_DESC(flight, "1: start flight recording at load (default 0)");

unsigned int rust_trace_param_flight_gen_ms = 100;
module_param_named(flight_gen_ms, rust_trace_param_flight_gen_ms, uint, 0644);
MODULE_PARM_DESC(flight_gen_ms,
		 "flight recording: generation period, ms, 1..10000 (default 100): a snapshot's window starts on a multiple of it");

static_assert(sizeof(struct rust_trace_layouts) == 18 * sizeof(size_t));

void rust_trace_layouts(struct rust_trace_layouts *l)
{
	*l = (struct rust_trace_layouts){
		.wait_queue_head_size = sizeof(struct wait_queue_head),
		.wait_queue_head_align = _Alignof(struct wait_queue_head),
		.wait_queue_entry_size = sizeof(struct wait_queue_entry),
		.wait_queue_entry_align = _Alignof(struct wait_queue_entry),
		.tracepoint_name = offsetof(struct tracepoint, name),
		.fops_size = sizeof(struct file_operations),
		.fops_owner = offsetof(struct file_operations, owner),
		.fops_read = offsetof(struct file_operations, read),
		.fops_write = offsetof(struct file_operations, write),
		.fops_poll = offsetof(struct file_operations, poll),
		.fops_unlocked_ioctl = offsetof(struct file_operations, unlocked_ioctl),
		.fops_open = offsetof(struct file_operations, open),
		.fops_release = offsetof(struct file_operations, release),
		.uapi_header_len = RUST_TRACE_HEADER_LEN,
		.uapi_footer_fixed_len = RUST_TRACE_FOOTER_FIXED_LEN,
		.uapi_footer_cpu_len = RUST_TRACE_FOOTER_CPU_LEN,
		.uapi_stats_size = sizeof(struct rust_trace_stats),
		.uapi_ioc_stats = RUST_TRACE_IOC_STATS,
	};
}

/*
 * bufpool.rs: the CPU and IRQ state of the write path (macros and static
 * inlines), and the queueing of the reader's wake-up: `struct irq_work`
 * has no binding, so the irq_work object lives here.
 */
/* helpers.rs (mod cpu) reads pcpu_hot.cpu_number inline at this offset. */
#if defined(CONFIG_X86_64) && defined(CONFIG_SMP)
static_assert(offsetof(struct pcpu_hot, cpu_number) == 12);
#endif

unsigned int rust_trace_smp_processor_id(void)
{
	return smp_processor_id();
}

unsigned long rust_trace_irq_save(void)
{
	unsigned long flags;

	local_irq_save(flags);
	return flags;
}

void rust_trace_irq_restore(unsigned long flags)
{
	local_irq_restore(flags);
}

static struct irq_work rust_trace_irq_work;
static void (*rust_trace_irq_work_fn)(void *ctx);
static void *rust_trace_irq_work_ctx;

/*
 * Only from an online CPU. A CPU going down runs its irq_works for the
 * last time in smpcfd_dying_cpu(), after __cpu_disable() has cleared it
 * from cpu_online_mask; a work queued there later (by the stopper's
 * switch to idle) would stay claimed on the dead CPU: every later
 * irq_work_queue() would be refused and irq_work_sync() would spin for
 * good. The wake-up skipped here is the periodic flush's or stop's.
 */
void rust_trace_irq_work_queue(void)
{
	if (cpu_online(smp_processor_id()))
		irq_work_queue(&rust_trace_irq_work);
}

#ifdef CONFIG_PROVE_LOCKING
void rust_trace_assert_irqs_off(void)
{
	lockdep_assert_irqs_disabled();
}
#endif

/*
 * probes.rs: the task_struct fields the probes read, at the offsets the C
 * compiler gives (bindgen's task_struct is 16 bytes off at `pid` on this
 * toolchain), a task's cgroup v2 id (task_dfl_cgroup() and cgroup_id() are
 * static inlines), the threads of a task's group (for_each_thread() is a
 * macro) and tracepoint_synchronize_unregister() (static inline).
 */
/* probes.rs reads comm as two aligned u64 (volatile loads must be aligned). */
static_assert(offsetof(struct task_struct, comm) % sizeof(u64) == 0);
/* pidset.rs covers PIDs below PID_LIMIT, masking rather than checking. */
static_assert(PID_MAX_LIMIT == 4 * 1024 * 1024);

void rust_trace_task_layout(struct rust_trace_task_layout *l)
{
	l->pid = offsetof(struct task_struct, pid);
	l->tgid = offsetof(struct task_struct, tgid);
	l->comm = offsetof(struct task_struct, comm);
	l->exit_state = offsetof(struct task_struct, exit_state);
	l->cpu = offsetof(struct task_struct, thread_info.cpu);
}

u64 rust_trace_task_cgroup_id(const struct task_struct *p)
{
#ifdef CONFIG_CGROUPS
	u64 id;

	rcu_read_lock();
	id = cgroup_id(task_dfl_cgroup((struct task_struct *)p));
	rcu_read_unlock();
	return id;
#else
	return 0;
#endif
}

void rust_trace_for_each_thread(struct task_struct *p, bool all,
				void (*fn)(void *ctx, unsigned int pid), void *ctx)
{
	struct task_struct *t;

	if (!all) {
		fn(ctx, READ_ONCE(p->pid));
		return;
	}
	rcu_read_lock();
	for_each_thread(p, t)
		fn(ctx, READ_ONCE(t->pid));
	rcu_read_unlock();
}

void rust_trace_tracepoint_sync(void)
{
	tracepoint_synchronize_unregister();
}

/*
 * filter.rs: PIDs as the opener's namespace numbers them (find_pid_ns()
 * needs RCU), the cgroup v2 directory a path from the opener's cgroup
 * namespace root names and its references and ancestry (cgroup_get(),
 * cgroup_put(), cgroup_id() and cgroup_is_descendant() are static
 * inlines), and the walk over every task (for_each_process_thread() is a
 * macro). The cgroup test is called from probes (any context).
 */
int rust_trace_pid_resolve(const struct rust_trace_opener *o, int nr, bool tgid)
{
	struct pid *pid;
	int ret = -ESRCH;

	rcu_read_lock();
	pid = find_pid_ns(nr, o->pid_ns);
	if (pid && pid_task(pid, tgid ? PIDTYPE_TGID : PIDTYPE_PID))
		ret = pid_nr(pid);
	rcu_read_unlock();
	return ret;
}

/*
 * cgroup_get_from_path() walks from the caller's cgroup namespace root,
 * and kernfs_walk_and_get() is not exported: the path is made relative to
 * the caller's root by prefixing the opener's root as the caller sees it.
 * An opener's root the caller cannot see (not at or below its own: a path
 * with "..") names nothing for it: ENOENT, as cgroup.c answers a move
 * outside the namespace of the file's opener.
 */
int rust_trace_cgroup_lookup(const struct rust_trace_opener *o, const char *path,
			     struct cgroup **out)
{
#ifdef CONFIG_CGROUPS
	struct cgroup *cgrp;
	char *full;
	int len;

	full = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!full)
		return -ENOMEM;
	len = cgroup_path_ns(o->cgroup_ns->root_cset->dfl_cgrp, full, PATH_MAX,
			     current->nsproxy->cgroup_ns);
	if (len < 0 || len >= PATH_MAX) {
		kfree(full);
		return len < 0 ? len : -ENAMETOOLONG;
	}
	if (full[0] != '/' || (!strncmp(full, "/..", 3) && (!full[3] || full[3] == '/'))) {
		kfree(full);
		return -ENOENT;
	}
	/* "/" and "/x" give "/x"; "/a" and "/x" give "/a/x". */
	if (len == 1)
		len = 0;
	if (strscpy(full + len, path, PATH_MAX - len) < 0) {
		kfree(full);
		return -ENAMETOOLONG;
	}
	cgrp = cgroup_get_from_path(full);
	kfree(full);
	if (IS_ERR(cgrp))
		return PTR_ERR(cgrp);
	*out = cgrp;
	return 0;
#else
	return -EOPNOTSUPP;
#endif
}

void rust_trace_cgroup_get(struct cgroup *cgrp)
{
#ifdef CONFIG_CGROUPS
	cgroup_get(cgrp);
#endif
}

void rust_trace_cgroup_put(struct cgroup *cgrp)
{
#ifdef CONFIG_CGROUPS
	cgroup_put(cgrp);
#endif
}

u64 rust_trace_cgroup_id(struct cgroup *cgrp)
{
#ifdef CONFIG_CGROUPS
	return cgroup_id(cgrp);
#else
	return 0;
#endif
}

bool rust_trace_task_in_cgroup(const struct task_struct *p, struct cgroup *anc)
{
#ifdef CONFIG_CGROUPS
	bool in;

	rcu_read_lock();
	in = cgroup_is_descendant(task_dfl_cgroup((struct task_struct *)p), anc);
	rcu_read_unlock();
	return in;
#else
	return false;
#endif
}

/*
 * Tasks walked between two reschedule points of
 * rust_trace_add_descendants().
 */
#define RUST_TRACE_WALK_BATCH 1024

/* Lock breaks that may restart the walk before it runs without them. */
#define RUST_TRACE_WALK_RESTARTS 16

/*
 * One pass over the task list, in its order, which is creation order
 * (copy_process() appends; de_thread() puts the new leader in the old
 * one's place): a process's parent process (real_parent, an older task,
 * or after reparenting an older reaper or a thread of the same parent
 * process) is decided before it, so asking the set about the parent alone
 * is enough, and the walk is linear in tasks, not tasks times depth. Every
 * RUST_TRACE_WALK_BATCH tasks it leaves RCU and reschedules, as
 * check_hung_uninterruptible_tasks() does: it pins both cursors, and goes
 * on if both are still hashed (still on their lists), else walks again
 * from the start (what it added stays; after RUST_TRACE_WALK_RESTARTS
 * restarts, without breaks). A process reparented during the walk may be
 * missed, as one whose parent exited before it is.
 */
void rust_trace_add_descendants(bool (*in_set)(void *ctx, unsigned int pid),
				void (*add)(void *ctx, unsigned int pid),
				void *ctx)
{
	struct task_struct *g, *t, *parent;
	unsigned int n = 0, restarts = 0;
	bool alive;

	rcu_read_lock();
again:
	for_each_process(g) {
		/* The process first: its threads are its children. */
		parent = rcu_dereference(g->real_parent);
		if (!in_set(ctx, g->pid) && parent->pid && parent != g &&
		    in_set(ctx, parent->pid))
			add(ctx, g->pid);
		for_each_thread(g, t) {
			if (t != g && !in_set(ctx, t->pid) && in_set(ctx, g->pid))
				add(ctx, t->pid);
			if (++n % RUST_TRACE_WALK_BATCH ||
			    restarts >= RUST_TRACE_WALK_RESTARTS)
				continue;
			get_task_struct(g);
			get_task_struct(t);
			rcu_read_unlock();
			cond_resched();
			rcu_read_lock();
			alive = pid_alive(g) && pid_alive(t);
			put_task_struct(t);
			put_task_struct(g);
			if (!alive) {
				restarts++;
				goto again;
			}
		}
	}
	rcu_read_unlock();
}

/*
 * bufpool.rs: the CPU hotplug state that gives each CPU its buffers when
 * it comes online (cpuhp_setup_state() and cpuhp_remove_state() are
 * static inlines). Process context.
 */
int rust_trace_cpuhp_setup(int (*online)(unsigned int cpu))
{
	return cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "rust_trace:online", online, NULL);
}

void rust_trace_cpuhp_remove(int state)
{
	cpuhp_remove_state(state);
}

/*
 * flight.rs: a short sleep on an hrtimer (usleep_range() is a static
 * inline).
 */
void rust_trace_usleep(unsigned long us)
{
	usleep_range(us, us + us / 2);
}

/*
 * trigger.rs: the waking task and its context (macros), and the delayed
 * work that takes a triggered snapshot (INIT_DELAYED_WORK is a macro).
 */
struct task_struct *rust_trace_current(void)
{
	return current;
}

bool rust_trace_waking_starts_wait(const struct task_struct *p)
{
	return p != current && !READ_ONCE(p->on_rq);
}

unsigned int rust_trace_irq_context(void)
{
	return (in_hardirq() ? 1 : 0) | (in_serving_softirq() ? 2 : 0);
}

static struct delayed_work rust_trace_trigger_work;
static void (*rust_trace_trigger_fn)(void *ctx);
static void *rust_trace_trigger_ctx;

static void rust_trace_trigger_work_call(struct work_struct *work)
{
	rust_trace_trigger_fn(rust_trace_trigger_ctx);
}

void rust_trace_trigger_work_init(void (*fn)(void *ctx), void *ctx)
{
	rust_trace_trigger_fn = fn;
	rust_trace_trigger_ctx = ctx;
	INIT_DELAYED_WORK(&rust_trace_trigger_work, rust_trace_trigger_work_call);
}

void rust_trace_trigger_work_start(unsigned int ms)
{
	schedule_delayed_work(&rust_trace_trigger_work, msecs_to_jiffies(ms));
}

void rust_trace_trigger_work_cancel(void)
{
	cancel_delayed_work_sync(&rust_trace_trigger_work);
}

/*
 * session.rs: the irq_work's handler setup and sync, the periodic flush (a
 * self-rearming delayed work: INIT_DELAYED_WORK is a macro), and the
 * cpu_online() and init_waitqueue_head() macros. The works call back into
 * Rust with the context pointer Rust registered.
 */
static void rust_trace_irq_work_call(struct irq_work *work)
{
	rust_trace_irq_work_fn(rust_trace_irq_work_ctx);
}

void rust_trace_irq_work_init(void (*fn)(void *ctx), void *ctx)
{
	rust_trace_irq_work_fn = fn;
	rust_trace_irq_work_ctx = ctx;
	init_irq_work(&rust_trace_irq_work, rust_trace_irq_work_call);
}

void rust_trace_irq_work_sync(void)
{
	irq_work_sync(&rust_trace_irq_work);
}

static struct delayed_work rust_trace_flush_work;
static void (*rust_trace_flush_fn)(void *ctx);
static void *rust_trace_flush_ctx;
static unsigned int rust_trace_flush_period_ms;

static void rust_trace_flush_work_call(struct work_struct *work)
{
	rust_trace_flush_fn(rust_trace_flush_ctx);
	schedule_delayed_work(&rust_trace_flush_work,
			      msecs_to_jiffies(rust_trace_flush_period_ms));
}

void rust_trace_flush_work_init(void (*fn)(void *ctx), void *ctx)
{
	rust_trace_flush_fn = fn;
	rust_trace_flush_ctx = ctx;
	INIT_DELAYED_WORK(&rust_trace_flush_work, rust_trace_flush_work_call);
}

void rust_trace_flush_work_start(unsigned int ms)
{
	rust_trace_flush_period_ms = ms;
	schedule_delayed_work(&rust_trace_flush_work, msecs_to_jiffies(ms));
}

void rust_trace_flush_work_cancel(void)
{
	/* Handles the self-rearming work: it is not requeued once this starts. */
	cancel_delayed_work_sync(&rust_trace_flush_work);
}

bool rust_trace_cpu_online(unsigned int cpu)
{
	return cpu_online(cpu);
}

void rust_trace_init_waitqueue_head(struct wait_queue_head *wq)
{
	init_waitqueue_head(wq);
}

/*
 * chardev.rs: the misc device (`struct miscdevice` has no binding in 6.12;
 * its file operations are built in Rust), the file fields the operations
 * read (FMODE_READ and O_NONBLOCK are cast macros) and poll_wait() (static
 * inline).
 */
static struct miscdevice rust_trace_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "rust_trace",
	.mode = 0600,
};

int rust_trace_misc_register(const struct file_operations *fops)
{
	rust_trace_misc.fops = fops;
	return misc_register(&rust_trace_misc);
}

void rust_trace_misc_deregister(void)
{
	misc_deregister(&rust_trace_misc);
}

bool rust_trace_file_readable(const struct file *file)
{
	return file->f_mode & FMODE_READ;
}

bool rust_trace_file_nonblock(const struct file *file)
{
	return file->f_flags & O_NONBLOCK;
}

/*
 * What an open file of the device holds (its private_data): the tracer,
 * and the opener's PID and cgroup namespaces, in which its writes name
 * PIDs and cgroup paths, whoever writes (cgroup.c's precedent: the
 * namespace stored at open, against inherited-fd attacks).
 */
int rust_trace_file_open(struct file *file, void *tracer)
{
	struct rust_trace_opener *o = kmalloc(sizeof(*o), GFP_KERNEL);

	if (!o)
		return -ENOMEM;
	o->tracer = tracer;
	o->pid_ns = get_pid_ns(task_active_pid_ns(current));
#ifdef CONFIG_CGROUPS
	o->cgroup_ns = current->nsproxy->cgroup_ns;
	get_cgroup_ns(o->cgroup_ns);
#endif
	file->private_data = o;
	return 0;
}

void rust_trace_file_close(struct file *file)
{
	struct rust_trace_opener *o = file->private_data;

	put_pid_ns(o->pid_ns);
#ifdef CONFIG_CGROUPS
	put_cgroup_ns(o->cgroup_ns);
#endif
	kfree(o);
}

void *rust_trace_file_private(const struct file *file)
{
	return ((struct rust_trace_opener *)file->private_data)->tracer;
}

const struct rust_trace_opener *rust_trace_file_opener(const struct file *file)
{
	return file->private_data;
}

void rust_trace_poll_wait(struct file *file, struct wait_queue_head *wq,
			  struct poll_table_struct *pt)
{
	poll_wait(file, wq, pt);
}

/*
 * microbench.rs (make MICROBENCH=1 only): static inlines, and the size of
 * its ioctl structure, which Rust pins to the same value.
 */
#ifdef RUST_TRACE_MICROBENCH
static_assert(sizeof(struct rust_trace_microbench) == 72);

void rust_trace_preempt_disable(void)
{
	preempt_disable();
}

void rust_trace_preempt_enable(void)
{
	preempt_enable();
}

void rust_trace_cond_resched(void)
{
	cond_resched();
}

bool rust_trace_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}
#endif
