/*
 * stats: latencies are kept whole and sorted once at the end: runs are
 * thousands of operations, and exact percentiles are worth the memory.
 */
#include <stdlib.h>

#include "ftpload/stats.h"

void
stats_add(struct stats *stats, double seconds)
{
	double *grown;
	size_t capacity;

	stats->operations++;
	if (stats->count == stats->capacity) {
		capacity = stats->capacity == 0 ? 1024 : stats->capacity * 2;
		grown = realloc(stats->latencies_ms, capacity * sizeof(*grown));
		if (grown == NULL)
			return;
		stats->latencies_ms = grown;
		stats->capacity = capacity;
	}
	stats->latencies_ms[stats->count++] = seconds * 1000.0;
}

void
stats_free(struct stats *stats)
{
	free(stats->latencies_ms);
	stats->latencies_ms = NULL;
	stats->count = stats->capacity = 0;
}

static int
compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
stats_percentile(struct stats *stats, double percent)
{
	size_t rank;

	if (stats->count == 0)
		return 0.0;
	qsort(stats->latencies_ms, stats->count, sizeof(double), compare_doubles);
	rank = (size_t)(percent / 100.0 * (double)stats->count + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > stats->count)
		rank = stats->count;
	return stats->latencies_ms[rank - 1];
}

void
stats_print(FILE *out, struct stats *stats, const char *scenario, long sessions,
    const char *extra)
{
	double seconds = stats->seconds > 0 ? stats->seconds : 1e-9;

	fprintf(out, "{\"scenario\":\"%s\",\"sessions\":%ld,\"operations\":%llu,"
	    "\"seconds\":%.6f,\"ops_per_second\":%.3f,\"bytes\":%llu,"
	    "\"MB_per_second\":%.3f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"errors\":%llu%s%s}\n",
	    scenario, sessions, (unsigned long long)stats->operations, stats->seconds,
	    (double)stats->operations / seconds, (unsigned long long)stats->bytes,
	    (double)stats->bytes / 1e6 / seconds, stats_percentile(stats, 50),
	    stats_percentile(stats, 99), (unsigned long long)stats->errors,
	    extra != NULL ? "," : "", extra != NULL ? extra : "");
	fflush(out);
}
