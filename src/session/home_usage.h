/*
 * session/home_usage: the session's count of what its user's home holds,
 * for quota_bytes and quota_files: walked once, when a command first needs
 * it, then kept up to date with the session's own uploads and removals.
 */
#ifndef FTPD_SESSION_HOME_USAGE_H
#define FTPD_SESSION_HOME_USAGE_H

#include "quota/usage.h"

struct session;
struct operation;

/* Whether the session's user has a quota. */
int home_usage_limited(const struct session *session);

/* The count, once known (else NULL): commands that change the home update it. */
struct quota_usage *home_usage_counted(struct session *session);

/*
 * Runs then(operation) once the count is known: at once, or after a walk
 * of the home. The operation holds its session when this is called, and
 * holds it again when then() runs. If the walk fails, the command is
 * answered (451) and then() does not run.
 */
void home_usage_ensure(struct operation *operation, void (*then)(struct operation *operation));

#endif
