/* SPDX-License-Identifier: GPL-2.0 */
/*
 * helpers.h: the functions of helpers.c, declared for -Wmissing-prototypes,
 * in the sections and order of helpers.c; helpers.rs declares the same
 * for Rust.
 */
#ifndef RUST_TRACE_HELPERS_H
#define RUST_TRACE_HELPERS_H

#include <linux/types.h>

struct file;
struct inode;
struct poll_table_struct;
struct wait_queue_head;

/* rust_trace.rs */
extern unsigned int rust_trace_param_buf_size;
extern unsigned int rust_trace_param_nr_bufs;
extern unsigned int rust_trace_param_flush_ms;

/* bufpool.rs */
unsigned int rust_trace_smp_processor_id(void);
unsigned long rust_trace_irq_save(void);
void rust_trace_irq_restore(unsigned long flags);
bool rust_trace_cpu_possible(unsigned int cpu);
void rust_trace_irq_work_queue(void);

/* probes.rs: offsets of the task_struct fields the probes read. */
struct rust_trace_task_layout {
	size_t pid;
	size_t comm;
	size_t exit_state;
	size_t cpu;
};

void rust_trace_task_layout(struct rust_trace_task_layout *l);
void rust_trace_tracepoint_sync(void);

/* session.rs */
void rust_trace_irq_work_init(void (*fn)(void *ctx), void *ctx);
void rust_trace_irq_work_sync(void);
void rust_trace_flush_work_init(void (*fn)(void *ctx), void *ctx);
void rust_trace_flush_work_start(unsigned int ms);
void rust_trace_flush_work_cancel(void);
bool rust_trace_cpu_online(unsigned int cpu);
void rust_trace_init_waitqueue_head(struct wait_queue_head *wq);

/* chardev.rs: the file operations, implemented in Rust, and the device. */
int rust_trace_open(struct inode *inode, struct file *file);
int rust_trace_release(struct inode *inode, struct file *file);
ssize_t rust_trace_read(struct file *file, char __user *buf, size_t count, loff_t *pos);
ssize_t rust_trace_write(struct file *file, const char __user *buf, size_t count,
			 loff_t *pos);
__poll_t rust_trace_poll(struct file *file, struct poll_table_struct *pt);
long rust_trace_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
int rust_trace_misc_register(void);
void rust_trace_misc_deregister(void);
bool rust_trace_file_readable(const struct file *file);
bool rust_trace_file_nonblock(const struct file *file);
void *rust_trace_file_private(const struct file *file);
void rust_trace_file_set_private(struct file *file, void *data);
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
