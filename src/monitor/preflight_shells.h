/*
 * monitor/preflight_shells: ftpd -t's check of the shells, run in the child
 * that has become the worker's user, never in the monitor itself.
 */
#ifndef FTPD_PREFLIGHT_SHELLS_H
#define FTPD_PREFLIGHT_SHELLS_H

#include <stddef.h>
#include <stdio.h>

#include "config/config.h"

/*
 * Loads shell and anonymous_shell (with anonymous = yes) as a worker would,
 * and creates each on the root it would serve, then destroys it: guests'
 * on anonymous_root, read-only; password users' on home_root when there is
 * a passwd_file. 0, or 1 with a message naming where the key was set.
 */
int preflight_try_shells(const struct config *config, char *message, size_t size);

/* Comment lines for -t's output: a shell that was loaded but not created, and why. */
void preflight_describe_shells(const struct config *config, FILE *out);

#endif
