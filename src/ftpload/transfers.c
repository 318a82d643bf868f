/*
 * transfers: the scenarios that repeat one transfer: retr-small, stor-small,
 * list, retr, stor and parallel-retr. Sessions log in once and then take
 * operations from a shared count until it runs out, so a slow session
 * does fewer; the clock runs from the first operation to the last.
 * Sessions connect at most LOGINS_IN_FLIGHT at a time (a server's listen
 * backlog may be short), and operations start once every session is in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ftpload/list_line.h"
#include "ftpload/run.h"

#define LOGINS_IN_FLIGHT 16

struct worker {
	struct transfers *transfers;
	struct ftp_client *client;
	long index;
	long done;
	int ready;		/* logged in, waiting for the others */
	char name[512];
};

struct transfers {
	struct run *run;
	enum ftp_transfer kind;
	long target;
	long started;
	long active;
	long sessions;
	long connected;		/* sessions whose connection was started */
	long settled;		/* sessions logged in, or failed */
	int clock_started;
	double last_end;	/* when the latest operation ended: QUITs are not timed */
	struct worker *workers;
};

static void next_operation(struct worker *worker);
static void connect_more(struct transfers *transfers);

static void
worker_end(struct worker *worker)
{
	struct transfers *transfers = worker->transfers;

	ftp_client_free(worker->client);
	worker->client = NULL;
	if (--transfers->active == 0) {
		transfers->run->stats.seconds = transfers->clock_started ?
		    transfers->last_end : run_elapsed(transfers->run);
		event_base_loopexit(transfers->run->base, NULL);
	}
}

static void
quit_done(struct ftp_client *client, const struct ftp_outcome *outcome, void *arg)
{
	(void)client;
	(void)outcome;
	worker_end(arg);
}

static void
operation_done(struct ftp_client *client, const struct ftp_outcome *outcome, void *arg)
{
	struct worker *worker = arg;
	struct run *run = worker->transfers->run;
	const struct options *options = run->options;
	struct evbuffer *data = outcome->data;
	size_t length;

	(void)client;
	worker->transfers->last_end = run_elapsed(run);
	run->stats.bytes += outcome->bytes;
	if (!outcome->ok) {
		run_error(run, worker->name, outcome->text);
		if (outcome->code == 0) {
			/* The connection is gone: this session is done. */
			worker_end(worker);
			return;
		}
	} else if (worker->transfers->kind == FTP_RETR && options->size_given &&
	    outcome->bytes != options->size) {
		run_error(run, "RETR returned a size other than --size", worker->name);
	} else {
		stats_add(&run->stats, outcome->seconds);
		if (worker->transfers->kind == FTP_LIST && data != NULL &&
		    evbuffer_get_length(data) > 0) {
			length = evbuffer_get_length(data);
			run->entries += list_count_entries(
			    (const char *)evbuffer_pullup(data, (ev_ssize_t)length), length);
		}
	}
	next_operation(worker);
}

static void
next_operation(struct worker *worker)
{
	struct transfers *transfers = worker->transfers;
	const struct options *options = transfers->run->options;
	const char *path = options->path != NULL ? options->path : "";

	if (transfers->started >= transfers->target) {
		ftp_client_command(worker->client, "QUIT", quit_done, worker);
		return;
	}
	transfers->started++;
	if (!transfers->clock_started) {
		clock_gettime(CLOCK_MONOTONIC, &transfers->run->started);
		transfers->clock_started = 1;
	}
	if (transfers->kind == FTP_STOR) {
		/* Unique across runs and sessions: the process and the session name it. */
		snprintf(worker->name, sizeof(worker->name), "%s%sftpload-%ld-%ld-%ld.bin", path,
		    path[0] != '\0' && path[strlen(path) - 1] != '/' ? "/" : "",
		    (long)getpid(), worker->index, worker->done);
		path = worker->name;
	} else {
		snprintf(worker->name, sizeof(worker->name), "%s %s",
		    transfers->kind == FTP_LIST ? "LIST" : "RETR", path);
	}
	worker->done++;
	ftp_client_transfer(worker->client, transfers->kind, path, options->size,
	    operation_done, worker);
}

/* One more session is in or out: connect the next, or start them all. */
static void
session_settled(struct transfers *transfers)
{
	long i;

	transfers->settled++;
	if (transfers->settled < transfers->sessions) {
		connect_more(transfers);
		return;
	}
	for (i = 0; i < transfers->sessions; i++) {
		struct worker *worker = &transfers->workers[i];

		if (worker->ready) {
			worker->ready = 0;
			next_operation(worker);
		}
	}
}

static void
logged_in(struct ftp_client *client, const struct ftp_outcome *outcome, void *arg)
{
	struct worker *worker = arg;

	(void)client;
	if (!outcome->ok) {
		run_error(worker->transfers->run, "login", outcome->text);
		session_settled(worker->transfers);
		worker_end(worker);
		return;
	}
	worker->ready = 1;
	session_settled(worker->transfers);
}

static void
greeted(struct ftp_client *client, const struct ftp_outcome *outcome, void *arg)
{
	struct worker *worker = arg;
	const struct options *options = worker->transfers->run->options;

	if (!outcome->ok) {
		run_error(worker->transfers->run, "connect", outcome->text);
		session_settled(worker->transfers);
		worker_end(worker);
		return;
	}
	ftp_client_login(client, options->user, options->password, logged_in, worker);
}

static void
connect_more(struct transfers *transfers)
{
	while (transfers->connected < transfers->sessions &&
	    transfers->connected - transfers->settled < LOGINS_IN_FLIGHT) {
		struct worker *worker = &transfers->workers[transfers->connected++];

		worker->client = ftp_client_new(&transfers->run->config);
		if (worker->client == NULL ||
		    ftp_client_connect(worker->client, greeted, worker) != 0) {
			run_error(transfers->run, "connect", "cannot start a connection");
			session_settled(transfers);
			worker_end(worker);
		}
	}
}

int
scenario_transfers(struct run *run)
{
	const struct options *options = run->options;
	const char *scenario = options->scenario;
	struct transfers transfers;
	long sessions, i;
	char extra[128];

	memset(&transfers, 0, sizeof(transfers));
	transfers.run = run;
	sessions = options->sessions;
	transfers.target = options->count;
	if (strcmp(scenario, "list") == 0) {
		transfers.kind = FTP_LIST;
	} else if (strncmp(scenario, "stor", 4) == 0) {
		transfers.kind = FTP_STOR;
	} else {
		transfers.kind = FTP_RETR;
		if (options->path == NULL) {
			fprintf(stderr, "ftpload: %s needs --path, the file to download\n", scenario);
			return -1;
		}
	}
	/* C clients each doing K: the count is per client here. */
	if (strcmp(scenario, "parallel-retr") == 0) {
		sessions = options->concurrency;
		transfers.target = options->count * options->concurrency;
	}
	transfers.workers = calloc((size_t)sessions, sizeof(*transfers.workers));
	if (transfers.workers == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &run->started);
	/* All counted first, so a session that fails at once cannot end the loop early. */
	transfers.active = sessions;
	transfers.sessions = sessions;
	for (i = 0; i < sessions; i++) {
		struct worker *worker = &transfers.workers[i];

		worker->transfers = &transfers;
		worker->index = i;
		snprintf(worker->name, sizeof(worker->name), "session %ld", i);
	}
	connect_more(&transfers);
	if (transfers.active > 0)
		event_base_dispatch(run->base);
	extra[0] = '\0';
	if (transfers.kind == FTP_LIST)
		snprintf(extra, sizeof(extra), "\"entries_per_list\":%.1f,\"ms_per_list\":%.3f",
		    run->stats.operations > 0 ?
		    (double)run->entries / (double)run->stats.operations : 0.0,
		    run->stats.operations > 0 ?
		    run->stats.seconds * 1000.0 / (double)run->stats.operations : 0.0);
	stats_print(stdout, &run->stats, scenario, sessions, extra[0] != '\0' ? extra : NULL);
	free(transfers.workers);
	return 0;
}
