// SPDX-License-Identifier: GPL-2.0
/*
 * rt_stats: prints the counters of /dev/rust_trace (RT_IOC_STATS) as
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
	struct rt_stats st = { .cpu = RT_STATS_ALL };
	int fd = open("/dev/rust_trace", O_WRONLY);

	if (fd < 0) {
		perror("/dev/rust_trace");
		return 1;
	}
	if (ioctl(fd, RT_IOC_STATS, &st)) {
		perror("RT_IOC_STATS");
		return 1;
	}
	printf("written=%llu lost=%llu read_events=%llu read_bytes=%llu batches=%llu running=%d reader=%d\n",
	       (unsigned long long)st.written, (unsigned long long)st.lost,
	       (unsigned long long)st.read_events, (unsigned long long)st.read_bytes,
	       (unsigned long long)st.batches, !!(st.flags & RT_STATS_F_RUNNING),
	       !!(st.flags & RT_STATS_F_READER));
	for (unsigned int cpu = 0; cpu < st.nr_cpus; cpu++) {
		struct rt_stats c = { .cpu = cpu };

		if (ioctl(fd, RT_IOC_STATS, &c) || !(c.flags & RT_STATS_F_CPU))
			continue;
		printf("cpu=%u written=%llu lost=%llu read_events=%llu batches=%llu\n", cpu,
		       (unsigned long long)c.written, (unsigned long long)c.lost,
		       (unsigned long long)c.read_events, (unsigned long long)c.batches);
	}
	close(fd);
	return 0;
}
