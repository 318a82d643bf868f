/*
 * shell/host: the services ftpd offers shells in place of its event loop
 * (include/ftpd/shell.h, struct ftpd_host): blocking work on the worker
 * threads completed on the loop, one-shot timers, and the log.
 * Work queued when the server stops still runs, inline, so no upload is left half-stored.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include <event2/event.h>

#include "log/log.h"
#include "shell/host.h"
#include "util/attributes.h"
#include "util/worker_pool.h"

struct host {
	struct ftpd_host public;	/* first: shells see only this */
	struct event_base *base;
	struct worker_pool *workers;
};

struct blocking_job {
	void (*work)(void *arg);
	void (*done)(void *arg);
	void *arg;
};

struct ftpd_timer {
	struct event *event;
	void (*fire)(void *arg);
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

static void
timer_fired(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct ftpd_timer *timer = arg;
	void (*fire)(void *) = timer->fire;
	void *fire_arg = timer->arg;

	/* Gone before fire runs: the shell may start another from inside it. */
	event_free(timer->event);
	free(timer);
	fire(fire_arg);
}

static struct ftpd_timer *
timer_start(struct ftpd_host *public, unsigned milliseconds, void (*fire)(void *),
    void *arg)
{
	struct host *host = (struct host *)public;
	struct timeval delay = { (time_t)(milliseconds / 1000),
	    (suseconds_t)(milliseconds % 1000) * 1000 };
	struct ftpd_timer *timer = calloc(1, sizeof(*timer));

	if (timer == NULL)
		return NULL;
	timer->fire = fire;
	timer->arg = arg;
	timer->event = evtimer_new(host->base, timer_fired, timer);
	if (timer->event == NULL || evtimer_add(timer->event, &delay) != 0) {
		if (timer->event != NULL)
			event_free(timer->event);
		free(timer);
		return NULL;
	}
	return timer;
}

static void
timer_cancel(struct ftpd_host *public UNUSED, struct ftpd_timer *timer)
{
	if (timer == NULL)
		return;
	event_free(timer->event);
	free(timer);
}

static void
host_log(struct ftpd_host *public UNUSED, enum ftpd_log_level level, const char *format, ...)
{
	static const enum log_level levels[] = {
		[FTPD_LOG_ERROR] = LOG_LEVEL_ERROR,
		[FTPD_LOG_WARNING] = LOG_LEVEL_WARNING,
		[FTPD_LOG_INFO] = LOG_LEVEL_INFO,
		[FTPD_LOG_DEBUG] = LOG_LEVEL_DEBUG,
	};
	va_list arguments;

	if ((unsigned)level > FTPD_LOG_DEBUG)
		level = FTPD_LOG_ERROR;
	va_start(arguments, format);
	log_atv(levels[level], format, arguments);
	va_end(arguments);
}

struct ftpd_host *
host_new(struct event_base *base, struct worker_pool *workers)
{
	struct host *host = calloc(1, sizeof(*host));

	if (host == NULL)
		return NULL;
	host->public.struct_size = sizeof(host->public);
	host->public.run_blocking = run_blocking;
	host->public.timer_start = timer_start;
	host->public.timer_cancel = timer_cancel;
	host->public.log = host_log;
	host->base = base;
	host->workers = workers;
	return &host->public;
}

void
host_free(struct ftpd_host *host)
{
	free(host);
}
