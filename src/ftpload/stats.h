/*
 * stats: what a scenario measured, and the one result line it ends with.
 */
#ifndef FTPLOAD_STATS_H
#define FTPLOAD_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct stats {
	double *latencies_ms;	/* one per operation that succeeded */
	size_t count;
	size_t capacity;
	uint64_t operations;	/* succeeded */
	uint64_t errors;
	uint64_t bytes;
	double seconds;
};

void stats_add(struct stats *stats, double seconds);
void stats_free(struct stats *stats);

/* The nearest-rank percentile (0 < percent <= 100) in ms; 0 without samples. */
double stats_percentile(struct stats *stats, double percent);

/*
 * One line of JSON: scenario, sessions, operations, seconds, ops_per_second,
 * bytes, MB_per_second, p50_ms, p99_ms, errors, then extra (a fragment
 * such as "\"held\":200", or NULL).
 */
void stats_print(FILE *out, struct stats *stats, const char *scenario, long sessions,
    const char *extra);

#endif
