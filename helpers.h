/* SPDX-License-Identifier: GPL-2.0 */
/*
 * helpers.h: the functions of helpers.c, declared for -Wmissing-prototypes,
 * in the sections and order of helpers.c; helpers.rs declares the same
 * for Rust.
 */
#ifndef RUST_TRACE_HELPERS_H
#define RUST_TRACE_HELPERS_H

#include <linux/types.h>

struct cgroup;
struct file;
struct file_operations;
struct poll_table_struct;
struct rust_trace_opener;
struct task_struct;
struct wait_queue_head;

/* rust_trace.rs */
extern unsigned int rust_trace_param_buf_size;
extern unsigned int rust_trace_param_nr_bufs;
extern unsigned int rust_trace_param_flush_ms;
extern unsigned int rust_trace_param_flight;
extern unsigned int rust_trace_param_flight_gen_ms;

/* What the C compiler says of the layouts Rust trusts (helpers.rs). */
struct rust_trace_layouts {
	size_t wait_queue_head_size;
	size_t wait_queue_head_align;
	size_t wait_queue_entry_size;
	size_t wait_queue_entry_align;
	size_t tracepoint_name;
	size_t fops_size;
	size_t fops_owner;
	size_t fops_read;
	size_t fops_write;
	size_t fops_poll;
	size_t fops_unlocked_ioctl;
	size_t fops_open;
	size_t fops_release;
	size_t uapi_header_len;
	size_t uapi_footer_fixed_len;
	size_t uapi_footer_cpu_len;
	size_t uapi_stats_size;
	size_t uapi_ioc_stats;
};

void rust_trace_layouts(struct rust_trace_layouts *l);

/* bufpool.rs */
unsigned int rust_trace_smp_processor_id(void);
unsigned long rust_trace_irq_save(void);
void rust_trace_irq_restore(unsigned long flags);
void rust_trace_irq_work_queue(void);
#ifdef CONFIG_PROVE_LOCKING
void rust_trace_assert_irqs_off(void);
#endif

/* probes.rs: offsets of the task_struct fields the probes read. */
struct rust_trace_task_layout {
	size_t pid;
	size_t tgid;
	size_t comm;
	size_t exit_state;
	size_t cpu;
};

void rust_trace_task_layout(struct rust_trace_task_layout *l);
u64 rust_trace_task_cgroup_id(const struct task_struct *p);
void rust_trace_for_each_thread(struct task_struct *p, bool all,
				void (*fn)(void *ctx, unsigned int pid), void *ctx);
void rust_trace_tracepoint_sync(void);

/* trigger.rs */
struct task_struct *rust_trace_current(void);
bool rust_trace_waking_starts_wait(const struct task_struct *p);
unsigned int rust_trace_irq_context(void);
void rust_trace_trigger_work_init(void (*fn)(void *ctx), void *ctx);
void rust_trace_trigger_work_start(unsigned int ms);
void rust_trace_trigger_work_cancel(void);

/* filter.rs */
int rust_trace_cpuhp_setup(int (*online)(unsigned int cpu));
void rust_trace_cpuhp_remove(int state);
int rust_trace_pid_resolve(const struct rust_trace_opener *o, int nr, bool tgid);
int rust_trace_cgroup_lookup(const struct rust_trace_opener *o, const char *path,
			     struct cgroup **out);
void rust_trace_cgroup_get(struct cgroup *cgrp);
void rust_trace_cgroup_put(struct cgroup *cgrp);
u64 rust_trace_cgroup_id(struct cgroup *cgrp);
bool rust_trace_task_in_cgroup(const struct task_struct *p, struct cgroup *anc);
void rust_trace_add_descendants(bool (*in_set)(void *ctx, unsigned int pid),
				void (*add)(void *ctx, unsigned int pid),
				void *ctx);

/* flight.rs */
void rust_trace_usleep(unsigned long us);

/* session.rs */
void rust_trace_irq_work_init(void (*fn)(void *ctx), void *ctx);
void rust_trace_irq_work_sync(void);
void rust_trace_flush_work_init(void (*fn)(void *ctx), void *ctx);
void rust_trace_flush_work_start(unsigned int ms);
void rust_trace_flush_work_cancel(void);
bool rust_trace_cpu_online(unsigned int cpu);
void rust_trace_init_waitqueue_head(struct wait_queue_head *wq);

/* chardev.rs */
int rust_trace_misc_register(const struct file_operations *fops);
void rust_trace_misc_deregister(void);
bool rust_trace_file_readable(const struct file *file);
bool rust_trace_file_nonblock(const struct file *file);
int rust_trace_file_open(struct file *file, void *tracer);
void rust_trace_file_close(struct file *file);
void *rust_trace_file_private(const struct file *file);
const struct rust_trace_opener *rust_trace_file_opener(const struct file *file);
void rust_trace_poll_wait(struct file *file, struct wait_queue_head *wq,
			  struct poll_table_struct *pt);

/* microbench.rs (make MICROBENCH=1 only) */
#ifdef RUST_TRACE_MICROBENCH
void rust_trace_preempt_disable(void);
void rust_trace_preempt_enable(void);
void rust_trace_cond_resched(void);
bool rust_trace_fatal_signal_pending(void);
#endif

#endif /* RUST_TRACE_HELPERS_H */
