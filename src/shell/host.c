/*
 * shell/host: lets shells run blocking file work (fsync, rename) off the event loop.
 * Work queued when the server stops still runs, inline, so no upload is left half-stored.
 */
#include <errno.h>
#include <stdlib.h>

#include "shell/host.h"
#include "util/worker_pool.h"

struct host {
	struct ftpd_host public;	/* first: shells see only this */
	struct worker_pool *workers;
};

struct blocking_job {
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
};

static void
job_work(void *arg)
{
	struct blocking_job *job = arg;

	job->work(job->arg);
}

static void
job_done(void *arg, int cancelled)
{
	struct blocking_job *job = arg;

	/* Cancelled only when the pool shuts down before it ran: run it now. */
	if (cancelled)
		job->work(job->arg);
	job->done(job->arg);
	free(job);
}

static int
run_blocking(struct ftpd_host *public, void (*work)(void *), void (*done)(void *), void *arg)
{
	struct host *host = (struct host *)public;
	struct blocking_job *job = malloc(sizeof(*job));

	if (job == NULL)
		return -ENOMEM;
	job->work = work;
	job->done = done;
	job->arg = arg;
	if (worker_pool_submit(host->workers, job_work, job_done, job) == NULL) {
		free(job);
		return -ENOMEM;
	}
	return 0;
}

struct ftpd_host *
host_new(struct event_base *base, struct worker_pool *workers)
{
	struct host *host = calloc(1, sizeof(*host));

	if (host == NULL)
		return NULL;
	host->public.run_blocking = run_blocking;
	host->public.event_base = base;
	host->workers = workers;
	return &host->public;
}

void
host_free(struct ftpd_host *host)
{
	free(host);
}
