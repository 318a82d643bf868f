/*
 * util/descriptors: closing what a child must not inherit, by ranges
 * (close_range), so that millions of possible descriptors cost a few calls;
 * and the limit on how many a process may hold.
 */
#include <sys/resource.h>

#include <limits.h>
#include <unistd.h>

#include "util/descriptors.h"

void
descriptors_close_except(int *keep, int count)
{
	unsigned next = 0;
	int i, j, swap;

	for (i = 1; i < count; i++)
		for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			swap = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = swap;
		}
	for (i = 0; i < count; i++) {
		if (keep[i] < 0 || (unsigned)keep[i] < next)
			continue;
		if ((unsigned)keep[i] > next)
			close_range(next, (unsigned)keep[i] - 1, 0);
		next = (unsigned)keep[i] + 1;
	}
	close_range(next, ~0U, 0);
}

long
descriptors_raise_limit(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
		return -1;
	if (limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
			return -1;
	}
	return limit.rlim_cur == RLIM_INFINITY ? LONG_MAX : (long)limit.rlim_cur;
}
