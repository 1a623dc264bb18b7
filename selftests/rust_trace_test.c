// SPDX-License-Identifier: GPL-2.0
/*
 * rust_trace_test: the reader and command semantics of /dev/rust_trace.
 *
 * Each test is one behaviour a user relies on. Streams are checked with the
 * decoder (`rtdecode validate`, which checks every rule of docs/FORMAT.md,
 * the accounting identity included) and with the module's own counters
 * (RUST_TRACE_IOC_STATS). The module is loaded if it is not (RUST_TRACE_MODULE names the
 * .ko); without it every test skips.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rust_trace.h"

#define DEV "/dev/rust_trace"

static const char *module_path(void)
{
	const char *p = getenv("RUST_TRACE_MODULE");

	return p ? p : "/lib/modules/rust_trace.ko";
}

/* What ensure_module() found. */
enum module_state {
	MODULE_READY,		/* /dev/rust_trace is there */
	MODULE_ABSENT,		/* no module file: the tests skip */
	MODULE_BROKEN,		/* the module is there but did not load: they fail */
};

/* Loads the module if needed. */
static enum module_state ensure_module(void)
{
	char cmd[512];

	if (access(DEV, F_OK) == 0)
		return MODULE_READY;
	if (access(module_path(), R_OK))
		return MODULE_ABSENT;
	snprintf(cmd, sizeof(cmd), "insmod %s", module_path());
	if (system(cmd) || access(DEV, F_OK))
		return MODULE_BROKEN;
	return MODULE_READY;
}

static int write_cmd(const char *cmd)
{
	int fd = open(DEV, O_WRONLY);
	int ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd) ? 0 : -errno;
	close(fd);
	return ret;
}

static int stats(struct rust_trace_stats *st, uint32_t cpu)
{
	int fd = open(DEV, O_WRONLY);
	int ret;

	memset(st, 0, sizeof(*st));
	st->cpu = cpu;
	if (fd < 0)
		return -errno;
	ret = ioctl(fd, RUST_TRACE_IOC_STATS, st) ? -errno : 0;
	close(fd);
	return ret;
}

static void run(const char *cmd)
{
	if (system(cmd))
		fprintf(stderr, "# command failed: %s\n", cmd);
}

/*
 * Reads the reader `rfd` to EOF in reads of `chunk` bytes into `path`,
 * while a child runs `workload` and then writes "stop". Returns the bytes
 * read, or -errno of a failed read.
 */
static long capture_fd(int rfd, size_t chunk, const char *workload, const char *path)
{
	char *buf = malloc(chunk);
	int out = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	long total = 0;
	pid_t child;

	if (!buf || out < 0)
		return -ENOMEM;
	child = fork();
	if (child == 0) {
		/* Not a second holder of the reader: its session must end with it. */
		close(rfd);
		if (workload)
			run(workload);
		_exit(write_cmd("stop") ? 1 : 0);
	}
	for (;;) {
		ssize_t n = read(rfd, buf, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			total = -errno;
			break;
		}
		if (n == 0)
			break;
		if (write(out, buf, n) != n) {
			total = -EIO;
			break;
		}
		total += n;
	}
	waitpid(child, NULL, 0);
	close(out);
	free(buf);
	return total;
}

static long capture(size_t chunk, const char *workload, const char *path)
{
	int rfd = open(DEV, O_RDONLY);
	long n;

	if (rfd < 0)
		return -errno;
	unlink(path);
	n = capture_fd(rfd, chunk, workload, path);
	close(rfd);
	return n;
}

/* Runs the decoder's validation; 0 when the stream is valid. */
static int validate(const char *path)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rtdecode validate %s", path);
	return system(cmd);
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

FIXTURE(rt) {
	char path[64];
};

FIXTURE_SETUP(rt)
{
	enum module_state m = ensure_module();

	if (m == MODULE_ABSENT)
		SKIP(return, "no rust_trace module at %s (RUST_TRACE_MODULE)", module_path());
	ASSERT_EQ(m, MODULE_READY)
		TH_LOG("%s is there but does not load (see dmesg)", module_path());
	snprintf(self->path, sizeof(self->path), "/tmp/rust_trace_test.%d", getpid());
}

FIXTURE_TEARDOWN(rt)
{
	unlink(self->path);
}

/* The stream: the header first, the footer last, then read() returns 0. */
TEST_F_TIMEOUT(rt, stream_is_header_batches_footer_then_eof, 600)
{
	unsigned char hdr[RUST_TRACE_HEADER_LEN], tail[8];
	uint32_t nr_cpus, tag, len;
	long size;
	int fd;

	ASSERT_GT(capture(65536, "rust_trace_workload pingpong 2000 >/dev/null", self->path), RUST_TRACE_HEADER_LEN);
	fd = open(self->path, O_RDONLY);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(read(fd, hdr, RUST_TRACE_HEADER_LEN), RUST_TRACE_HEADER_LEN);
	ASSERT_EQ(memcmp(hdr, "RSTRACE\0", 8), 0);
	memcpy(&nr_cpus, hdr + 16, 4);
	size = file_size(self->path);
	len = RUST_TRACE_FOOTER_FIXED_LEN + RUST_TRACE_FOOTER_CPU_LEN * nr_cpus;
	ASSERT_GT(size, RUST_TRACE_HEADER_LEN + len);
	ASSERT_EQ(pread(fd, tail, 8, size - len), 8);
	memcpy(&tag, tail, 4);
	ASSERT_EQ(memcmp(&tag, "FOOT", 4), 0);
	memcpy(&tag, tail + 4, 4);
	ASSERT_EQ(tag, len);
	close(fd);
	ASSERT_EQ(validate(self->path), 0);
}

/* One reader at a time. */
TEST_F(rt, second_reader_gets_ebusy)
{
	int a = open(DEV, O_RDONLY);

	ASSERT_GE(a, 0);
	ASSERT_EQ(open(DEV, O_RDONLY), -1);
	ASSERT_EQ(errno, EBUSY);
	/* Writers are not readers: they may open beside it. */
	int w = open(DEV, O_WRONLY);

	ASSERT_GE(w, 0);
	close(w);
	close(a);
	/* Closing the reader ends its session: a new reader may open. */
	a = open(DEV, O_RDONLY);
	ASSERT_GE(a, 0);
	close(a);
}

/* O_NONBLOCK: the header is ready at once; then nothing is, so EAGAIN. */
TEST_F(rt, nonblocking_read_with_nothing_ready_gets_eagain)
{
	char buf[4096];
	int fd = open(DEV, O_RDONLY | O_NONBLOCK);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(read(fd, buf, sizeof(buf)), RUST_TRACE_HEADER_LEN);
	ASSERT_EQ(read(fd, buf, sizeof(buf)), -1);
	ASSERT_EQ(errno, EAGAIN);
	close(fd);
}

/* poll: not readable when empty, readable after a flush, and at EOF. */
TEST_F_TIMEOUT(rt, poll_wakes_on_flush_and_at_eof, 600)
{
	struct pollfd p;
	char buf[65536];
	ssize_t n;
	int fd = open(DEV, O_RDONLY | O_NONBLOCK);

	ASSERT_GE(fd, 0);
	p.fd = fd;
	p.events = POLLIN;
	ASSERT_EQ(poll(&p, 1, 0), 1); /* the header */
	ASSERT_EQ(read(fd, buf, sizeof(buf)), RUST_TRACE_HEADER_LEN);
	ASSERT_EQ(poll(&p, 1, 0), 0);
	run("rust_trace_workload pingpong 100 >/dev/null");
	ASSERT_EQ(write_cmd("flush"), 0);
	ASSERT_EQ(poll(&p, 1, 2000), 1);
	ASSERT_TRUE(p.revents & POLLIN);
	n = read(fd, buf, sizeof(buf));
	ASSERT_GT(n, 0);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	ASSERT_EQ(write_cmd("stop"), 0);
	ASSERT_EQ(poll(&p, 1, 2000), 1);
	ASSERT_TRUE(p.revents & POLLIN);
	do {
		n = read(fd, buf, sizeof(buf));
	} while (n > 0);
	ASSERT_EQ(n, 0); /* EOF, not EAGAIN, once stopped and drained */
	close(fd);
}

/* Bad commands: EINVAL, and the session goes on. */
TEST_F(rt, unknown_and_oversized_commands_get_einval_and_change_nothing)
{
	char big[8192];
	struct rust_trace_stats st;
	int w, r = open(DEV, O_RDONLY | O_NONBLOCK);

	ASSERT_GE(r, 0);
	w = open(DEV, O_WRONLY);
	ASSERT_GE(w, 0);
	ASSERT_EQ(write(w, "bogus", 5), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(write(w, "stop now", 8), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(write(w, "", 0), 0);
	memset(big, 's', sizeof(big));
	ASSERT_EQ(write(w, big, sizeof(big)), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(stats(&st, RUST_TRACE_STATS_ALL), 0);
	ASSERT_TRUE(st.flags & RUST_TRACE_STATS_F_RUNNING);
	ASSERT_TRUE(st.flags & RUST_TRACE_STATS_F_READER);
	/* A command may end with a newline, as `echo` writes it. */
	ASSERT_EQ(write(w, "stop\n", 5), 5);
	ASSERT_EQ(stats(&st, RUST_TRACE_STATS_ALL), 0);
	ASSERT_FALSE(st.flags & RUST_TRACE_STATS_F_RUNNING);
	close(w);
	close(r);
}

/* A thread that waits on a pipe; its TID for the caller. */
struct waiter {
	int fds[2];
	pid_t tid;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	char c;

	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	if (read(w->fds[0], &c, 1) < 0)
		return NULL;
	return NULL;
}

/*
 * Bad filter commands get EINVAL (malformed), ENOENT (no such cgroup) or
 * ESRCH (no such task, or a thread given as a process), before and during
 * a session, and change nothing: the capture states the one filter set
 * before them, once.
 */
TEST_F_TIMEOUT(rt, bad_filter_commands_get_an_error_and_change_nothing, 600)
{
	static const struct {
		const char *cmd;
		int err;
	} bad[] = {
		{ "filter", EINVAL },
		{ "filter pid", EINVAL },
		{ "filter pid abc", EINVAL },
		{ "filter pid 12x", EINVAL },
		{ "filter pid 0", EINVAL },
		{ "filter pid -1", EINVAL },
		{ "filter pid 2147483648", EINVAL },
		{ "filter pid 1 2 3 4 5 6 7 8 9", EINVAL },
		{ "filter pids 1", EINVAL },
		{ "filter tgid", EINVAL },
		{ "filter cgroup", EINVAL },
		{ "filter cgroup relative/path", EINVAL },
		{ "filter cgroup / /", EINVAL },
		{ "filter cgroup /rust_trace_no_such_cgroup", ENOENT },
		{ "filter clear now", EINVAL },
		{ "events", EINVAL },
		{ "events bogus", EINVAL },
		{ "events switch,,wakeup", EINVAL },
		{ "events switch, wakeup", EINVAL },
		{ "filter pid 99999999", ESRCH },
	};
	struct waiter w = { .tid = 0 };
	char cmd[128];
	pthread_t th;
	int round, r;
	size_t i;

	ASSERT_EQ(pipe(w.fds), 0);
	ASSERT_EQ(pthread_create(&th, NULL, waiter_main, &w), 0);
	while (!__atomic_load_n(&w.tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	snprintf(cmd, sizeof(cmd), "filter tgid %d", getpid());
	ASSERT_EQ(write_cmd(cmd), 0);
	r = -1;
	for (round = 0; round < 2; round++) {
		/* Round 0 before the session, round 1 during it. */
		if (round == 1) {
			r = open(DEV, O_RDONLY);
			ASSERT_GE(r, 0);
		}
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			const char *c = bad[i].cmd;
			int ret = write_cmd(c);

			EXPECT_EQ(ret, -bad[i].err)
				TH_LOG("'%s' gave %d", c, ret);
		}
		/* A thread that is not its process's leader is no process. */
		snprintf(cmd, sizeof(cmd), "filter tgid %d", w.tid);
		EXPECT_EQ(write_cmd(cmd), -ESRCH);
		/* ... but it is a task. */
		snprintf(cmd, sizeof(cmd), "filter pid %d", w.tid);
		ASSERT_EQ(write_cmd(cmd), 0);
		snprintf(cmd, sizeof(cmd), "filter tgid %d", getpid());
		ASSERT_EQ(write_cmd(cmd), 0);
	}
	ASSERT_EQ(write(w.fds[1], "x", 1), 1);
	pthread_join(th, NULL);
	ASSERT_EQ(write_cmd("stop"), 0);
	unlink(self->path);
	ASSERT_GT(capture_fd(r, 65536, NULL, self->path), 0);
	close(r);
	ASSERT_EQ(write_cmd("filter clear"), 0);
	ASSERT_EQ(validate(self->path), 0);
	/*
	 * Three filter records: the session's start (tgid), the valid change
	 * to the thread's PID and the one back; two of them say tgid.
	 */
	snprintf(cmd, sizeof(cmd),
		 "test \"$(rtdecode report %s | grep -c ' filter  *tgid %d$')\" = 2",
		 self->path, getpid());
	EXPECT_EQ(system(cmd), 0) {
		snprintf(cmd, sizeof(cmd), "rtdecode report %s | grep ' filter ' >&2", self->path);
		run(cmd);
	}
}

/*
 * With no session, `stop` and `flush` have nothing to act on: ESRCH, and
 * nothing changes (a `stop` that succeeded silently would let a script's
 * `cat` that opens just after it block for ever).
 */
TEST_F(rt, stop_and_flush_without_a_session_get_esrch)
{
	struct rust_trace_stats st;
	int r;

	ASSERT_EQ(write_cmd("stop"), -ESRCH);
	ASSERT_EQ(write_cmd("flush"), -ESRCH);
	ASSERT_EQ(stats(&st, RUST_TRACE_STATS_ALL), 0);
	ASSERT_FALSE(st.flags & (RUST_TRACE_STATS_F_RUNNING | RUST_TRACE_STATS_F_READER));
	/* Nothing was left pending: a new session runs until its own stop. */
	r = open(DEV, O_RDONLY | O_NONBLOCK);
	ASSERT_GE(r, 0);
	ASSERT_EQ(stats(&st, RUST_TRACE_STATS_ALL), 0);
	ASSERT_TRUE(st.flags & RUST_TRACE_STATS_F_RUNNING);
	close(r);
	ASSERT_EQ(write_cmd("stop"), -ESRCH);
}

/* Within a session, `stop` is idempotent, and `flush` after it is a no-op. */
TEST_F(rt, stop_twice_in_a_session_succeeds)
{
	int r = open(DEV, O_RDONLY);

	ASSERT_GE(r, 0);
	ASSERT_EQ(write_cmd("stop"), 0);
	ASSERT_EQ(write_cmd("stop"), 0);
	ASSERT_EQ(write_cmd("flush"), 0);
	close(r);
}

/* Sets the calling thread's policy; 0 on success. */
static int set_policy(int policy, int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	return sched_setscheduler(0, policy, &sp);
}

/* A time in seconds. */
static double secs(struct timespec t)
{
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* The state letter of /proc/PID/stat, or 0. */
static char task_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * A `stop` still running when its session's reader closes must not end the
 * session a new reader starts right after. The interleaving is forced on
 * one CPU: this task runs at SCHED_FIFO, the stopper at SCHED_OTHER, so
 * the stopper runs only while this task sleeps. Once the stopper sleeps
 * inside stop() (waiting for the probes to drain, the session lock held),
 * this task closes its reader, which blocks on that lock; the stopper's
 * unlock hands the CPU straight back here, and a new session starts
 * before the stopper runs the rest of its stop().
 *
 * The stopper is not at SCHED_IDLE: there, any other task on the CPU
 * starves it (on the debug kernel for minutes, while it holds the session
 * lock this task waits for: a mutex lends no priority), and polling its
 * state every 50 us left it too little of the CPU to reach stop() at all.
 */
TEST_F_TIMEOUT(rt, a_late_stop_does_not_end_the_next_session, 600)
{
	unsigned char buf[65536];
	int hits = 0;
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
	ASSERT_EQ(set_policy(SCHED_FIFO, 10), 0);
	for (int i = 0; i < 10; i++) {
		struct rust_trace_stats st;
		struct timespec t0, t1;
		int r1, r2, status;
		ssize_t n;
		pid_t stopper;
		char state = 0;

		r1 = open(DEV, O_RDONLY);
		ASSERT_GE(r1, 0);
		ASSERT_EQ(read(r1, buf, RUST_TRACE_HEADER_LEN), RUST_TRACE_HEADER_LEN);
		stopper = fork();
		ASSERT_GE(stopper, 0);
		if (stopper == 0) {
			close(r1);
			if (set_policy(SCHED_OTHER, 0))
				_exit(2);
			_exit(write_cmd("stop") ? 1 : 0);
		}
		/*
		 * Wait (sleeping, so the stopper runs) until it sleeps in
		 * stop(), for at most 10 s. A poll every millisecond leaves
		 * the stopper most of the CPU and still sees it in the drain
		 * wait, which lasts an RCU grace period or more.
		 */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			usleep(1000);
			state = task_state(stopper);
			if (state == 'Z' || state == 0)
				break;
			clock_gettime(CLOCK_MONOTONIC, &t1);
		} while (state != 'D' && secs(t1) - secs(t0) < 10.0);
		hits += state == 'D';
		if (state != 'D') {
			/*
			 * Not caught inside stop(): it may not have written its
			 * `stop` yet, which would then rightly end the next
			 * session. Let it finish on this session first (a round
			 * that proves nothing).
			 */
			ASSERT_EQ(waitpid(stopper, &status, 0), stopper);
		}
		close(r1);
		r2 = open(DEV, O_RDONLY | O_NONBLOCK);
		ASSERT_GE(r2, 0);
		ASSERT_EQ(read(r2, buf, RUST_TRACE_HEADER_LEN), RUST_TRACE_HEADER_LEN);
		if (state == 'D')
			ASSERT_EQ(waitpid(stopper, &status, 0), stopper);
		ASSERT_TRUE(WIFEXITED(status));
		EXPECT_EQ(WEXITSTATUS(status), 0);
		/* The new session is still tracing: no EOF, and running. */
		n = read(r2, buf, sizeof(buf));
		if (n == 0)
			TH_LOG("round %d: the new session's reader got EOF (stopper state %c)",
			       i, state ? state : '?');
		ASSERT_NE(n, 0);
		if (n < 0)
			ASSERT_EQ(errno, EAGAIN);
		ASSERT_EQ(stats(&st, RUST_TRACE_STATS_ALL), 0);
		ASSERT_TRUE(st.flags & RUST_TRACE_STATS_F_RUNNING);
		/* Its own stop ends it, with the footer. */
		ASSERT_EQ(write_cmd("stop"), 0);
		do {
			n = read(r2, buf, sizeof(buf));
		} while (n > 0);
		ASSERT_EQ(n, 0);
		close(r2);
	}
	set_policy(SCHED_OTHER, 0);
	TH_LOG("the stopper was caught inside stop() in %d of 10 rounds", hits);
	/* The forcing must work, or the test proves nothing. */
	ASSERT_GT(hits, 0);
}

/* `flush` then `stop`: the flushed and the remaining events both arrive. */
TEST_F_TIMEOUT(rt, flush_then_stop_delivers_everything, 600)
{
	struct rust_trace_stats st;
	int r = open(DEV, O_RDONLY);

	ASSERT_GE(r, 0);
	run("rust_trace_workload pingpong 500 >/dev/null");
	ASSERT_EQ(write_cmd("flush"), 0);
	unlink(self->path);
	ASSERT_GT(capture_fd(r, 4096, "rust_trace_workload pingpong 500 >/dev/null", self->path), 0);
	ASSERT_EQ(stats(&st, RUST_TRACE_STATS_ALL), 0);
	EXPECT_GT(st.written, 2000);
	EXPECT_EQ(st.read_events + st.lost, st.written);
	close(r);
	ASSERT_EQ(validate(self->path), 0);
}

static void on_usr1(int sig)
{
}

/* A signal interrupts a blocked read; no byte of the stream is lost. */
TEST_F_TIMEOUT(rt, signal_interrupts_blocked_read_without_loss, 600)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	char buf[65536];
	struct rust_trace_stats st;
	pid_t parent = getpid(), child;
	int out, r;

	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: read() returns EINTR */
	r = open(DEV, O_RDONLY);
	ASSERT_GE(r, 0);
	ASSERT_EQ(read(r, buf, sizeof(buf)), RUST_TRACE_HEADER_LEN);
	out = open(self->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT_EQ(write(out, buf, RUST_TRACE_HEADER_LEN), RUST_TRACE_HEADER_LEN);
	close(out);
	child = fork();
	if (child == 0) {
		usleep(200 * 1000);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	ASSERT_EQ(read(r, buf, sizeof(buf)), -1); /* blocked: nothing is full yet */
	ASSERT_EQ(errno, EINTR);
	waitpid(child, NULL, 0);
	/* The same stream goes on after the interruption. */
	ASSERT_GT(capture_fd(r, sizeof(buf), "rust_trace_workload pingpong 1000 >/dev/null", self->path), 0);
	ASSERT_EQ(stats(&st, RUST_TRACE_STATS_ALL), 0);
	EXPECT_EQ(st.read_events + st.lost, st.written);
	close(r);
	ASSERT_EQ(validate(self->path), 0);
}

/*
 * Any read size gives a valid stream. Tests that run workloads have 600 s:
 * the debug kernel (lockdep, KASAN) under TCG is many times slower.
 */
TEST_F_TIMEOUT(rt, any_read_size_gives_a_valid_stream, 600)
{
	static const size_t sizes[] = { 1, 7, 4093, 65536, 1 << 20 };

	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		const char *w = sizes[i] == 1 ? "rust_trace_workload pingpong 300 >/dev/null"
					      : "rust_trace_workload pingpong 3000 >/dev/null";

		TH_LOG("read size %zu", sizes[i]);
		ASSERT_GT(capture(sizes[i], w, self->path), RUST_TRACE_HEADER_LEN);
		ASSERT_EQ(validate(self->path), 0);
	}
}

/*
 * A read whose buffer faults part-way returns what it copied before the
 * fault (a short read), and the stream goes on from there: nothing is lost
 * or repeated. A buffer that faults at its first byte gets EFAULT, and
 * nothing of the stream is consumed.
 */
TEST_F_TIMEOUT(rt, a_fault_part_way_through_a_read_gives_a_short_read, 600)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char hdr[RUST_TRACE_HEADER_LEN], *map, buf[65536];
	int r, out;
	ssize_t n;

	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(map, MAP_FAILED);
	ASSERT_EQ(munmap(map + page, page), 0);
	r = open(DEV, O_RDONLY);
	ASSERT_GE(r, 0);
	/* A fault at the first byte: EFAULT, the header is still there. */
	ASSERT_EQ(read(r, map + page, 16), -1);
	ASSERT_EQ(errno, EFAULT);
	ASSERT_EQ(read(r, hdr, RUST_TRACE_HEADER_LEN), RUST_TRACE_HEADER_LEN);
	ASSERT_EQ(memcmp(hdr, "RSTRACE\0", 8), 0);
	out = open(self->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ASSERT_GE(out, 0);
	ASSERT_EQ(write(out, hdr, RUST_TRACE_HEADER_LEN), RUST_TRACE_HEADER_LEN);
	/* Batches ready: 100 bytes of room before the unmapped page. */
	run("rust_trace_workload pingpong 300 >/dev/null");
	ASSERT_EQ(write_cmd("flush"), 0);
	n = read(r, map + page - 100, 4096);
	ASSERT_EQ(n, 100);
	ASSERT_EQ(write(out, map + page - 100, 100), 100);
	close(out);
	/* The rest of the stream, from the byte after the fault. */
	ASSERT_GT(capture_fd(r, sizeof(buf), NULL, self->path), 0);
	close(r);
	munmap(map, page);
	ASSERT_EQ(validate(self->path), 0);
}

/* The reader's side of the footer test below. */
struct footer_reader {
	int fd;			/* the session's reader */
	void *dst;		/* where the footer's rest is read to */
	size_t len;		/* its length */
	ssize_t got;		/* what read() returned */
};

static void *read_footer(void *arg)
{
	struct footer_reader *f = arg;

	f->got = read(f->fd, f->dst, f->len);
	return NULL;
}

/* An RUST_TRACE_IOC_STATS call run beside, with the time it returned. */
struct stats_call {
	struct timespec done;	/* when it returned */
	int ret;		/* its result */
};

static void *call_stats(void *arg)
{
	struct stats_call *c = arg;
	struct rust_trace_stats st;

	c->ret = stats(&st, RUST_TRACE_STATS_ALL);
	clock_gettime(CLOCK_MONOTONIC, &c->done);
	return NULL;
}

/*
 * A reader stuck copying the footer (its page fault waits on userfaultfd)
 * holds up nobody else: the device's other operations (here RUST_TRACE_IOC_STATS,
 * which takes the session lock) go on.
 */
TEST_F_TIMEOUT(rt, a_reader_stuck_on_a_fault_in_the_footer_blocks_no_one, 600)
{
	long page = sysconf(_SC_PAGESIZE);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { 0 };
	struct uffdio_zeropage zero = { 0 };
	struct footer_reader fr;
	struct stats_call sc = { 0 };
	struct timespec resolved;
	unsigned char rec[8];
	pthread_t reader, caller;
	uint32_t tag, len;
	int uffd, r;
	void *area;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (uffd < 0)
		SKIP(return, "userfaultfd not available (errno %d)", errno);
	ASSERT_EQ(ioctl(uffd, UFFDIO_API, &api), 0);
	area = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(area, MAP_FAILED);
	reg.range.start = (unsigned long)area;
	reg.range.len = page;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	ASSERT_EQ(ioctl(uffd, UFFDIO_REGISTER, &reg), 0);

	r = open(DEV, O_RDONLY);
	ASSERT_GE(r, 0);
	ASSERT_EQ(read(r, rec, 8), 8); /* into the header: skip it */
	ASSERT_EQ(read(r, (unsigned char[RUST_TRACE_HEADER_LEN - 8]){ 0 }, RUST_TRACE_HEADER_LEN - 8), RUST_TRACE_HEADER_LEN - 8);
	ASSERT_EQ(write_cmd("stop"), 0);
	/* Skip the batches, record by record, up to the footer's start. */
	for (;;) {
		ASSERT_EQ(read(r, rec, 8), 8);
		memcpy(&tag, rec, 4);
		memcpy(&len, rec + 4, 4);
		if (!memcmp(&tag, "FOOT", 4))
			break;
		ASSERT_TRUE(!memcmp(&tag, "BTCH", 4));
		for (uint32_t left = len - 8; left;) {
			unsigned char skip[4096];
			ssize_t n = read(r, skip, left < sizeof(skip) ? left : sizeof(skip));

			ASSERT_GT(n, 0);
			left -= n;
		}
	}
	/* The footer's rest goes to a page that is not there yet. */
	fr = (struct footer_reader){ .fd = r, .dst = area, .len = len - 8 };
	ASSERT_EQ(pthread_create(&reader, NULL, read_footer, &fr), 0);
	usleep(300 * 1000);
	ASSERT_EQ(pthread_create(&caller, NULL, call_stats, &sc), 0);
	usleep(1000 * 1000);
	/* Let the reader go on. */
	clock_gettime(CLOCK_MONOTONIC, &resolved);
	zero.range = reg.range;
	ASSERT_EQ(ioctl(uffd, UFFDIO_ZEROPAGE, &zero), 0);
	pthread_join(caller, NULL);
	pthread_join(reader, NULL);
	ASSERT_EQ(sc.ret, 0);
	TH_LOG("RUST_TRACE_IOC_STATS returned %.3f s %s the stuck reader was let go",
	       secs(sc.done) > secs(resolved) ? secs(sc.done) - secs(resolved)
					      : secs(resolved) - secs(sc.done),
	       secs(sc.done) > secs(resolved) ? "after" : "before");
	EXPECT_LT(secs(sc.done), secs(resolved));
	ASSERT_EQ(fr.got, (ssize_t)(len - 8));
	ASSERT_EQ(read(r, rec, 8), 0);
	close(r);
	close(uffd);
}

/* The module's counters: events read + events lost == events written. */
TEST_F_TIMEOUT(rt, counters_read_plus_lost_equal_written, 600)
{
	struct rust_trace_stats st, cpu;
	uint64_t w = 0, l = 0, rd = 0;

	ASSERT_GT(capture(1 << 20, "rust_trace_workload pairs 2 5000", self->path), 0);
	ASSERT_EQ(stats(&st, RUST_TRACE_STATS_ALL), 0);
	TH_LOG("written %llu lost %llu read %llu", (unsigned long long)st.written,
	       (unsigned long long)st.lost, (unsigned long long)st.read_events);
	ASSERT_GT(st.written, 20000);
	ASSERT_EQ(st.read_events + st.lost, st.written);
	for (uint32_t c = 0; c < st.nr_cpus; c++) {
		ASSERT_EQ(stats(&cpu, c), 0);
		if (!(cpu.flags & RUST_TRACE_STATS_F_CPU))
			continue;
		EXPECT_EQ(cpu.read_events + cpu.lost, cpu.written);
		w += cpu.written;
		l += cpu.lost;
		rd += cpu.read_events;
	}
	ASSERT_EQ(w, st.written);
	ASSERT_EQ(l, st.lost);
	ASSERT_EQ(rd, st.read_events);
	ASSERT_EQ(validate(self->path), 0);
}

/* The ioctl: unknown commands ENOTTY, a CPU id out of range EINVAL. */
TEST_F(rt, ioctl_rejects_unknown_command_and_bad_cpu)
{
	struct rust_trace_stats st;
	int w = open(DEV, O_WRONLY);

	ASSERT_GE(w, 0);
	ASSERT_EQ(ioctl(w, _IO('R', 99), 0), -1);
	ASSERT_EQ(errno, ENOTTY);
	ASSERT_EQ(stats(&st, RUST_TRACE_STATS_ALL), 0);
	ASSERT_EQ(stats(&st, st.nr_cpus), -EINVAL);
	close(w);
}

/* A production module has no benchmark: RUST_TRACE_IOC_MICROBENCH is not a command. */
TEST_F(rt, the_production_module_has_no_benchmark_ioctl)
{
	struct rust_trace_microbench b = { .nevents = 1000 };
	int w = open(DEV, O_WRONLY);

	ASSERT_GE(w, 0);
	ASSERT_EQ(ioctl(w, RUST_TRACE_IOC_MICROBENCH, &b), -1);
	ASSERT_EQ(errno, ENOTTY);
	close(w);
}

/*
 * The microbenchmark is built only on request (`make MICROBENCH=1`); the suite
 * loads that build from RUST_TRACE_MICROBENCH_MODULE for these tests and puts the
 * production module back after each.
 */
static const char *bench_module_path(void)
{
	const char *p = getenv("RUST_TRACE_MICROBENCH_MODULE");

	return p ? p : "/lib/modules/rust_trace-microbench.ko";
}

static int load_module(const char *path)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rmmod rust_trace 2>/dev/null; insmod %s", path);
	return system(cmd);
}

FIXTURE(bench) {
	int loaded;	/* this fixture loaded the benchmark build */
};

FIXTURE_SETUP(bench)
{
	self->loaded = 0;
	if (access(bench_module_path(), R_OK))
		SKIP(return, "no benchmark build at %s (make MICROBENCH=1)", bench_module_path());
	ASSERT_EQ(load_module(bench_module_path()), 0);
	self->loaded = 1;
}

FIXTURE_TEARDOWN(bench)
{
	if (self->loaded)
		load_module(module_path());
}

/* The write-path microbenchmark: runs on a pool of its own, loses nothing. */
TEST_F_TIMEOUT(bench, write_path_microbenchmark_runs_and_loses_nothing, 600)
{
	struct rust_trace_microbench b = { .nevents = 200000 };
	int w = open(DEV, O_WRONLY);

	ASSERT_GE(w, 0);
	ASSERT_EQ(ioctl(w, RUST_TRACE_IOC_MICROBENCH, &b), 0);
	TH_LOG("%llu events: %.1f ns each in the probe, loop and call %.1f ns, clock %.1f ns, "
	       "encoding %.1f ns, irq save/restore %.1f ns",
	       (unsigned long long)b.nevents, (double)b.ns_probe / b.nevents,
	       (double)b.ns_call / b.nevents, (double)b.ns_clock / b.nevents,
	       (double)b.ns_encode / b.nevents, (double)b.ns_irq / b.nevents);
	EXPECT_EQ(b.lost, 0);
	EXPECT_GT(b.batches, 0);
	/* Each baseline is a part of the probe, so each is below it. */
	EXPECT_GT(b.ns_probe, b.ns_clock + b.ns_encode);
	EXPECT_GT(b.ns_call, 0);
	EXPECT_GT(b.ns_probe, b.ns_call);
	b.nevents = 0;
	ASSERT_EQ(ioctl(w, RUST_TRACE_IOC_MICROBENCH, &b), -1);
	ASSERT_EQ(errno, EINVAL);
	/* At most ten million events a call. */
	b.nevents = 10000001;
	ASSERT_EQ(ioctl(w, RUST_TRACE_IOC_MICROBENCH, &b), -1);
	ASSERT_EQ(errno, EINVAL);
	close(w);
}

/* A benchmark killed one second in returns within two seconds. */
TEST_F_TIMEOUT(bench, a_killed_benchmark_returns_within_2_seconds, 600)
{
	struct timespec t0, t1;
	int status;
	pid_t p;

	p = fork();
	ASSERT_GE(p, 0);
	if (p == 0) {
		struct rust_trace_microbench b = { .nevents = 10000000 };
		int w = open(DEV, O_WRONLY);

		ioctl(w, RUST_TRACE_IOC_MICROBENCH, &b);
		_exit(0);
	}
	sleep(1);
	/* Still running: ten million events take far longer than a second. */
	ASSERT_EQ(waitpid(p, &status, WNOHANG), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(kill(p, SIGKILL), 0);
	ASSERT_EQ(waitpid(p, &status, 0), p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("the killed benchmark returned after %.3f s", secs(t1) - secs(t0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_LT(secs(t1) - secs(t0), 2.0);
}

/* rmmod while the device is open is refused, and the module stays. */
TEST_F(rt, rmmod_while_open_is_refused)
{
	int w = open(DEV, O_WRONLY);

	ASSERT_GE(w, 0);
	ASSERT_NE(system("rmmod rust_trace 2>/dev/null"), 0);
	ASSERT_EQ(access(DEV, F_OK), 0);
	close(w);
}

/* Non-root: refused by the node's mode, and by the capability check. */
TEST_F(rt, non_root_open_is_refused)
{
	int status;
	pid_t p;

	for (int mode = 0600; mode; mode = mode == 0600 ? 0666 : 0) {
		ASSERT_EQ(chmod(DEV, mode), 0);
		p = fork();
		if (p == 0) {
			int fd;

			if (setgid(65534) || setuid(65534))
				_exit(10);
			fd = open(DEV, O_WRONLY);
			if (fd >= 0)
				_exit(11);
			_exit(mode == 0600 ? (errno == EACCES ? 0 : 12) : (errno == EPERM ? 0 : 13));
		}
		waitpid(p, &status, 0);
		chmod(DEV, 0600);
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(WEXITSTATUS(status), 0);
	}
}

int main(int argc, char **argv)
{
	if (access(module_path(), R_OK) && access(DEV, F_OK)) {
		ksft_print_header();
		ksft_set_plan(0);
		ksft_exit_skip("no rust_trace module at %s (RUST_TRACE_MODULE)\n", module_path());
	}
	/* A module that is there but does not load fails each test's setup. */
	return test_harness_run(argc, argv);
}
