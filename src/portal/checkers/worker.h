/*
 * portal/checkers/worker: the life of one check by a checker that blocks (passwd_file,
 * PAM): inputs copied into a worker thread, the answer given on the loop.
 */
#ifndef FTPD_CHECKER_WORKER_H
#define FTPD_CHECKER_WORKER_H

#include <crypt.h>
#include <stddef.h>
#include <stdio.h>

#include "portal/checkers/checkers.h"

struct worker_pool;

/* One check as the worker thread sees it. */
struct checker_work {
	/* Inputs: a name checker_user_name_is_valid accepts, and the password. */
	char user[CHECKER_USER_MAX + 1];
	char password[CRYPT_MAX_PASSPHRASE_SIZE];	/* zeroed once work() returned */

	/* Results, handed to done(): error 0 with id, or -errno without. */
	int error;
	struct avatar_id *id;
};

/*
 * Runs in a worker thread and must not touch the checker: settings is the
 * copy made when the check was submitted.
 */
typedef void (*checker_work_fn)(struct checker_work *work, const void *settings);

/*
 * The check() of struct checker_ops, with work() as its blocking part.
 * settings_size bytes of settings are copied, so the checker may be freed
 * while the check runs. Names checker_user_name_is_valid refuses and
 * passwords too long for crypt(3) are answered -EACCES at once, without a
 * thread; a pool freed before the work ran answers -ECANCELED.
 */
struct checker_request *checker_worker_submit(struct worker_pool *pool, const char *user,
    const char *password, const void *settings, size_t settings_size, checker_work_fn work,
    checker_done_fn done, void *arg);

/* The cancel() of struct checker_ops for requests checker_worker_submit made. */
void checker_worker_cancel(struct checker_request *request);

/*
 * For work(): opens a file the checker reads at every check (what names it
 * in the log). 0 with *file set, or -errno, logged.
 */
int checker_worker_open_file(const char *what, const char *path, FILE **file);

#endif
