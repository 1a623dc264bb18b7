// SPDX-License-Identifier: GPL-2.0
/*
 * rust_trace_counters: prints the counters of /dev/rust_trace
 * (RUST_TRACE_IOC_STATS) as
 * "key=value" lines, totals first, then one line per CPU with buffers.
 * Opens the device write-only, so it works beside a reader.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "rust_trace.h"

int main(void)
{
	struct rust_trace_stats st = { .cpu = RUST_TRACE_STATS_ALL };
	int fd = open("/dev/rust_trace", O_WRONLY);

	if (fd < 0) {
		perror("/dev/rust_trace");
		return 1;
	}
	if (ioctl(fd, RUST_TRACE_IOC_STATS, &st)) {
		perror("RUST_TRACE_IOC_STATS");
		return 1;
	}
	printf("written=%llu lost=%llu read_events=%llu read_bytes=%llu batches=%llu running=%d reader=%d"
	       " flight=%d snapshot=%d overwritten=%llu\n",
	       (unsigned long long)st.written, (unsigned long long)st.lost,
	       (unsigned long long)st.read_events, (unsigned long long)st.read_bytes,
	       (unsigned long long)st.batches, !!(st.flags & RUST_TRACE_STATS_F_RUNNING),
	       !!(st.flags & RUST_TRACE_STATS_F_READER), !!(st.flags & RUST_TRACE_STATS_F_FLIGHT),
	       !!(st.flags & RUST_TRACE_STATS_F_SNAPSHOT), (unsigned long long)st.overwritten);
	for (unsigned int cpu = 0; cpu < st.nr_cpus; cpu++) {
		struct rust_trace_stats c = { .cpu = cpu };

		if (ioctl(fd, RUST_TRACE_IOC_STATS, &c) || !(c.flags & RUST_TRACE_STATS_F_CPU))
			continue;
		printf("cpu=%u written=%llu lost=%llu read_events=%llu batches=%llu\n", cpu,
		       (unsigned long long)c.written, (unsigned long long)c.lost,
		       (unsigned long long)c.read_events, (unsigned long long)c.batches);
	}
	close(fd);
	return 0;
}
