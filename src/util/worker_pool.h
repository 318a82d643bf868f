/*
 * worker_pool: a few threads for blocking work (crypt(3), reading the passwd file)
 * whose results complete back on the event loop, like a Deferred.
 */
#ifndef FTPD_WORKER_POOL_H
#define FTPD_WORKER_POOL_H

#include <event2/event.h>

struct worker_pool;
struct worker_job;

/* Runs in a worker thread: must not touch the event loop or session state. */
typedef void (*worker_work_fn)(void *arg);
/* Runs on the event loop after work() returned; cancelled is 1 after worker_job_cancel. */
typedef void (*worker_done_fn)(void *arg, int cancelled);

/* NULL on failure. */
struct worker_pool *worker_pool_new(struct event_base *base, unsigned threads);

/*
 * The loop done() runs on. A caller that also waits on sockets (a checker
 * talking to a database) takes its loop from here, so both are the same.
 */
struct event_base *worker_pool_event_base(const struct worker_pool *pool);

/*
 * Queues work(arg); done(arg, cancelled) then runs on the loop exactly once,
 * and is where arg is freed. NULL (and nothing queued) on out of memory.
 */
struct worker_job *worker_pool_submit(struct worker_pool *pool, worker_work_fn work,
    worker_done_fn done, void *arg);

/*
 * The job's owner goes away: done() will still run once (with cancelled = 1)
 * so arg can be freed, but its result must be ignored. The job pointer is
 * invalid after done() ran.
 */
void worker_job_cancel(struct worker_job *job);

/*
 * Runs call(arg, 0) on the loop thread at a moment when no worker runs a job,
 * and starts no job until it returned: then no worker holds any lock, which
 * makes it the place to fork. call(arg, 1) instead when the pool is freed
 * first. 0, -ENOMEM or -ECANCELED (the pool is stopping).
 */
int worker_pool_run_exclusive(struct worker_pool *pool, worker_done_fn call, void *arg);

/*
 * Waits for running work, runs the done callbacks of finished work as usual
 * and of work that never started as cancelled, frees.
 */
void worker_pool_free(struct worker_pool *pool);

#endif
