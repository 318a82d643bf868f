/*
 * shell/host: the services ftpd offers shells (include/ftpd/shell.h, struct
 * ftpd_host): blocking work on the worker threads, completed on the loop.
 */
#ifndef FTPD_HOST_H
#define FTPD_HOST_H

#include "ftpd/shell.h"

struct event_base;
struct worker_pool;

/* NULL on out of memory. The pool must outlive the host's pending work. */
struct ftpd_host *host_new(struct event_base *base, struct worker_pool *workers);
void host_free(struct ftpd_host *host);

#endif
