/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rt_helpers.h: the C half of rust_trace, declared for -Wmissing-prototypes.
 * The Rust side declares the same functions in sys.rs.
 */
#ifndef RT_HELPERS_H
#define RT_HELPERS_H

#include <linux/types.h>

struct file;
struct inode;
struct poll_table_struct;
struct wait_queue_head;

/* Offsets of the task_struct fields the probes read (see sys.rs). */
struct rt_task_layout {
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

extern unsigned int rt_param_buf_size;
extern unsigned int rt_param_nr_bufs;
extern unsigned int rt_param_flush_ms;

int rt_misc_register(void);
void rt_misc_deregister(void);

void rt_irq_work_init(void (*fn)(void *ctx), void *ctx);
void rt_irq_work_queue(void);
void rt_irq_work_sync(void);

void rt_flush_work_init(void (*fn)(void *ctx), void *ctx);
void rt_flush_work_start(unsigned int ms);
void rt_flush_work_cancel(void);

unsigned int rt_smp_processor_id(void);
unsigned long rt_irq_save(void);
void rt_irq_restore(unsigned long flags);
bool rt_cpu_possible(unsigned int cpu);
bool rt_cpu_online(unsigned int cpu);
#ifdef RUST_TRACE_BENCH
void rt_preempt_disable(void);
void rt_preempt_enable(void);
void rt_cond_resched(void);
bool rt_fatal_signal_pending(void);
#endif
void rt_tracepoint_sync(void);

void rt_task_layout(struct rt_task_layout *l);
bool rt_file_readable(const struct file *file);
bool rt_file_nonblock(const struct file *file);
void *rt_file_private(const struct file *file);
void rt_file_set_private(struct file *file, void *data);

void rt_init_waitqueue_head(struct wait_queue_head *wq);
void rt_poll_wait(struct file *file, struct wait_queue_head *wq,
		  struct poll_table_struct *pt);

#endif /* RT_HELPERS_H */
