/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * rust_trace.h: the user-space interface of /dev/rust_trace: the ioctls of
 * chardev.rs and the stream's fixed lengths.
 *
 * RUST_TRACE_IOC_STATS works on any open file of the device, reader or
 * writer, and never disturbs the reader. Set .cpu to a CPU id for that
 * CPU's counters, or to RUST_TRACE_STATS_ALL for the totals.
 *
 * The stream format is format.rs (its one source) and docs/FORMAT.md. The
 * lengths below are what a C reader needs to find the header and the
 * footer; the module checks at load that they equal format.rs's.
 */
#ifndef _UAPI_RUST_TRACE_H
#define _UAPI_RUST_TRACE_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* The stream: a header, batches, a footer (docs/FORMAT.md). */
#define RUST_TRACE_HEADER_LEN		64	/* the stream header */
#define RUST_TRACE_FOOTER_FIXED_LEN	48	/* the footer's fixed part */
#define RUST_TRACE_FOOTER_CPU_LEN	24	/* each CPU's entry after it */

#define RUST_TRACE_STATS_ALL		0xffffffffu

#define RUST_TRACE_STATS_F_CPU		(1u << 0)	/* the CPU has buffers */
#define RUST_TRACE_STATS_F_RUNNING	(1u << 1)	/* a session is tracing */
#define RUST_TRACE_STATS_F_READER	(1u << 2)	/* a reader is open */
#define RUST_TRACE_STATS_F_FLIGHT	(1u << 3)	/* flight recording runs */
#define RUST_TRACE_STATS_F_SNAPSHOT	(1u << 4)	/* a snapshot waits for a reader */

struct rust_trace_stats {
	__u32 cpu;		/* in: CPU id or RUST_TRACE_STATS_ALL */
	__u32 flags;		/* out: RUST_TRACE_STATS_F_* */
	__u32 nr_cpus;		/* out: number of CPU ids */
	__u32 pad;
	__u64 written;		/* events the probes tried to record */
	__u64 lost;		/* events dropped: no empty buffer */
	__u64 batches;		/* batches handed to the reader */
	__u64 read_events;	/* events copied out to the reader */
	__u64 read_bytes;	/* batch bytes copied out to the reader */
	__u64 overwritten;	/* flight recording: events overwritten */
};

#define RUST_TRACE_IOC_STATS		_IOWR('R', 1, struct rust_trace_stats)

/*
 * RUST_TRACE_IOC_MICROBENCH: times the sched_switch probe called back to
 * back by the caller, IRQs off, on a pool of its own (no session needed,
 * none disturbed), and baselines timed the same way. Costs nevents events
 * of work; 1..1e7. Only in a module built with `make MICROBENCH=1` (ENOTTY
 * otherwise); one run at a time (EBUSY); a fatal signal ends it (EINTR).
 */
struct rust_trace_microbench {
	__u64 nevents;		/* in: events to write */
	__u64 ns_probe;		/* out: ns in the probe for all of them */
	__u64 ns_clock;		/* out: ns for as many local_clock() calls */
	__u64 ns_irq;		/* out: ns for as many IRQ save/restore pairs */
	__u64 lost;		/* out: events lost (0 unless something is wrong) */
	__u64 batches;		/* out: buffers filled */
	__u64 flags;		/* in: RUST_TRACE_MICROBENCH_FLIGHT: the pool flight records */
	__u64 ns_call;		/* out: ns for as many calls of an empty probe (the loop) */
	__u64 ns_encode;	/* out: ns for as many encodings of the event alone */
};

/* struct rust_trace_microbench.flags: time the flight recording path. */
#define RUST_TRACE_MICROBENCH_FLIGHT	1

#define RUST_TRACE_IOC_MICROBENCH	_IOWR('R', 2, struct rust_trace_microbench)

#endif /* _UAPI_RUST_TRACE_H */
