/*
 * session/operation: one asynchronous command in flight. Each command that
 * waits for a shell (or a transfer) keeps its own state in a struct that
 * begins with struct operation; the session holds only what outlives it.
 *
 * The life of one:
 *   op = operation_start(session, sizeof(*op), "CMD");   the session is held
 *   operation_resolve(&op->base, argument)                553 for a bad path
 *   shell->ops->x(..., callback, op)                      may call back at once
 *   callback: if (operation_arrived(&op->base)) return;   the client left
 *             operation_finish(&op->base, error, REPLY_X, ...);
 * A callback that starts another step first calls operation_continue.
 */
#ifndef FTPD_SESSION_OPERATION_H
#define FTPD_SESSION_OPERATION_H

#include <stddef.h>

#include "ftpd/shell.h"
#include "path/path.h"
#include "reply/reply.h"

struct session;

struct operation {
	struct session *session;
	const char *command;		/* its name, for 451 replies */
	struct path path;		/* the path it works on (the root until resolved) */
	/* Frees what the command added to its struct; NULL when nothing. */
	void (*release)(struct operation *operation);
};

/*
 * Allocates a command's operation (size bytes, zeroed, starting with
 * struct operation) and holds the session until the operation ends. NULL
 * after replying 451 when out of memory (the session goes on).
 */
void *operation_start(struct session *session, size_t size, const char *command);

/*
 * Resolves a client path argument against the working directory into
 * operation->path. 0, or -1 after replying 553 and ending the operation.
 */
int operation_resolve(struct operation *operation, const char *argument);

/*
 * For a command whose shell operation is optional (ftpd/shell.h), supported
 * telling whether this shell has it: 502 naming the command without it,
 * else operation_start and operation_resolve of path. NULL when refused,
 * after replying.
 */
void *operation_start_optional(struct session *session, int supported, size_t size,
    const char *command, const char *path);

/* operation->path as the shell interface takes it. */
struct ftpd_path operation_shell_path(const struct operation *operation);

/* The shell of the logged-in user the operation works for. */
struct ftpd_shell *operation_shell(const struct operation *operation);

/*
 * First call in every completion callback. 0: go on. 1: the client went
 * away meanwhile; the operation is freed (and the session, if it was the
 * last thing holding it): touch neither.
 */
int operation_arrived(struct operation *operation);

/* Before the next asynchronous step of the same operation. */
void operation_continue(struct operation *operation);

/*
 * The one way an operation completes: error 0 replies success with its
 * arguments, any other error the reply it maps to (reply.c) naming
 * operation->path. Then the operation is freed and the next command runs.
 */
void operation_finish(struct operation *operation, int error, enum reply_id success, ...);

/* Completes an operation that has replied by itself. */
void operation_end(struct operation *operation);

/* Frees without a reply and without resuming (the session is going away). */
void operation_discard(struct operation *operation);

#endif
