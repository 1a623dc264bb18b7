/* SPDX-License-Identifier: GPL-2.0 */
/*
 * helpers.h: the C half of rust_trace, declared for -Wmissing-prototypes.
 * The Rust side declares the same functions in helpers.rs.
 */
#ifndef RUST_TRACE_HELPERS_H
#define RUST_TRACE_HELPERS_H

#include <linux/types.h>

struct file;
struct inode;
struct poll_table_struct;
struct wait_queue_head;

/* Offsets of the task_struct fields the probes read (see helpers.rs). */
struct rust_trace_task_layout {
	size_t pid;
	size_t comm;
	size_t exit_state;
	size_t cpu;
};

/* The file operations, implemented in Rust (chardev.rs). */
int rust_trace_open(struct inode *inode, struct file *file);
int rust_trace_release(struct inode *inode, struct file *file);
ssize_t rust_trace_read(struct file *file, char __user *buf, size_t count, loff_t *pos);
ssize_t rust_trace_write(struct file *file, const char __user *buf, size_t count,
			 loff_t *pos);
__poll_t rust_trace_poll(struct file *file, struct poll_table_struct *pt);
long rust_trace_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

extern unsigned int rust_trace_param_buf_size;
extern unsigned int rust_trace_param_nr_bufs;
extern unsigned int rust_trace_param_flush_ms;

int rust_trace_misc_register(void);
void rust_trace_misc_deregister(void);

void rust_trace_irq_work_init(void (*fn)(void *ctx), void *ctx);
void rust_trace_irq_work_queue(void);
void rust_trace_irq_work_sync(void);

void rust_trace_flush_work_init(void (*fn)(void *ctx), void *ctx);
void rust_trace_flush_work_start(unsigned int ms);
void rust_trace_flush_work_cancel(void);

unsigned int rust_trace_smp_processor_id(void);
unsigned long rust_trace_irq_save(void);
void rust_trace_irq_restore(unsigned long flags);
bool rust_trace_cpu_possible(unsigned int cpu);
bool rust_trace_cpu_online(unsigned int cpu);
#ifdef RUST_TRACE_MICROBENCH
void rust_trace_preempt_disable(void);
void rust_trace_preempt_enable(void);
void rust_trace_cond_resched(void);
bool rust_trace_fatal_signal_pending(void);
#endif
void rust_trace_tracepoint_sync(void);

void rust_trace_task_layout(struct rust_trace_task_layout *l);
bool rust_trace_file_readable(const struct file *file);
bool rust_trace_file_nonblock(const struct file *file);
void *rust_trace_file_private(const struct file *file);
void rust_trace_file_set_private(struct file *file, void *data);

void rust_trace_init_waitqueue_head(struct wait_queue_head *wq);
void rust_trace_poll_wait(struct file *file, struct wait_queue_head *wq,
		  struct poll_table_struct *pt);

#endif /* RUST_TRACE_HELPERS_H */
