/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rust_trace_workload.h: helpers shared by the guest programs (selftests/rust_trace_workload.c
 * and tools/bench/rust_trace_bench.c): fatal errors, CPU pinning, the fork/exit storm.
 */
#ifndef RUST_TRACE_WORKLOAD_H
#define RUST_TRACE_WORKLOAD_H

/* Includers define _GNU_SOURCE before any header (cpu_set_t, CPU_SET). */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static inline void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Pins the calling process to `cpu` modulo the online CPU count. */
static inline void pin(int cpu)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu % (ncpu > 0 ? ncpu : 1), &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

/* Forks n children one after the other; each exits at once. */
static inline void forkstorm(long n)
{
	for (long i = 0; i < n; i++) {
		pid_t p = fork();

		if (p < 0)
			die("fork");
		if (p == 0)
			_exit(0);
		waitpid(p, NULL, 0);
	}
}

#endif /* RUST_TRACE_WORKLOAD_H */
