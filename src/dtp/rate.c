/*
 * rate: the arithmetic of pacing a data connection; libevent paces
 * bufferevents with the bucket built here, rate_pacer paces raw reads.
 */
#include <time.h>

#include <event2/bufferevent.h>

#include "dtp/rate.h"

#define MICROSECONDS_PER_SECOND 1000000.0

size_t
rate_bytes_per_tick(uint64_t bytes_per_second)
{
	uint64_t bytes = bytes_per_second / (1000 / RATE_TICK_MS);

	if (bytes == 0)
		return 1;
	return bytes > EV_RATE_LIMIT_MAX ? (size_t)EV_RATE_LIMIT_MAX : (size_t)bytes;
}

struct ev_token_bucket_cfg *
rate_bucket_new(uint64_t bytes_per_second)
{
	struct timeval tick = { 0, RATE_TICK_MS * 1000 };
	size_t per_tick = rate_bytes_per_tick(bytes_per_second);

	/*
	 * libevent refills at tick boundaries, and its timer can wake just short
	 * of one: room for a second tick keeps that tick's bytes instead of
	 * losing them (which slowed 10 MiB at 1M by 3 %). Still no second's worth
	 * rushed out at the start.
	 */
	return ev_token_bucket_cfg_new(per_tick, 2 * per_tick, per_tick, 2 * per_tick, &tick);
}

uint64_t
rate_now(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;
}

void
rate_pacer_init(struct rate_pacer *pacer, uint64_t bytes_per_second, uint64_t now)
{
	pacer->bytes_per_microsecond = (double)bytes_per_second / MICROSECONDS_PER_SECOND;
	pacer->capacity = (double)rate_bytes_per_tick(bytes_per_second);
	pacer->tokens = pacer->capacity;
	pacer->refilled_at = now;
}

size_t
rate_pacer_allowance(struct rate_pacer *pacer, uint64_t now)
{
	if (now > pacer->refilled_at) {
		pacer->tokens += (double)(now - pacer->refilled_at) * pacer->bytes_per_microsecond;
		if (pacer->tokens > pacer->capacity)
			pacer->tokens = pacer->capacity;
		pacer->refilled_at = now;
	}
	return pacer->tokens >= 1 ? (size_t)pacer->tokens : 0;
}

void
rate_pacer_spend(struct rate_pacer *pacer, size_t bytes)
{
	pacer->tokens -= (double)bytes;
}

uint64_t
rate_pacer_pause(const struct rate_pacer *pacer)
{
	double missing = pacer->capacity - pacer->tokens;

	if (missing <= 0)
		return 0;
	/* Rounded up: waking a microsecond early would find the bucket still short. */
	return (uint64_t)(missing / pacer->bytes_per_microsecond) + 1;
}
