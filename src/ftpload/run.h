/*
 * run: what every scenario shares: the options, the event loop, the client
 * configuration and the measurements.
 */
#ifndef FTPLOAD_RUN_H
#define FTPLOAD_RUN_H

#include <stdint.h>
#include <time.h>

#include "ftpload/client.h"
#include "ftpload/stats.h"

struct options {
	const char *scenario;
	const char *host;
	const char *port;
	const char *user;
	const char *password;
	const char *path;
	long sessions;
	long count;
	long concurrency;
	uint64_t size;
	int size_given;
	double seconds;
	int tls;
	int epsv;
	int timeout;
};

struct run {
	const struct options *options;
	struct event_base *base;
	struct ftp_client_config config;
	struct stats stats;
	struct timespec started;
	int errors_shown;
	/* list: entries its reader found, over every LIST. */
	uint64_t entries;
};

/* Seconds since run->started. */
double run_elapsed(const struct run *run);

/* Counts an error; the first few are told on stderr, with what the server said. */
void run_error(struct run *run, const char *what, const char *text);

/* The scenarios; each runs the loop to its end and prints its result line. */
int scenario_login(struct run *run);
int scenario_hold(struct run *run);
int scenario_transfers(struct run *run);

#endif
