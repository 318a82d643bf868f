/*
 * portal/checkers/worker: the life of one check by a checker that blocks (passwd_file,
 * PAM): inputs copied into a worker thread, the answer given on the loop.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "portal/checkers/checkers.h"
#include "portal/checkers/worker.h"
#include "util/worker_pool.h"

/* One login being checked; everything the worker needs is copied in. */
struct checker_request {
	struct worker_job *job;
	checker_done_fn done;
	void *arg;
	int owner_cancelled;	/* loop thread only */

	checker_work_fn work_function;
	struct checker_work work;
	/* The checker's settings, copied so that the checker may go away first. */
	_Alignas(max_align_t) unsigned char settings[];
};

static void
checker_request_free(struct checker_request *request)
{
	explicit_bzero(request->work.password, sizeof(request->work.password));
	avatar_id_free(request->work.id);
	free(request);
}

/* Worker thread: the blocking part of a login. */
static void
checker_worker_run(void *context)
{
	struct checker_request *request = context;

	request->work_function(&request->work, request->settings);
	explicit_bzero(request->work.password, sizeof(request->work.password));
}

/* Loop thread: the worker finished, or the pool is shutting down. */
static void
checker_worker_done(void *context, int cancelled)
{
	struct checker_request *request = context;
	checker_done_fn done = request->done;
	void *arg = request->arg;
	struct avatar_id *id = request->work.id;
	int error = request->work.error;

	if (request->owner_cancelled) {
		checker_request_free(request);
		return;
	}
	if (cancelled) {
		/* The pool is going away, not our caller, who still waits for an answer. */
		error = -ECANCELED;
		id = NULL;
	} else
		request->work.id = NULL;	/* handed to done() */
	checker_request_free(request);
	done(arg, error, id);
}

struct checker_request *
checker_worker_submit(struct worker_pool *pool, const char *user, const char *password,
    const void *settings, size_t settings_size, checker_work_fn work,
    checker_done_fn done, void *arg)
{
	struct checker_request *request;

	/* No source of users has such a name; answering now leaks nothing about them. */
	if (!checker_user_name_is_valid(user) || strlen(password) >= CRYPT_MAX_PASSPHRASE_SIZE) {
		done(arg, -EACCES, NULL);
		return NULL;
	}
	request = calloc(1, sizeof(*request) + settings_size);
	if (request == NULL) {
		done(arg, -ENOMEM, NULL);
		return NULL;
	}
	request->done = done;
	request->arg = arg;
	request->work_function = work;
	strcpy(request->work.user, user);
	strcpy(request->work.password, password);
	if (settings_size > 0)
		memcpy(request->settings, settings, settings_size);

	request->job = worker_pool_submit(pool, checker_worker_run, checker_worker_done, request);
	if (request->job == NULL) {
		checker_request_free(request);
		done(arg, -ENOMEM, NULL);
		return NULL;
	}
	return request;
}

void
checker_worker_cancel(struct checker_request *request)
{
	/* The request is freed by checker_worker_done, which the pool still runs once. */
	request->owner_cancelled = 1;
	worker_job_cancel(request->job);
}

int
checker_worker_open_file(const char *what, const char *path, FILE **file)
{
	int error;

	*file = fopen(path, "re");
	if (*file != NULL)
		return 0;
	error = -errno;
	log_error("%s %s: %s", what, path, strerror(errno));
	return error;
}
