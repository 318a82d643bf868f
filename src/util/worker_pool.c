/*
 * worker_pool: threads that run blocking work (crypt, file reads) off the event loop
 * and hand each finished job back to the loop through a self-pipe, like a Deferred firing.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log/log.h"
#include "util/worker_pool.h"

struct worker_job {
	struct worker_job *next;
	struct worker_pool *pool;
	worker_work_fn work;
	worker_done_fn done;
	void *arg;
	/* Set on the loop thread and read by a worker, both under the pool's lock. */
	int cancelled;
};

/* Something to run on the loop while no worker runs a job (a fork). */
struct exclusive_call {
	struct exclusive_call *next;
	worker_done_fn call;
	void *arg;
};

/* A singly linked FIFO: jobs are started and completed in submission order. */
struct job_queue {
	struct worker_job *head;
	struct worker_job *tail;
};

struct worker_pool {
	struct event_base *base;
	pthread_mutex_t lock;
	pthread_cond_t work_available;
	struct job_queue pending;	/* submitted, not yet taken by a thread */
	struct job_queue completed;	/* work returned, done() not yet run */
	int stopping;
	unsigned running;			/* jobs inside work() right now */
	/*
	 * Threads that reached their wait loop at least once. Until all have,
	 * one may still be starting up (the C library and sanitizers allocate
	 * then, holding locks): no exclusive call may fork meanwhile.
	 */
	unsigned ready_threads;
	unsigned thread_goal;			/* how many threads were asked for */
	/* Exclusive calls waiting, and one running: workers start nothing meanwhile. */
	struct exclusive_call *exclusive_head, **exclusive_tail;
	int exclusive_active;
	/* At most one byte sits in the pipe: set when written, cleared when drained. */
	int wakeup_written;
	int wakeup_pipe[2];
	struct event *wakeup_event;
	pthread_t *threads;
	unsigned thread_count;
};

static void
job_queue_push(struct job_queue *queue, struct worker_job *job)
{
	job->next = NULL;
	if (queue->tail != NULL)
		queue->tail->next = job;
	else
		queue->head = job;
	queue->tail = job;
}

static struct worker_job *
job_queue_pop(struct job_queue *queue)
{
	struct worker_job *job = queue->head;

	if (job != NULL) {
		queue->head = job->next;
		if (queue->head == NULL)
			queue->tail = NULL;
		job->next = NULL;
	}
	return job;
}

/* Caller holds the lock. */
static void
wake_loop_locked(struct worker_pool *pool)
{
	const char byte = 1;
	ssize_t written;

	if (pool->wakeup_written)
		return;
	/* The pipe is empty whenever wakeup_written is 0, so this cannot block or fail with EAGAIN. */
	do
		written = write(pool->wakeup_pipe[1], &byte, 1);
	while (written < 0 && errno == EINTR);
	if (written == 1)
		pool->wakeup_written = 1;
}

/* With the lock held: no thread runs a job or is still starting. */
static int
exclusive_may_run(const struct worker_pool *pool)
{
	return pool->running == 0 && pool->ready_threads == pool->thread_goal;
}

static void *
worker_thread(void *context)
{
	struct worker_pool *pool = context;
	struct worker_job *job;
	int skip;

	pthread_mutex_lock(&pool->lock);
	pool->ready_threads++;
	if (pool->exclusive_head != NULL && exclusive_may_run(pool))
		wake_loop_locked(pool);
	for (;;) {
		while (!pool->stopping && (pool->pending.head == NULL ||
		    pool->exclusive_head != NULL || pool->exclusive_active))
			pthread_cond_wait(&pool->work_available, &pool->lock);
		/* Jobs not started yet are completed as cancelled by worker_pool_free. */
		if (pool->stopping)
			break;
		job = job_queue_pop(&pool->pending);
		/* A job cancelled before it started has nobody left to want its result. */
		skip = job->cancelled;
		pool->running++;
		pthread_mutex_unlock(&pool->lock);

		if (!skip)
			job->work(job->arg);

		pthread_mutex_lock(&pool->lock);
		pool->running--;
		job_queue_push(&pool->completed, job);
		wake_loop_locked(pool);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

static void
run_done_callbacks(struct worker_job *job, int force_cancelled)
{
	struct worker_job *next;

	while (job != NULL) {
		next = job->next;
		job->done(job->arg, force_cancelled || job->cancelled);
		free(job);
		job = next;
	}
}

static void
run_exclusive_calls(struct exclusive_call *call, int cancelled)
{
	struct exclusive_call *next;

	while (call != NULL) {
		next = call->next;
		call->call(call->arg, cancelled);
		free(call);
		call = next;
	}
}

static void
wakeup_ready(evutil_socket_t fd, short events, void *context)
{
	struct worker_pool *pool = context;
	struct worker_job *completed;
	struct exclusive_call *exclusive = NULL;
	char drain[64];

	(void)events;
	while (read(fd, drain, sizeof(drain)) > 0)
		continue;

	pthread_mutex_lock(&pool->lock);
	completed = pool->completed.head;
	pool->completed.head = pool->completed.tail = NULL;
	pool->wakeup_written = 0;
	if (pool->exclusive_head != NULL && exclusive_may_run(pool)) {
		exclusive = pool->exclusive_head;
		pool->exclusive_head = NULL;
		pool->exclusive_tail = &pool->exclusive_head;
		pool->exclusive_active = 1;
	}
	pthread_mutex_unlock(&pool->lock);

	if (exclusive != NULL) {
		/* Every worker waits on the condition variable, holding nothing. */
		run_exclusive_calls(exclusive, 0);
		pthread_mutex_lock(&pool->lock);
		pool->exclusive_active = 0;
		pthread_cond_broadcast(&pool->work_available);
		pthread_mutex_unlock(&pool->lock);
	}

	/*
	 * Detached from the pool, so a done() may submit new jobs or cancel
	 * one later in this list (it is still allocated until its turn).
	 */
	run_done_callbacks(completed, 0);
}

static int
start_threads(struct worker_pool *pool, unsigned threads)
{
	sigset_t all_signals, previous;
	int error = 0;

	/* Signals belong to the loop thread; workers inherit a fully blocked mask. */
	sigfillset(&all_signals);
	pthread_sigmask(SIG_SETMASK, &all_signals, &previous);
	for (pool->thread_count = 0; pool->thread_count < threads; pool->thread_count++) {
		error = pthread_create(&pool->threads[pool->thread_count], NULL,
		    worker_thread, pool);
		if (error != 0)
			break;
	}
	pthread_sigmask(SIG_SETMASK, &previous, NULL);
	return -error;
}

static void
stop_threads(struct worker_pool *pool)
{
	unsigned i;

	pthread_mutex_lock(&pool->lock);
	pool->stopping = 1;
	pthread_cond_broadcast(&pool->work_available);
	pthread_mutex_unlock(&pool->lock);
	for (i = 0; i < pool->thread_count; i++)
		pthread_join(pool->threads[i], NULL);
	pool->thread_count = 0;
}

struct worker_pool *
worker_pool_new(struct event_base *base, unsigned threads)
{
	struct worker_pool *pool;
	int error;

	if (threads == 0)
		threads = 1;
	pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		return NULL;
	pool->base = base;
	pool->exclusive_tail = &pool->exclusive_head;
	pool->wakeup_pipe[0] = pool->wakeup_pipe[1] = -1;
	pool->threads = calloc(threads, sizeof(*pool->threads));
	if (pool->threads == NULL)
		goto fail_memory;
	if (pthread_mutex_init(&pool->lock, NULL) != 0)
		goto fail_memory;
	if (pthread_cond_init(&pool->work_available, NULL) != 0)
		goto fail_mutex;
	if (pipe2(pool->wakeup_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		log_error("worker pool: pipe: %s", strerror(errno));
		goto fail_cond;
	}
	pool->wakeup_event = event_new(base, pool->wakeup_pipe[0], EV_READ | EV_PERSIST,
	    wakeup_ready, pool);
	if (pool->wakeup_event == NULL || event_add(pool->wakeup_event, NULL) != 0)
		goto fail_pipe;
	pool->thread_goal = threads;
	error = start_threads(pool, threads);
	if (error != 0) {
		log_error("worker pool: pthread_create: %s", strerror(-error));
		stop_threads(pool);
		goto fail_pipe;
	}
	return pool;

fail_pipe:
	if (pool->wakeup_event != NULL)
		event_free(pool->wakeup_event);
	close(pool->wakeup_pipe[0]);
	close(pool->wakeup_pipe[1]);
fail_cond:
	pthread_cond_destroy(&pool->work_available);
fail_mutex:
	pthread_mutex_destroy(&pool->lock);
fail_memory:
	free(pool->threads);
	free(pool);
	return NULL;
}

struct event_base *
worker_pool_event_base(const struct worker_pool *pool)
{
	return pool->base;
}

/*
 * Takes the lock to queue work, unless the pool is stopping: a done()
 * running inside worker_pool_free, where nothing would ever run the work.
 * 1 with the lock held, else 0.
 */
static int
lock_unless_stopping(struct worker_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	if (!pool->stopping)
		return 1;
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

struct worker_job *
worker_pool_submit(struct worker_pool *pool, worker_work_fn work, worker_done_fn done,
    void *arg)
{
	struct worker_job *job;

	job = calloc(1, sizeof(*job));
	if (job == NULL)
		return NULL;
	job->pool = pool;
	job->work = work;
	job->done = done;
	job->arg = arg;

	if (!lock_unless_stopping(pool)) {
		free(job);
		return NULL;
	}
	job_queue_push(&pool->pending, job);
	pthread_cond_signal(&pool->work_available);
	pthread_mutex_unlock(&pool->lock);
	return job;
}

int
worker_pool_run_exclusive(struct worker_pool *pool, worker_done_fn call, void *arg)
{
	struct exclusive_call *exclusive;

	exclusive = calloc(1, sizeof(*exclusive));
	if (exclusive == NULL)
		return -ENOMEM;
	exclusive->call = call;
	exclusive->arg = arg;
	if (!lock_unless_stopping(pool)) {
		free(exclusive);
		return -ECANCELED;
	}
	*pool->exclusive_tail = exclusive;
	pool->exclusive_tail = &exclusive->next;
	/* With workers busy (or starting), the last one to finish (or start) wakes the loop. */
	if (exclusive_may_run(pool))
		wake_loop_locked(pool);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

void
worker_job_cancel(struct worker_job *job)
{
	struct worker_pool *pool = job->pool;

	pthread_mutex_lock(&pool->lock);
	job->cancelled = 1;
	pthread_mutex_unlock(&pool->lock);
}

void
worker_pool_free(struct worker_pool *pool)
{
	struct worker_job *completed, *pending;
	struct exclusive_call *exclusive;

	if (pool == NULL)
		return;
	stop_threads(pool);
	exclusive = pool->exclusive_head;
	pool->exclusive_head = NULL;
	pool->exclusive_tail = &pool->exclusive_head;
	run_exclusive_calls(exclusive, 1);

	/* No thread is left, so the lists are ours without the lock. */
	completed = pool->completed.head;
	pending = pool->pending.head;
	pool->completed.head = pool->completed.tail = NULL;
	pool->pending.head = pool->pending.tail = NULL;
	/*
	 * Work that ran reports as it would have; work that never started is
	 * cancelled. The lock stays usable: a done() may still cancel a job
	 * further down these lists, which takes it.
	 */
	run_done_callbacks(completed, 0);
	run_done_callbacks(pending, 1);

	event_free(pool->wakeup_event);
	close(pool->wakeup_pipe[0]);
	close(pool->wakeup_pipe[1]);
	pthread_cond_destroy(&pool->work_available);
	pthread_mutex_destroy(&pool->lock);
	free(pool->threads);
	free(pool);
}
