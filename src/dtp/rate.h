/*
 * rate: pacing a data connection to at most a number of bytes per second
 * (max_rate_down, max_rate_up), for bufferevents and for the raw upload path.
 */
#ifndef FTPD_RATE_H
#define FTPD_RATE_H

#include <stddef.h>
#include <stdint.h>

struct ev_token_bucket_cfg;

/*
 * Both pacers refill every tick and hold little more than a tick's worth,
 * so a transfer never runs ahead of its rate by more than a fifth of a second.
 */
#define RATE_TICK_MS 100

/* Bytes one tick allows (at least 1). */
size_t rate_bytes_per_tick(uint64_t bytes_per_second);

/*
 * A libevent token bucket for bufferevent_set_rate_limit, limiting reading
 * and writing alike, holding two ticks' worth. The bufferevent must be
 * freed before the bucket (ev_token_bucket_cfg_free). NULL on failure.
 */
struct ev_token_bucket_cfg *rate_bucket_new(uint64_t bytes_per_second);

/* A token bucket of its own, for reads that bypass bufferevents. */
struct rate_pacer {
	double bytes_per_microsecond;
	double capacity;		/* one tick's worth */
	double tokens;
	uint64_t refilled_at;		/* microseconds, rate_now() */
};

/* Microseconds on a clock that never jumps. */
uint64_t rate_now(void);

/* Starts full, as libevent's buckets do. */
void rate_pacer_init(struct rate_pacer *pacer, uint64_t bytes_per_second, uint64_t now);
/* Whole bytes that may be moved now. */
size_t rate_pacer_allowance(struct rate_pacer *pacer, uint64_t now);
/* Bytes moved (at most the allowance just asked for). */
void rate_pacer_spend(struct rate_pacer *pacer, size_t bytes);
/* Microseconds until the bucket is full again: how long to pause when it is empty. */
uint64_t rate_pacer_pause(const struct rate_pacer *pacer);

#endif
