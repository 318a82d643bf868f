/*
 * test_worker_pool: the worker pool with real threads and a real event loop:
 * which thread runs what, order, concurrency, cancellation and shutdown.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "suites.h"
#include "util/attributes.h"
#include "util/worker_pool.h"

#define JOBS 64

struct job {
	int index;
	pthread_t work_thread;
	pthread_t done_thread;
	int work_ran;			/* atomic */
	int done_calls;
	int cancelled;
	struct worker_job *handle;
};

static struct {
	struct event_base *base;
	struct event *tick;
	struct worker_pool *pool;
	pthread_t loop_thread;
	struct job jobs[JOBS];
	int started[JOBS];		/* indexes in the order work() began */
	int started_count;		/* atomic */
	int finished[JOBS];		/* indexes in the order done() ran */
	int finished_count;
	int inside;			/* atomic: jobs inside work() now */
	int most_inside;		/* atomic */
	int gate[2];			/* gated work waits for a byte here */
	int ticks;
	/* In done(): what the pool answered while it was being freed. */
	int submit_refused;
	int exclusive_result;
} fixture;

static void
tick(evutil_socket_t fd UNUSED, short what UNUSED, void *arg UNUSED)
{
	fixture.ticks++;
}

static void
setup(void)
{
	struct timeval interval = { 0, 5 * 1000 };

	memset(&fixture, 0, sizeof(fixture));
	fixture.base = event_base_new();
	ck_assert_ptr_nonnull(fixture.base);
	fixture.tick = event_new(fixture.base, -1, EV_PERSIST, tick, NULL);
	ck_assert_ptr_nonnull(fixture.tick);
	ck_assert_int_eq(event_add(fixture.tick, &interval), 0);
	fixture.loop_thread = pthread_self();
	ck_assert_int_eq(pipe(fixture.gate), 0);
	for (int i = 0; i < JOBS; i++)
		fixture.jobs[i].index = i;
}

static void
teardown(void)
{
	char bytes[JOBS];

	/* A test that failed may have left a worker at the gate. */
	memset(bytes, 'x', sizeof(bytes));
	ck_assert_int_eq(write(fixture.gate[1], bytes, sizeof(bytes)), (ssize_t)sizeof(bytes));
	worker_pool_free(fixture.pool);
	close(fixture.gate[0]);
	close(fixture.gate[1]);
	event_free(fixture.tick);
	event_base_free(fixture.base);
}

static double
now(void)
{
	struct timespec time;

	clock_gettime(CLOCK_MONOTONIC, &time);
	return (double)time.tv_sec + (double)time.tv_nsec / 1e9;
}

static int
load(int *value)
{
	return __atomic_load_n(value, __ATOMIC_SEQ_CST);
}

/* Runs the loop until holds() or the time is up; returns whether it holds. */
static int
run_until(int (*holds)(void), double seconds)
{
	double deadline = now() + seconds;

	while (!holds() && now() < deadline)
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);
	return holds();
}

/* Waits, without running the loop, until the workers have got somewhere. */
static int
wait_for(int *counter, int value, double seconds)
{
	double deadline = now() + seconds;

	while (load(counter) < value && now() < deadline)
		usleep(1000);
	return load(counter) >= value;
}

static int finished_wanted;

static int
enough_finished(void)
{
	return fixture.finished_count >= finished_wanted;
}

static void
run_until_finished(int count)
{
	finished_wanted = count;
	ck_assert_msg(run_until(enough_finished, 5), "only %d of %d jobs reported",
	    fixture.finished_count, count);
}

/* Work functions run on workers: no Check assertions there, only records. */
static void
record_start(struct job *job)
{
	int at = __atomic_fetch_add(&fixture.started_count, 1, __ATOMIC_SEQ_CST);
	int inside = __atomic_add_fetch(&fixture.inside, 1, __ATOMIC_SEQ_CST);
	int most = load(&fixture.most_inside);

	while (inside > most && !__atomic_compare_exchange_n(&fixture.most_inside, &most,
	    inside, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		continue;
	fixture.started[at] = job->index;
	job->work_thread = pthread_self();
}

static void
record_end(struct job *job)
{
	__atomic_sub_fetch(&fixture.inside, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&job->work_ran, 1, __ATOMIC_SEQ_CST);
}

static void
quick_work(void *arg)
{
	record_start(arg);
	record_end(arg);
}

/* Blocks until the test writes a byte to the gate. */
static void
gated_work(void *arg)
{
	char byte;

	record_start(arg);
	while (read(fixture.gate[0], &byte, 1) < 0 && errno == EINTR)
		continue;
	record_end(arg);
}

/* Stays inside work() until wanted jobs have started, or 2 s passed. */
static int wanted_together;

static void
meeting_work(void *arg)
{
	double deadline = now() + 2;

	record_start(arg);
	while (load(&fixture.started_count) < wanted_together && now() < deadline)
		usleep(500);
	usleep(10 * 1000);	/* so that a job too many would be seen inside */
	record_end(arg);
}

static void
record_done(void *arg, int cancelled)
{
	struct job *job = arg;

	job->done_calls++;
	job->cancelled = cancelled;
	job->done_thread = pthread_self();
	fixture.finished[fixture.finished_count++] = job->index;
}

static struct worker_job *
submit(worker_work_fn work, int index)
{
	struct worker_job *handle = worker_pool_submit(fixture.pool, work, record_done,
	    &fixture.jobs[index]);

	ck_assert_ptr_nonnull(handle);
	fixture.jobs[index].handle = handle;
	return handle;
}

static void
open_gate(int count)
{
	while (count-- > 0)
		ck_assert_int_eq(write(fixture.gate[1], "x", 1), 1);
}

START_TEST(test_work_on_a_worker_done_on_the_loop)
{
	fixture.pool = worker_pool_new(fixture.base, 2);
	ck_assert_ptr_nonnull(fixture.pool);
	submit(quick_work, 0);
	ck_assert(wait_for(&fixture.jobs[0].work_ran, 1, 2));
	/* Finished work waits for the loop: done() never runs on a worker. */
	usleep(20 * 1000);
	ck_assert_int_eq(fixture.jobs[0].done_calls, 0);
	run_until_finished(1);
	ck_assert_int_eq(fixture.jobs[0].done_calls, 1);
	ck_assert_int_eq(fixture.jobs[0].cancelled, 0);
	ck_assert(!pthread_equal(fixture.jobs[0].work_thread, fixture.loop_thread));
	ck_assert(pthread_equal(fixture.jobs[0].done_thread, fixture.loop_thread));
}
END_TEST

static int
ticked_a_lot(void)
{
	return fixture.ticks >= 10;
}

START_TEST(test_loop_runs_while_work_blocks)
{
	fixture.pool = worker_pool_new(fixture.base, 1);
	ck_assert_ptr_nonnull(fixture.pool);
	submit(gated_work, 0);
	ck_assert(wait_for(&fixture.started_count, 1, 2));
	/* The loop serves its timers while the only worker is stuck. */
	ck_assert(run_until(ticked_a_lot, 2));
	ck_assert_int_eq(fixture.jobs[0].done_calls, 0);
	open_gate(1);
	run_until_finished(1);
	ck_assert_int_eq(load(&fixture.jobs[0].work_ran), 1);
}
END_TEST

START_TEST(test_one_thread_keeps_submission_order)
{
	int i;

	fixture.pool = worker_pool_new(fixture.base, 1);
	ck_assert_ptr_nonnull(fixture.pool);
	for (i = 0; i < JOBS; i++)
		submit(quick_work, i);
	run_until_finished(JOBS);
	ck_assert_int_eq(load(&fixture.started_count), JOBS);
	for (i = 0; i < JOBS; i++) {
		ck_assert_int_eq(fixture.started[i], i);
		ck_assert_int_eq(fixture.finished[i], i);
		ck_assert_int_eq(fixture.jobs[i].done_calls, 1);
	}
	ck_assert_int_eq(load(&fixture.most_inside), 1);
}
END_TEST

START_TEST(test_threads_work_together_up_to_their_number)
{
	const int threads = 3;
	int i;

	fixture.pool = worker_pool_new(fixture.base, (unsigned)threads);
	ck_assert_ptr_nonnull(fixture.pool);
	/* Each job waits for the others: only real concurrency lets them meet. */
	wanted_together = threads;
	for (i = 0; i < threads + 2; i++)
		submit(meeting_work, i);
	run_until_finished(threads + 2);
	ck_assert_int_eq(load(&fixture.most_inside), threads);
	/* Started in submission order even with several threads. */
	for (i = 0; i < threads + 2; i++)
		ck_assert_int_eq(fixture.started[i] < threads, i < threads);
}
END_TEST

START_TEST(test_cancel_running_job)
{
	fixture.pool = worker_pool_new(fixture.base, 1);
	ck_assert_ptr_nonnull(fixture.pool);
	submit(gated_work, 0);
	submit(quick_work, 1);
	ck_assert(wait_for(&fixture.started_count, 1, 2));
	worker_job_cancel(fixture.jobs[0].handle);
	open_gate(1);
	run_until_finished(2);
	/* Work already running finishes; its owner is told to ignore it. */
	ck_assert_int_eq(load(&fixture.jobs[0].work_ran), 1);
	ck_assert_int_eq(fixture.jobs[0].done_calls, 1);
	ck_assert_int_eq(fixture.jobs[0].cancelled, 1);
	ck_assert_int_eq(fixture.jobs[1].cancelled, 0);
	ck_assert_int_eq(load(&fixture.jobs[1].work_ran), 1);
}
END_TEST

START_TEST(test_cancel_queued_job_skips_its_work)
{
	fixture.pool = worker_pool_new(fixture.base, 1);
	ck_assert_ptr_nonnull(fixture.pool);
	submit(gated_work, 0);
	submit(quick_work, 1);
	submit(quick_work, 2);
	ck_assert(wait_for(&fixture.started_count, 1, 2));
	worker_job_cancel(fixture.jobs[1].handle);
	open_gate(1);
	run_until_finished(3);
	ck_assert_int_eq(load(&fixture.jobs[1].work_ran), 0);
	ck_assert_int_eq(fixture.jobs[1].done_calls, 1);
	ck_assert_int_eq(fixture.jobs[1].cancelled, 1);
	ck_assert_int_eq(load(&fixture.jobs[2].work_ran), 1);
	ck_assert_int_eq(fixture.jobs[2].cancelled, 0);
	/* done() still comes in submission order. */
	ck_assert_int_eq(fixture.finished[0], 0);
	ck_assert_int_eq(fixture.finished[1], 1);
	ck_assert_int_eq(fixture.finished[2], 2);
}
END_TEST

START_TEST(test_cancel_after_work_before_done)
{
	fixture.pool = worker_pool_new(fixture.base, 1);
	ck_assert_ptr_nonnull(fixture.pool);
	submit(quick_work, 0);
	ck_assert(wait_for(&fixture.jobs[0].work_ran, 1, 2));
	worker_job_cancel(fixture.jobs[0].handle);
	run_until_finished(1);
	ck_assert_int_eq(fixture.jobs[0].done_calls, 1);
	ck_assert_int_eq(fixture.jobs[0].cancelled, 1);
}
END_TEST

/* The first job's owner goes away in its done() and takes the second with it. */
static void
cancelling_done(void *arg, int cancelled)
{
	record_done(arg, cancelled);
	worker_job_cancel(fixture.jobs[1].handle);
}

START_TEST(test_done_may_cancel_a_finished_job)
{
	fixture.pool = worker_pool_new(fixture.base, 1);
	ck_assert_ptr_nonnull(fixture.pool);
	fixture.jobs[0].handle = worker_pool_submit(fixture.pool, quick_work, cancelling_done,
	    &fixture.jobs[0]);
	ck_assert_ptr_nonnull(fixture.jobs[0].handle);
	submit(quick_work, 1);
	/* Both finished before the loop runs: their done() calls come in one go. */
	ck_assert(wait_for(&fixture.jobs[1].work_ran, 1, 2));
	run_until_finished(2);
	ck_assert_int_eq(fixture.jobs[0].cancelled, 0);
	ck_assert_int_eq(fixture.jobs[1].done_calls, 1);
	ck_assert_int_eq(fixture.jobs[1].cancelled, 1);
}
END_TEST

static void *
open_gate_later(void *arg UNUSED)
{
	usleep(50 * 1000);
	if (write(fixture.gate[1], "x", 1) != 1)
		abort();
	return NULL;
}

START_TEST(test_free_waits_for_running_work)
{
	pthread_t opener;
	double started;

	fixture.pool = worker_pool_new(fixture.base, 1);
	ck_assert_ptr_nonnull(fixture.pool);
	submit(gated_work, 0);
	submit(quick_work, 1);
	ck_assert(wait_for(&fixture.started_count, 1, 2));
	started = now();
	ck_assert_int_eq(pthread_create(&opener, NULL, open_gate_later, NULL), 0);
	worker_pool_free(fixture.pool);
	fixture.pool = NULL;
	ck_assert(now() - started >= 0.04);
	ck_assert_int_eq(pthread_join(opener, NULL), 0);
	/* The running job finished and reports normally; the queued one never ran. */
	ck_assert_int_eq(load(&fixture.jobs[0].work_ran), 1);
	ck_assert_int_eq(fixture.jobs[0].done_calls, 1);
	ck_assert_int_eq(fixture.jobs[0].cancelled, 0);
	ck_assert_int_eq(load(&fixture.jobs[1].work_ran), 0);
	ck_assert_int_eq(fixture.jobs[1].done_calls, 1);
	ck_assert_int_eq(fixture.jobs[1].cancelled, 1);
	/* Without the loop, and on this thread. */
	ck_assert(pthread_equal(fixture.jobs[0].done_thread, fixture.loop_thread));
	ck_assert_int_eq(fixture.finished[0], 0);
}
END_TEST

START_TEST(test_free_reports_finished_work_as_done)
{
	int i;

	fixture.pool = worker_pool_new(fixture.base, 2);
	ck_assert_ptr_nonnull(fixture.pool);
	for (i = 0; i < 8; i++)
		submit(quick_work, i);
	ck_assert(wait_for(&fixture.started_count, 8, 2));
	for (i = 0; i < 8; i++)
		ck_assert(wait_for(&fixture.jobs[i].work_ran, 1, 2));
	/* The loop never ran: the results are still waiting for it. */
	ck_assert_int_eq(fixture.finished_count, 0);
	worker_pool_free(fixture.pool);
	fixture.pool = NULL;
	ck_assert_int_eq(fixture.finished_count, 8);
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(fixture.jobs[i].done_calls, 1);
		ck_assert_int_eq(fixture.jobs[i].cancelled, 0);
	}
}
END_TEST

static void
exclusive_never(void *arg UNUSED, int cancelled UNUSED)
{
}

/* A done() run by worker_pool_free asks the stopping pool for more. */
static void
asking_done(void *arg, int cancelled)
{
	record_done(arg, cancelled);
	fixture.submit_refused = worker_pool_submit(fixture.pool, quick_work, record_done,
	    &fixture.jobs[JOBS - 1]) == NULL;
	fixture.exclusive_result = worker_pool_run_exclusive(fixture.pool, exclusive_never, NULL);
}

START_TEST(test_stopping_pool_refuses_new_work)
{
	struct worker_pool *pool;

	fixture.pool = worker_pool_new(fixture.base, 1);
	ck_assert_ptr_nonnull(fixture.pool);
	fixture.jobs[0].handle = worker_pool_submit(fixture.pool, quick_work, asking_done,
	    &fixture.jobs[0]);
	ck_assert_ptr_nonnull(fixture.jobs[0].handle);
	ck_assert(wait_for(&fixture.jobs[0].work_ran, 1, 2));
	pool = fixture.pool;
	worker_pool_free(pool);
	fixture.pool = NULL;
	ck_assert_int_eq(fixture.jobs[0].done_calls, 1);
	ck_assert_int_eq(fixture.submit_refused, 1);
	ck_assert_int_eq(fixture.exclusive_result, -ECANCELED);
	/* Nothing was queued that could run or report later. */
	ck_assert_int_eq(fixture.jobs[JOBS - 1].done_calls, 0);
}
END_TEST

static int exclusive_order[4];
static int exclusive_count;

static void
exclusive_record(void *arg, int cancelled)
{
	ck_assert_int_eq(cancelled, 0);
	/* No job may be inside work() meanwhile. */
	ck_assert_int_eq(load(&fixture.inside), 0);
	exclusive_order[exclusive_count++] = (int)(long)arg;
	/* Nor start while this runs: the job submitted after waits. */
	usleep(10 * 1000);
	ck_assert_int_eq(load(&fixture.started_count), 0);
}

START_TEST(test_exclusive_calls_in_order_before_later_jobs)
{
	exclusive_count = 0;
	fixture.pool = worker_pool_new(fixture.base, 2);
	ck_assert_ptr_nonnull(fixture.pool);
	ck_assert_int_eq(worker_pool_run_exclusive(fixture.pool, exclusive_record, (void *)1L), 0);
	ck_assert_int_eq(worker_pool_run_exclusive(fixture.pool, exclusive_record, (void *)2L), 0);
	submit(quick_work, 0);
	run_until_finished(1);
	ck_assert_int_eq(exclusive_count, 2);
	ck_assert_int_eq(exclusive_order[0], 1);
	ck_assert_int_eq(exclusive_order[1], 2);
	ck_assert_int_eq(load(&fixture.jobs[0].work_ran), 1);
}
END_TEST

Suite *
worker_pool_suite(void)
{
	Suite *suite = suite_create("worker_pool");
	TCase *threads = tcase_create("threads");
	TCase *cancel = tcase_create("cancel");
	TCase *shutdown = tcase_create("shutdown");
	TCase *all[] = { threads, cancel, shutdown };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_set_timeout(all[i], 30);
		tcase_add_checked_fixture(all[i], setup, teardown);
		suite_add_tcase(suite, all[i]);
	}
	tcase_add_test(threads, test_work_on_a_worker_done_on_the_loop);
	tcase_add_test(threads, test_loop_runs_while_work_blocks);
	tcase_add_test(threads, test_one_thread_keeps_submission_order);
	tcase_add_test(threads, test_threads_work_together_up_to_their_number);
	tcase_add_test(threads, test_exclusive_calls_in_order_before_later_jobs);

	tcase_add_test(cancel, test_cancel_running_job);
	tcase_add_test(cancel, test_cancel_queued_job_skips_its_work);
	tcase_add_test(cancel, test_cancel_after_work_before_done);
	tcase_add_test(cancel, test_done_may_cancel_a_finished_job);

	tcase_add_test(shutdown, test_free_waits_for_running_work);
	tcase_add_test(shutdown, test_free_reports_finished_work_as_done);
	tcase_add_test(shutdown, test_stopping_pool_refuses_new_work);
	return suite;
}
