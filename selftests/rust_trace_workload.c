// SPDX-License-Identifier: GPL-2.0
/*
 * rust_trace_workload: workloads the rust_trace selftests trace.
 *
 *   rust_trace_workload pingpong N      two processes, "rust_trace_ping" pinned to CPU 0 and
 *                               "rust_trace_pong" to CPU 1 (when there is one),
 *                               bounce a byte through two pipes N times;
 *                               prints "ping=PID pong=PID switches>=2N"
 *   rust_trace_workload pairs P N       P ping-pong pairs at once, pair i pinned to
 *                               CPUs (2i, 2i+1) modulo the CPU count
 *   rust_trace_workload forkstorm N     forks N children that exit at once
 *   rust_trace_workload threads T N     T threads pass a token around a ring of
 *                               pipes N times (T * N context switches);
 *                               prints "tgid=PID tids=TID,TID,..."
 *   rust_trace_workload spawn           forks a child that execs "rust_trace_workload noop";
 *                               prints "child=PID"
 *   rust_trace_workload mixed T N K     the ring of "threads T N" and, while it runs,
 *                               K children forked one after the other, each
 *                               exec'ing "rust_trace_workload noop"; prints
 *                               "tgid=PID tids=TID,TID,..." (the threads)
 *   rust_trace_workload renamers N      N children, four at a time; each renames
 *                               itself "rnI-a", sleeps, renames itself
 *                               "rnI-b", sleeps and exits
 *   rust_trace_workload oncpu CPU N     sleeps 50 us N times pinned to CPU
 *   rust_trace_workload hog CPU MS N    a scheduling delay: "rust_trace_hog", SCHED_FIFO
 *                               and pinned to CPU, spins MS milliseconds N
 *                               times (sleeping 2 ms between), while
 *                               "rust_trace_slp", pinned to the same CPU,
 *                               sleeps 1 ms again and again: its timer wakes
 *                               it during a spin, and it waits up to MS ms;
 *                               prints "hog=TID sleeper=TID"
 *   rust_trace_workload wakerace S      for S seconds, wakeups that start no wait:
 *                               "rust_trace_wt", pinned to CPU 0, reads an
 *                               eventfd that a thread spinning on CPU 1
 *                               bumps every 20 us, and spins 20 ms after
 *                               each wait (so a bump often finds it about
 *                               to sleep, still on its runqueue); a
 *                               SCHED_FIFO thread on CPU
 *                               0 preempts it for 2 ms every 30 ms. No real
 *                               wait of "rust_trace_wt" lasts more than a few
 *                               ms; prints "target=TID"
 *   rust_trace_workload failnth N CMD   writes CMD to /dev/rust_trace with the N-th
 *                               fault-injection point of the write failing
 *                               (/proc/thread-self/fail-nth); prints "ok" or
 *                               the error, then "injected" if the fault was
 *                               taken (the count reached 0), and exits 0;
 *                               1 if fail-nth is absent
 *   rust_trace_workload chain D         a fork chain D processes deep: each makes
 *                               the next (clone() sharing memory, files and
 *                               handlers, so a link costs little) and
 *                               sleeps; the last prints "leaf=PID depth=D";
 *                               each dies with its parent (PDEATHSIG), so
 *                               killing the first ends them all; SIGUSR1
 *                               wakes a link, which sleeps again
 *   rust_trace_workload uffdread S      opens /dev/rust_trace for reading and reads
 *                               into a page of a userfaultfd that answers
 *                               no fault for S seconds: the read stalls in
 *                               the copy to user space. Prints "stalled"
 *                               when it has for 0.5 s, then "poll=N MS ms"
 *                               (what a poll of the device from another
 *                               thread returned, in how long), then "read=N"
 *                               once the fault is answered (a zero page)
 *   rust_trace_workload ioreuse         a PID reused by a worker made outside
 *                               kernel_clone(): a child named "rtold-reuse"
 *                               runs and exits, PIDs are cycled (pid_max
 *                               400 for the while) until that PID comes
 *                               next, then an io_uring SQPOLL ring is set
 *                               up, whose poller thread (create_io_thread())
 *                               takes it and runs for 200 ms; prints
 *                               "old=PID sqp=TID" (equal when reused)
 *   rust_trace_workload cgns DIR CMD... opens /dev/rust_trace for writing as fd 5
 *                               from a new cgroup namespace rooted at the
 *                               cgroup directory DIR (it moves there
 *                               first), goes back to its first cgroup
 *                               namespace and cgroup, and runs CMD: a
 *                               writer on a descriptor whose opener saw
 *                               another cgroup root
 *   rust_trace_workload mark NAME       renames itself NAME and exits (a time mark
 *                               both tracers see, for rtdecode ftrace-diff)
 *   rust_trace_workload sigdfl CMD ...  runs CMD with SIGINT and SIGQUIT at their
 *                               default (a shell's background jobs ignore
 *                               them)
 *   rust_trace_workload pty CMD ...     runs CMD with its stdout and stderr on a
 *                               pseudo-terminal, as a shell would, copying
 *                               what it writes there to stdout; exits with
 *                               CMD's status
 *   rust_trace_workload noop            exits 0
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>
#include <linux/io_uring.h>
#include <dirent.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rust_trace_workload.h"

/* One ping-pong pair; returns after n round trips. Forks the pong side. */
static void pingpong(long n, int cpu0, int cpu1, int verbose)
{
	int ab[2], ba[2];
	pid_t child;
	char c = 'x';

	if (pipe(ab) || pipe(ba))
		die("pipe");
	prctl(PR_SET_NAME, "rust_trace_ping");
	pin(cpu0);
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		/* Only ping holds the other ends: its death ends pong too. */
		close(ab[1]);
		close(ba[0]);
		prctl(PR_SET_NAME, "rust_trace_pong");
		pin(cpu1);
		for (long i = 0; i < n; i++) {
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	close(ab[0]);
	close(ba[1]);
	if (verbose) {
		printf("ping=%d pong=%d switches>=%ld\n", getpid(), child, 2 * n);
		fflush(stdout);
	}
	for (long i = 0; i < n; i++) {
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			die("pingpong");
	}
	waitpid(child, NULL, 0);
}

/* A ring of threads passing a token through pipes. */
struct ring {
	int (*pipes)[2];
	int nthreads;
	long laps;
};

struct ring_member {
	struct ring *ring;
	int i;
	pid_t tid;	/* the thread's id, once it runs */
};

static void *ring_thread(void *arg)
{
	struct ring_member *m = arg;
	struct ring *r = m->ring;
	int in = r->pipes[m->i][0], out = r->pipes[(m->i + 1) % r->nthreads][1];
	char c;

	m->tid = gettid();
	for (long lap = 0; lap < r->laps; lap++) {
		if (read(in, &c, 1) != 1 || write(out, &c, 1) != 1)
			die("ring");
	}
	return NULL;
}

/* Forks a child that execs "rust_trace_workload noop" and waits for it. */
static pid_t spawn_noop(void)
{
	char self[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	pid_t p;

	if (len < 0)
		die("readlink");
	self[len] = 0;
	p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		/* By its real path, so that its name (comm) is "rust_trace_workload". */
		execl(self, "rust_trace_workload", "noop", (char *)NULL);
		_exit(127);
	}
	waitpid(p, NULL, 0);
	return p;
}

/* The ring of t threads, `spawns` children spawned while it runs. */
static void threads(int t, long laps, int print, long spawns)
{
	struct ring r = { .pipes = calloc(t, sizeof(*r.pipes)), .nthreads = t, .laps = laps };
	struct ring_member *m = calloc(t, sizeof(*m));
	pthread_t *th = calloc(t, sizeof(*th));
	char c = 't';

	prctl(PR_SET_NAME, "rust_trace_ring");
	for (int i = 0; i < t; i++)
		if (pipe(r.pipes[i]))
			die("pipe");
	for (int i = 0; i < t; i++) {
		m[i] = (struct ring_member){ &r, i };
		pthread_create(&th[i], NULL, ring_thread, &m[i]);
	}
	if (write(r.pipes[0][1], &c, 1) != 1)
		die("ring start");
	for (long i = 0; i < spawns; i++)
		spawn_noop();
	for (int i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	if (print) {
		printf("tgid=%d tids=", getpid());
		for (int i = 0; i < t; i++)
			printf("%s%d", i ? "," : "", m[i].tid);
		printf("\n");
	}
}

/* One renamer: two names, a sleep after each. */
static void renamer(long i)
{
	char name[16];

	snprintf(name, sizeof(name), "rn%d-a", (int)(i % 100000));
	prctl(PR_SET_NAME, name);
	usleep(200);
	snprintf(name, sizeof(name), "rn%d-b", (int)(i % 100000));
	prctl(PR_SET_NAME, name);
	usleep(200);
	_exit(0);
}

static void renamers(long n)
{
	long running = 0;

	for (long i = 0; i < n; i++) {
		pid_t p;

		if (running == 4) {
			wait(NULL);
			running--;
		}
		p = fork();
		if (p < 0)
			die("fork");
		if (p == 0)
			renamer(i);
		running++;
	}
	while (wait(NULL) > 0)
		;
}

/* The hog's loop: spins `ms` milliseconds, `n` times. */
static long hog_ms, hog_rounds;
static volatile int hog_done;
static volatile pid_t sleeper_tid;

static long now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000L + t.tv_nsec / 1000;
}

static void *sleeper(void *arg)
{
	prctl(PR_SET_NAME, "rust_trace_slp");
	pin(*(int *)arg);
	sleeper_tid = gettid();
	while (!hog_done)
		usleep(1000);
	return NULL;
}

/* A SCHED_FIFO hog and a SCHED_OTHER sleeper on one CPU. */
static void hog(int cpu, long ms, long n)
{
	struct sched_param sp = { .sched_priority = 1 };
	pthread_t t;

	hog_ms = ms;
	hog_rounds = n;
	if (pthread_create(&t, NULL, sleeper, &cpu))
		die("pthread_create");
	prctl(PR_SET_NAME, "rust_trace_hog");
	pin(cpu);
	if (sched_setscheduler(0, SCHED_FIFO, &sp))
		die("sched_setscheduler");
	while (!sleeper_tid)
		usleep(1000);
	printf("hog=%d sleeper=%d\n", gettid(), sleeper_tid);
	fflush(stdout);
	for (long i = 0; i < hog_rounds; i++) {
		long end = now_us() + hog_ms * 1000;

		while (now_us() < end)
			;
		usleep(2000);
	}
	hog_done = 1;
	pthread_join(t, NULL);
}

/* wakerace: the eventfd, the end, the target's TID. */
static int race_fd;
static volatile int race_done;
static volatile pid_t race_tid;

/* spin_ms: runs on its CPU for `ms` milliseconds. */
static void spin_ms(long ms)
{
	long end = now_us() + ms * 1000;

	while (now_us() < end)
		;
}

static void *race_target(void *arg)
{
	uint64_t v;

	(void)arg;
	prctl(PR_SET_NAME, "rust_trace_wt");
	pin(0);
	race_tid = gettid();
	while (!race_done) {
		/* The first read takes what the spin let pile up; the second
		 * sleeps until the next bump, which often finds the target
		 * still on its runqueue, about to sleep. */
		if (read(race_fd, &v, sizeof(v)) != sizeof(v) ||
		    read(race_fd, &v, sizeof(v)) != sizeof(v))
			die("read eventfd");
		spin_ms(20);
	}
	return NULL;
}

static void *race_waker(void *arg)
{
	uint64_t one = 1;

	(void)arg;
	prctl(PR_SET_NAME, "rust_trace_wk");
	pin(1);
	while (!race_done) {
		long next = now_us() + 20;

		if (write(race_fd, &one, sizeof(one)) != sizeof(one))
			die("write eventfd");
		while (now_us() < next)
			;
	}
	/* The target's last read returns. */
	if (write(race_fd, &one, sizeof(one)) != sizeof(one))
		die("write eventfd");
	return NULL;
}

static void *race_preempter(void *arg)
{
	struct sched_param sp = { .sched_priority = 1 };

	(void)arg;
	prctl(PR_SET_NAME, "rust_trace_fifo");
	pin(0);
	if (sched_setscheduler(0, SCHED_FIFO, &sp))
		die("sched_setscheduler");
	while (!race_done) {
		usleep(30000);
		spin_ms(2);
	}
	return NULL;
}

/* chain: the stacks of its links, 16 KiB each, and its depth. */
static char *chain_stacks;
static long chain_depth;
#define CHAIN_STACK (16 * 1024)

static void chain_wake(int sig)
{
	(void)sig;
}

/* Link i of the chain: makes link i + 1, or is the leaf; sleeps. */
static int chain_link(void *arg)
{
	long i = (long)arg;
	char msg[64];
	int n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (i + 1 < chain_depth) {
		if (clone(chain_link, chain_stacks + (i + 2) * CHAIN_STACK,
			  CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | SIGCHLD,
			  (void *)(i + 1)) < 0)
			_exit(1);
	} else {
		n = snprintf(msg, sizeof(msg), "leaf=%d depth=%ld\n", getpid(), chain_depth);
		if (write(1, msg, n) != n)
			_exit(1);
	}
	for (;;)
		pause();
	return 0;
}

static void chain(long depth)
{
	chain_depth = depth < 1 ? 1 : depth;
	chain_stacks = mmap(NULL, (chain_depth + 1) * CHAIN_STACK, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (chain_stacks == MAP_FAILED)
		die("mmap");
	signal(SIGUSR1, chain_wake);
	setvbuf(stdout, NULL, _IONBF, 0);
	/* This process is link 0. */
	chain_link((void *)0L);
}

/* uffdread: the device, the page its read copies into, what it returned. */
static int uffd_dev;
static char *uffd_page;
static volatile long uffd_read_ret = -2;

static void *uffd_reader(void *arg)
{
	(void)arg;
	uffd_read_ret = read(uffd_dev, uffd_page, 4096);
	return NULL;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void uffdread(long seconds)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_zeropage zp = { .mode = 0 };
	struct pollfd pfd;
	struct timespec t0;
	pthread_t t;
	int uffd, n;

	setvbuf(stdout, NULL, _IONBF, 0);
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		die("userfaultfd");
	uffd_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (uffd_page == MAP_FAILED)
		die("mmap");
	reg.range.start = (unsigned long)uffd_page;
	reg.range.len = 4096;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		die("UFFDIO_REGISTER");
	uffd_dev = open("/dev/rust_trace", O_RDONLY);
	if (uffd_dev < 0)
		die("/dev/rust_trace");
	if (pthread_create(&t, NULL, uffd_reader, NULL))
		die("pthread_create");
	usleep(500000);
	printf("stalled\n");
	/* The reader is in its copy: a poll from here must not wait for it. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pfd.fd = uffd_dev;
	pfd.events = POLLIN;
	n = poll(&pfd, 1, 0);
	printf("poll=%d %ld ms\n", n, ms_since(&t0));
	sleep(seconds);
	zp.range = reg.range;
	if (ioctl(uffd, UFFDIO_ZEROPAGE, &zp) && errno != EEXIST)
		die("UFFDIO_ZEROPAGE");
	pthread_join(t, NULL);
	printf("read=%ld\n", uffd_read_ret);
}

/* ioreuse: writes `v` to the sysctl file `path`; returns its old value. */
static long sysctl_swap(const char *path, long v)
{
	char buf[32];
	long old;
	FILE *f = fopen(path, "r+");

	if (!f || !fgets(buf, sizeof(buf), f))
		die(path);
	old = atol(buf);
	rewind(f);
	fprintf(f, "%ld\n", v);
	if (fclose(f))
		die(path);
	return old;
}

/* ioreuse: the TID of this process's thread whose name starts `prefix`. */
static int thread_named(const char *prefix)
{
	char path[300], comm[64];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/task");
	int tid = 0;

	while (dir && (d = readdir(dir))) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", d->d_name);
		f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f) && !strncmp(comm, prefix, strlen(prefix)))
			tid = atoi(d->d_name);
		if (f)
			fclose(f);
	}
	if (dir)
		closedir(dir);
	return tid;
}

static void ioreuse(void)
{
	struct io_uring_params p = { .flags = IORING_SETUP_SQPOLL, .sq_thread_idle = 1000 };
	long pid_max;
	pid_t old, c;
	int ring, tid = 0, st;

	setvbuf(stdout, NULL, _IONBF, 0);
	/*
	 * PIDs below 400 for the while, so that a cycle is a hundred forks
	 * (a slow kernel forks a few hundred a second), not thousands: first
	 * to a PID in 320..389, above those a wrap skips (RESERVED_PIDS, 300)
	 * and far enough below the top that `old - 1` comes before a wrap.
	 */
	pid_max = sysctl_swap("/proc/sys/kernel/pid_max", 400);
	for (int i = 0; i < 2000; i++) {
		c = fork();
		if (c == 0)
			_exit(0);
		if (c > 0)
			waitpid(c, &st, 0);
		if (c >= 320 && c < 390)
			break;
	}
	old = fork();
	if (old < 0)
		die("fork");
	if (old == 0) {
		prctl(PR_SET_NAME, "rtold-reuse");
		usleep(20000);
		_exit(0);
	}
	waitpid(old, &st, 0);
	/* Cycle the PIDs until `old` comes next. */
	for (long i = 0; i < 2000; i++) {
		c = fork();
		if (c < 0)
			continue;
		if (c == 0)
			_exit(0);
		waitpid(c, &st, 0);
		if (c == old - 1)
			break;
	}
	ring = syscall(__NR_io_uring_setup, 4, &p);
	sysctl_swap("/proc/sys/kernel/pid_max", pid_max);
	if (ring < 0)
		die("io_uring_setup");
	for (int i = 0; i < 100 && !tid; i++) {
		tid = thread_named("iou-sqp");
		usleep(1000);
	}
	/* The poller runs, then idles and sleeps. */
	usleep(200000);
	printf("old=%d sqp=%d\n", old, tid);
	close(ring);
}

/* cgns: writes this process's PID into `dir`/cgroup.procs. */
static void cgroup_enter(const char *dir)
{
	char path[512], pid[32];
	int fd, n;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, pid, n) != n)
		die(path);
	close(fd);
}

static void cgns(const char *dir, char **cmd)
{
	char home[1024] = "/sys/fs/cgroup", line[512];
	int ns = open("/proc/self/ns/cgroup", O_RDONLY), dev, high;
	FILE *f = fopen("/proc/self/cgroup", "r");

	/* The cgroup to come back to ("0::/path"). */
	if (f && fgets(line, sizeof(line), f) && !strncmp(line, "0::", 3)) {
		line[strcspn(line, "\n")] = 0;
		snprintf(home, sizeof(home), "/sys/fs/cgroup%s", line + 3);
	}
	if (f)
		fclose(f);
	if (ns < 0)
		die("/proc/self/ns/cgroup");
	/* Above fd 5, which the device takes below (ns may be 5 itself). */
	high = fcntl(ns, F_DUPFD_CLOEXEC, 10);
	if (high < 0)
		die("F_DUPFD");
	close(ns);
	ns = high;
	cgroup_enter(dir);
	if (unshare(CLONE_NEWCGROUP))
		die("unshare(CLONE_NEWCGROUP)");
	dev = open("/dev/rust_trace", O_WRONLY);
	if (dev < 0 || dup2(dev, 5) < 0)
		die("/dev/rust_trace");
	if (setns(ns, CLONE_NEWCGROUP))
		die("setns");
	cgroup_enter(home);
	execvp(cmd[0], cmd);
	die(cmd[0]);
}

static void wakerace(long seconds)
{
	pthread_t t[3];

	race_fd = eventfd(0, 0);
	if (race_fd < 0)
		die("eventfd");
	if (pthread_create(&t[0], NULL, race_target, NULL))
		die("pthread_create");
	while (!race_tid)
		usleep(1000);
	printf("target=%d\n", race_tid);
	fflush(stdout);
	if (pthread_create(&t[1], NULL, race_waker, NULL) ||
	    pthread_create(&t[2], NULL, race_preempter, NULL))
		die("pthread_create");
	sleep(seconds);
	race_done = 1;
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "pingpong")) {
		pingpong(atol(argv[2]), 0, 1, 1);
	} else if (argc >= 4 && !strcmp(argv[1], "pairs")) {
		int pairs = atoi(argv[2]);
		long n = atol(argv[3]);

		for (int i = 0; i < pairs; i++) {
			if (fork() == 0) {
				pingpong(n, 2 * i, 2 * i + 1, 0);
				_exit(0);
			}
		}
		while (wait(NULL) > 0)
			;
	} else if (argc >= 4 && !strcmp(argv[1], "threads")) {
		threads(atoi(argv[2]), atol(argv[3]), 1, 0);
	} else if (argc >= 5 && !strcmp(argv[1], "mixed")) {
		threads(atoi(argv[2]), atol(argv[3]), 1, atol(argv[4]));
	} else if (argc >= 3 && !strcmp(argv[1], "forkstorm")) {
		forkstorm(atol(argv[2]));
	} else if (argc >= 2 && !strcmp(argv[1], "spawn")) {
		/* Printed once the child ran: waitpid() inside. */
		printf("child=%d\n", spawn_noop());
	} else if (argc >= 3 && !strcmp(argv[1], "renamers")) {
		renamers(atol(argv[2]));
	} else if (argc >= 4 && !strcmp(argv[1], "oncpu")) {
		long n = atol(argv[3]);

		pin(atoi(argv[2]));
		for (long i = 0; i < n; i++)
			usleep(50);
	} else if (argc >= 5 && !strcmp(argv[1], "hog")) {
		hog(atoi(argv[2]), atol(argv[3]), atol(argv[4]));
	} else if (argc >= 3 && !strcmp(argv[1], "wakerace")) {
		wakerace(atol(argv[2]));
	} else if (argc >= 4 && !strcmp(argv[1], "failnth")) {
		int dev = open("/dev/rust_trace", O_WRONLY);
		int fn = open("/proc/thread-self/fail-nth", O_RDWR);
		char left[16] = "";
		ssize_t r;
		int err;

		if (dev < 0)
			die("/dev/rust_trace");
		if (fn < 0)
			die("/proc/thread-self/fail-nth");
		if (write(fn, argv[2], strlen(argv[2])) < 0)
			die("fail-nth");
		r = write(dev, argv[3], strlen(argv[3]));
		err = errno;
		/* What is left of the count, then no more injection. */
		if (pread(fn, left, sizeof(left) - 1, 0) < 0)
			die("fail-nth");
		if (write(fn, "0", 1) < 0)
			die("fail-nth");
		printf("%s %s\n", r < 0 ? strerror(err) : "ok",
		       atoi(left) == 0 ? "injected" : "not-reached");
	} else if (argc >= 3 && !strcmp(argv[1], "chain")) {
		chain(atol(argv[2]));
	} else if (argc >= 4 && !strcmp(argv[1], "cgns")) {
		cgns(argv[2], argv + 3);
	} else if (argc >= 2 && !strcmp(argv[1], "ioreuse")) {
		ioreuse();
	} else if (argc >= 3 && !strcmp(argv[1], "uffdread")) {
		uffdread(atol(argv[2]));
	} else if (argc >= 3 && !strcmp(argv[1], "mark")) {
		prctl(PR_SET_NAME, argv[2]);
	} else if (argc >= 3 && !strcmp(argv[1], "sigdfl")) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		execvp(argv[2], argv + 2);
		die(argv[2]);
	} else if (argc >= 3 && !strcmp(argv[1], "pty")) {
		int m = posix_openpt(O_RDWR | O_NOCTTY), st;
		char buf[4096];
		ssize_t n;
		pid_t p;

		if (m < 0 || grantpt(m) || unlockpt(m))
			die("posix_openpt");
		p = fork();
		if (p < 0)
			die("fork");
		if (p == 0) {
			int t = open(ptsname(m), O_RDWR | O_NOCTTY);

			/* Both on the terminal: one stream, in the order written. */
			if (t < 0 || dup2(t, 1) < 0 || dup2(t, 2) < 0)
				_exit(127);
			close(t);
			close(m);
			execvp(argv[2], argv + 2);
			_exit(127);
		}
		/* read() fails (EIO) once the child's side is closed. */
		while ((n = read(m, buf, sizeof(buf))) > 0)
			if (write(1, buf, n) != n)
				break;
		waitpid(p, &st, 0);
		return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	} else if (argc >= 2 && !strcmp(argv[1], "noop")) {
		return 0;
	} else {
		fprintf(stderr, "usage: rust_trace_workload pingpong N | pairs P N | threads T N | forkstorm N |\n"
				"       spawn | mixed T N K | renamers N | oncpu CPU N | hog CPU MS N |\n"
				"       wakerace S | failnth N CMD | chain D | uffdread S | ioreuse |\n"
				"       cgns DIR CMD... | mark NAME |\n"
				"       sigdfl CMD... | pty CMD... | noop\n");
		return 2;
	}
	return 0;
}
