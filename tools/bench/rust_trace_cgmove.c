// SPDX-License-Identifier: GPL-2.0
/*
 * rust_trace_cgmove: the cost of moving a process of many threads between
 * two cgroups, the move the `cgroup_attach_task` probe sees once per
 * thread, with IRQs off (under trace_cgroup_path_lock).
 *
 *   rust_trace_cgmove THREADS MOVES CGROUP_A CGROUP_B
 *
 * Starts THREADS sleeping threads, then moves the process from CGROUP_A
 * to CGROUP_B and back, MOVES times each way, timing every write to
 * cgroup.procs with CLOCK_MONOTONIC (under QEMU's -icount shift=0 one
 * nanosecond is one guest instruction). Prints
 * "CGMOVE threads=T moves=M min_ns=... median_ns=..." .
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* Moves this process into the cgroup directory `dir`; returns the ns taken. */
static long long move_to(const char *dir)
{
	char path[512], pid[32];
	long long t0, t1;
	int fd, n;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	fd = open(path, O_WRONLY);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	t0 = now_ns();
	if (write(fd, pid, n) != n) {
		perror(path);
		exit(1);
	}
	t1 = now_ns();
	close(fd);
	return t1 - t0;
}

int main(int argc, char **argv)
{
	pthread_attr_t attr;
	long long *ns;
	int threads, moves, i;
	pthread_t t;

	if (argc != 5) {
		fprintf(stderr, "usage: rust_trace_cgmove THREADS MOVES CGROUP_A CGROUP_B\n");
		return 2;
	}
	threads = atoi(argv[1]);
	moves = atoi(argv[2]);
	ns = calloc(2 * moves, sizeof(*ns));
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 16384);
	for (i = 0; i < threads; i++) {
		if (pthread_create(&t, &attr, sleeper, NULL)) {
			perror("pthread_create");
			return 1;
		}
	}
	move_to(argv[3]);
	for (i = 0; i < moves; i++) {
		ns[2 * i] = move_to(argv[4]);
		ns[2 * i + 1] = move_to(argv[3]);
	}
	qsort(ns, 2 * moves, sizeof(*ns), cmp);
	printf("CGMOVE threads=%d moves=%d min_ns=%lld median_ns=%lld\n", threads, 2 * moves,
	       ns[0], ns[moves]);
	return 0;
}
