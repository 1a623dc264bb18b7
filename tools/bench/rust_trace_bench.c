// SPDX-License-Identifier: GPL-2.0
/*
 * rust_trace_bench: one timed run of a workload under a tracer, in the guest.
 *
 *   rust_trace_bench WORKLOAD N TRACER
 *     WORKLOAD  pingpong (two processes pinned to CPUs 0 and 1 bounce a byte
 *               N times) | forkstorm (fork N children that exit at once,
 *               one after the other, on CPU 0) | threadstorm (the same
 *               with N threads: a fork storm without the copy of the
 *               address space, whose run-to-run spread hides less)
 *     TRACER    none | ftrace | rust_trace | rust_trace_pid | rust_trace_cgroup |
 *               rust_trace_events
 *               (the last three: rust_trace filtered so that the
 *               workload's events are all left out, by `filter pid` of a
 *               task that sleeps, by `filter cgroup` of an empty cgroup, or
 *               by `events exec`, which the workloads have none of: what a
 *               filtered-out event costs, the last being the floor, a
 *               probe that returns at its first test) |
 *               rust_trace_flight | rust_trace_trigger
 *               (flight recording, no reader, with a latency trigger armed
 *               that never fires for the second; then a snapshot, its
 *               command and its reading timed: snap_ns=, read_ns=)
 *   rust_trace_bench microbench N [flight]
 *     the module's write-path microbenchmark: N synthetic sched_switch
 *     events through the probe (RUST_TRACE_IOC_MICROBENCH), streaming or
 *     flight recording; prints a MICRO line
 *
 * Prints one line:
 *   BENCH workload=W tracer=T ns=... events=... lost=... bytes=... reader_ns=...
 * where ns is the workload's CLOCK_MONOTONIC time (under QEMU's -icount it
 * counts guest instructions), events the events the tracer recorded, lost
 * those it dropped, bytes what its reader wrote to files, reader_ns the
 * CPU time of its reader threads (CLOCK_THREAD_CPUTIME_ID: their reads and
 * writes, user and kernel).
 *
 * ftrace: the same seven sched events are enabled through tracefs, with
 * per-CPU buffers sized like rust_trace's (buffer_size_kb), and one reader
 * thread per CPU drains per_cpu/cpuN/trace_pipe_raw into a file. rust_trace:
 * one reader thread does `cat /dev/rust_trace > file`. Readers run beside
 * the workload in both cases, as a user would run them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rust_trace_workload.h"
#include "rust_trace.h"

#define TRACEFS "/sys/kernel/tracing"
static const char *const sched_events[] = {
	"sched/sched_switch", "sched/sched_wakeup", "sched/sched_wakeup_new",
	"sched/sched_process_fork", "sched/sched_process_exit", "sched/sched_process_exec",
	"sched/sched_migrate_task",
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void pingpong(long n)
{
	int ab[2], ba[2];
	char c = 'x';
	pid_t child;

	if (pipe(ab) || pipe(ba))
		die("pipe");
	child = fork();
	if (child == 0) {
		pin(1);
		for (long i = 0; i < n; i++)
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	pin(0);
	for (long i = 0; i < n; i++)
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			die("pingpong");
	waitpid(child, NULL, 0);
	close(ab[0]); close(ab[1]); close(ba[0]); close(ba[1]);
}

static void *thread_main(void *arg)
{
	return arg;
}

/* N threads created and joined one after the other. */
static void threadstorm(long n)
{
	for (long i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, thread_main, NULL) || pthread_join(t, NULL))
			die("thread");
	}
}

/*
 * The workload runs in a child forked before the tracer and its reader
 * threads are set up, so that every run forks from the same small process
 * (a child forked after the reader threads exist would copy their stacks'
 * page tables at each of its forks, which would bias the fork storm).
 * It waits on a pipe until go() starts the clock.
 */
struct workload {
	pid_t pid;
	int go;		/* write end: one byte starts the workload */
};

static struct workload spawn_workload(const char *w, long n)
{
	struct workload wl;
	int p[2];
	char c;

	if (pipe(p))
		die("pipe");
	wl.pid = fork();
	if (wl.pid < 0)
		die("fork");
	if (wl.pid == 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(1);
		if (!strcmp(w, "pingpong")) {
			pingpong(n);
		} else if (!strcmp(w, "threadstorm")) {
			pin(0);
			threadstorm(n);
		} else {
			/*
			 * On one CPU, the parent and each child in turn: that
			 * CPU never idles until the end, so the guest clock
			 * (-icount) never jumps ahead to a timer while all
			 * CPUs wait, which left a 2-5% spread between runs
			 * when children were placed on either CPU.
			 */
			pin(0);
			forkstorm(n);
		}
		_exit(0);
	}
	close(p[0]);
	wl.go = p[1];
	return wl;
}

/* Starts the workload and waits for it; returns its run time. */
static uint64_t run_workload(struct workload wl)
{
	uint64_t t0 = now_ns();

	if (write(wl.go, "g", 1) != 1)
		die("go");
	waitpid(wl.pid, NULL, 0);
	close(wl.go);
	return now_ns() - t0;
}

static void put(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		die(path);
	close(fd);
}

/* --- readers: a thread copying a file descriptor into a file until stop. */
struct reader {
	pthread_t thread;
	int in, out;
	volatile int stop;	/* set when the tracer stopped: drain, then end */
	uint64_t bytes;
	uint64_t cpu_ns;	/* the thread's CPU time, user and kernel (its reads) */
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	static __thread char buf[1 << 16];
	uint64_t t0 = thread_cpu_ns();

	for (;;) {
		struct pollfd p = { .fd = r->in, .events = POLLIN };
		ssize_t n;

		poll(&p, 1, 100);
		n = read(r->in, buf, sizeof(buf));
		if (n > 0) {
			if (write(r->out, buf, n) != n)
				die("write");
			r->bytes += n;
			continue;
		}
		if (n == 0)
			break; /* EOF (rust_trace after stop) */
		if (errno != EAGAIN && errno != EINTR)
			break;
		if (r->stop)
			break; /* ftrace: nothing left to read after stop */
	}
	r->cpu_ns = thread_cpu_ns() - t0;
	return NULL;
}

static void reader_start(struct reader *r, int in, const char *outpath)
{
	r->in = in;
	r->out = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	r->stop = 0;
	r->bytes = 0;
	if (r->out < 0)
		die(outpath);
	pthread_create(&r->thread, NULL, reader_main, r);
}

/* Returns the bytes the reader copied; adds its CPU time to *cpu_ns. */
static uint64_t reader_join(struct reader *r, uint64_t *cpu_ns)
{
	pthread_join(r->thread, NULL);
	close(r->out);
	close(r->in);
	*cpu_ns += r->cpu_ns;
	return r->bytes;
}

static uint64_t stat_field(int cpu, const char *field)
{
	char path[128], line[256];
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), TRACEFS "/per_cpu/cpu%d/stats", cpu);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			v = strtoull(strchr(line, ':') + 1, NULL, 10);
	fclose(f);
	return v;
}

static void bench_ftrace(const char *w, long n, int ncpu, unsigned int buf_kb)
{
	struct workload wl = spawn_workload(w, n);
	struct reader *r = calloc(ncpu, sizeof(*r));
	char path[128], val[32];
	uint64_t ns, bytes = 0, events = 0, lost = 0, reader_ns = 0;

	put(TRACEFS "/tracing_on", "0");
	put(TRACEFS "/events/enable", "0");
	snprintf(val, sizeof(val), "%u", buf_kb);
	put(TRACEFS "/buffer_size_kb", val);
	put(TRACEFS "/trace", "");
	for (unsigned int i = 0; i < sizeof(sched_events) / sizeof(sched_events[0]); i++) {
		snprintf(path, sizeof(path), TRACEFS "/events/%s/enable", sched_events[i]);
		put(path, "1");
	}
	for (int c = 0; c < ncpu; c++) {
		snprintf(path, sizeof(path), TRACEFS "/per_cpu/cpu%d/trace_pipe_raw", c);
		int fd = open(path, O_RDONLY | O_NONBLOCK);

		if (fd < 0)
			die(path);
		snprintf(path, sizeof(path), "/tmp/ftrace.cpu%d", c);
		reader_start(&r[c], fd, path);
	}
	put(TRACEFS "/tracing_on", "1");
	ns = run_workload(wl);
	put(TRACEFS "/tracing_on", "0");
	for (int c = 0; c < ncpu; c++)
		r[c].stop = 1;
	for (int c = 0; c < ncpu; c++)
		bytes += reader_join(&r[c], &reader_ns);
	for (int c = 0; c < ncpu; c++) {
		/* Recorded = read by the readers + left in the buffer. */
		events += stat_field(c, "read events") + stat_field(c, "entries");
		lost += stat_field(c, "overrun") + stat_field(c, "dropped events");
	}
	put(TRACEFS "/events/enable", "0");
	put(TRACEFS "/trace", "");
	printf("BENCH workload=%s tracer=ftrace ns=%llu events=%llu lost=%llu bytes=%llu "
	       "reader_ns=%llu\n", w, (unsigned long long)ns, (unsigned long long)events,
	       (unsigned long long)lost, (unsigned long long)bytes, (unsigned long long)reader_ns);
	free(r);
}

static void command(const char *cmd)
{
	int fd = open("/dev/rust_trace", O_WRONLY);

	if (fd < 0 || write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		die(cmd);
	close(fd);
}

#define BENCH_CGROUP "/sys/fs/cgroup/rust_trace_bench"

/*
 * The scheduler's events in a capture, as rtdecode stats counts them: the
 * events ftrace would record, without rust_trace's task-name records
 * (counted in its stats as events too). Outside the timed run.
 */
static unsigned long long count_sched_events(const char *path)
{
	char cmd[256], line[512];
	unsigned long long n = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "rtdecode stats %s", path);
	f = popen(cmd, "r");
	if (!f)
		die("popen rtdecode stats");
	while (fgets(line, sizeof(line), f))
		sscanf(line, "scheduler events %llu", &n);
	if (pclose(f) != 0 || !n)
		die("rtdecode stats: no scheduler events");
	return n;
}

static void bench_rust_trace(const char *w, long n, const char *tracer)
{
	struct workload wl = spawn_workload(w, n);
	struct rust_trace_stats st = { .cpu = RUST_TRACE_STATS_ALL };
	struct reader r;
	uint64_t ns, bytes, reader_ns = 0;
	pid_t sleeper = 0;
	char cmd[64];
	int fd, wfd;

	if (!strcmp(tracer, "rust_trace_pid")) {
		sleeper = fork();
		if (sleeper == 0) {
			pause();
			_exit(0);
		}
		snprintf(cmd, sizeof(cmd), "filter pid %d", sleeper);
		command(cmd);
	} else if (!strcmp(tracer, "rust_trace_cgroup")) {
		if (mkdir(BENCH_CGROUP, 0755) && errno != EEXIST)
			die(BENCH_CGROUP);
		command("filter cgroup /rust_trace_bench");
	} else if (!strcmp(tracer, "rust_trace_events")) {
		command("events exec");
	}
	fd = open("/dev/rust_trace", O_RDONLY);
	if (fd < 0)
		die("/dev/rust_trace");
	reader_start(&r, fd, "/tmp/rust_trace.out");
	ns = run_workload(wl);
	wfd = open("/dev/rust_trace", O_WRONLY);
	if (wfd < 0 || write(wfd, "stop", 4) != 4)
		die("stop");
	bytes = reader_join(&r, &reader_ns);
	if (ioctl(wfd, RUST_TRACE_IOC_STATS, &st))
		die("RUST_TRACE_IOC_STATS");
	close(wfd);
	command("filter clear");
	command("events all");
	if (sleeper) {
		kill(sleeper, SIGKILL);
		waitpid(sleeper, NULL, 0);
	}
	rmdir(BENCH_CGROUP);
	printf("BENCH workload=%s tracer=%s ns=%llu events=%llu lost=%llu bytes=%llu "
	       "reader_ns=%llu sched_events=%llu\n", w, tracer, (unsigned long long)ns,
	       (unsigned long long)(st.written - st.lost), (unsigned long long)st.lost,
	       (unsigned long long)bytes, (unsigned long long)reader_ns,
	       strcmp(tracer, "rust_trace") ? 0ull : count_sched_events("/tmp/rust_trace.out"));
}

/*
 * Flight recording instead of a streaming session: no reader while the
 * workload runs (`rust_trace_flight`), or with a latency trigger armed
 * that never fires (`rust_trace_trigger`: the sched_waking probe and the
 * check at each switch). Then a snapshot, timed from the command to its
 * return, and its reading, timed to EOF. events = the events recorded
 * (written: in flight recording nothing is lost, the oldest are
 * overwritten), bytes = the snapshot's.
 */
static void bench_flight(const char *w, long n, const char *tracer)
{
	struct workload wl = spawn_workload(w, n);
	struct rust_trace_stats st = { .cpu = RUST_TRACE_STATS_ALL };
	uint64_t ns, t0, snap_ns, read_ns, bytes = 0;
	char buf[65536];
	ssize_t got;
	int fd;

	command("flight");
	if (!strcmp(tracer, "rust_trace_trigger"))
		command("trigger latency 10000000");
	ns = run_workload(wl);
	t0 = now_ns();
	command("snapshot");
	snap_ns = now_ns() - t0;
	t0 = now_ns();
	fd = open("/dev/rust_trace", O_RDONLY);
	if (fd < 0)
		die("open snapshot");
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		bytes += got;
	read_ns = now_ns() - t0;
	close(fd);
	fd = open("/dev/rust_trace", O_WRONLY);
	if (fd < 0 || ioctl(fd, RUST_TRACE_IOC_STATS, &st))
		die("RUST_TRACE_IOC_STATS");
	close(fd);
	command("stop");
	printf("BENCH workload=%s tracer=%s ns=%llu events=%llu lost=%llu bytes=%llu "
	       "snap_ns=%llu read_ns=%llu overwritten=%llu\n",
	       w, tracer, (unsigned long long)ns, (unsigned long long)st.written,
	       (unsigned long long)st.lost, (unsigned long long)bytes,
	       (unsigned long long)snap_ns, (unsigned long long)read_ns,
	       (unsigned long long)st.overwritten);
}

/* The module's write-path microbenchmark (RUST_TRACE_IOC_MICROBENCH). */
static int microbench(long n, int flight)
{
	struct rust_trace_microbench b = {
		.nevents = n,
		.flags = flight ? RUST_TRACE_MICROBENCH_FLIGHT : 0,
	};
	int fd = open("/dev/rust_trace", O_WRONLY);

	if (fd < 0 || ioctl(fd, RUST_TRACE_IOC_MICROBENCH, &b))
		die("RUST_TRACE_IOC_MICROBENCH");
	close(fd);
	/* The PID is the task's in every event: its size (a varint) counts. */
	printf("MICRO flight=%d events=%llu ns_probe=%llu ns_clock=%llu ns_irq=%llu lost=%llu "
	       "batches=%llu ns_call=%llu ns_encode=%llu pid=%d\n",
	       flight, (unsigned long long)b.nevents, (unsigned long long)b.ns_probe,
	       (unsigned long long)b.ns_clock, (unsigned long long)b.ns_irq,
	       (unsigned long long)b.lost, (unsigned long long)b.batches,
	       (unsigned long long)b.ns_call, (unsigned long long)b.ns_encode, getpid());
	return 0;
}

int main(int argc, char **argv)
{
	int ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (argc >= 3 && !strcmp(argv[1], "microbench"))
		return microbench(atol(argv[2]), argc >= 4 && !strcmp(argv[3], "flight"));

	if (argc < 4 || (strcmp(argv[1], "pingpong") && strcmp(argv[1], "forkstorm") &&
			 strcmp(argv[1], "threadstorm"))) {
		fprintf(stderr, "usage: rust_trace_bench pingpong|forkstorm|threadstorm N "
				"none|ftrace|rust_trace|rust_trace_pid|rust_trace_cgroup|rust_trace_events|\n"
				"rust_trace_flight|rust_trace_trigger [buf_kb]\n");
		return 2;
	}
	if (!strcmp(argv[3], "none"))
		printf("BENCH workload=%s tracer=none ns=%llu events=0 lost=0 bytes=0\n", argv[1],
		       (unsigned long long)run_workload(spawn_workload(argv[1], atol(argv[2]))));
	else if (!strcmp(argv[3], "ftrace"))
		bench_ftrace(argv[1], atol(argv[2]), ncpu, argc > 4 ? atoi(argv[4]) : 512);
	else if (!strcmp(argv[3], "rust_trace_flight") || !strcmp(argv[3], "rust_trace_trigger"))
		bench_flight(argv[1], atol(argv[2]), argv[3]);
	else if (!strncmp(argv[3], "rust_trace", 10))
		bench_rust_trace(argv[1], atol(argv[2]), argv[3]);
	else
		die(argv[3]);
	fflush(stdout);
	return 0;
}
