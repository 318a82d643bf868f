/*
 * sessions: the scenarios about sessions rather than transfers. login
 * measures whole short sessions (connect, USER/PASS, PWD, QUIT); hold
 * opens many sessions, leaves them idle, and then times a new one, which
 * is what a server with many idle clients must still answer quickly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "ftpload/run.h"

/* One short session: connect, login, PWD, QUIT. */
struct probe {
	struct run *run;
	struct ftp_client *client;
	struct timespec started;
	void (*ended)(struct probe *probe, int ok);
	void *owner;
	int failed;
};

static double
seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	    (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void
probe_quit(struct ftp_client *client, const struct ftp_outcome *outcome, void *arg)
{
	struct probe *probe = arg;

	(void)outcome;
	ftp_client_free(client);
	probe->client = NULL;
	probe->ended(probe, !probe->failed);
}

static void
probe_fail(struct probe *probe, const char *what, const char *text)
{
	run_error(probe->run, what, text);
	probe->failed = 1;
	ftp_client_free(probe->client);
	probe->client = NULL;
	probe->ended(probe, 0);
}

static void
probe_pwd(struct ftp_client *client, const struct ftp_outcome *outcome, void *arg)
{
	struct probe *probe = arg;

	if (!outcome->ok) {
		probe_fail(probe, "PWD", outcome->text);
		return;
	}
	/* The session's latency ends with PWD's reply; QUIT is manners, not measured. */
	stats_add(&probe->run->stats, seconds_since(&probe->started));
	ftp_client_command(client, "QUIT", probe_quit, probe);
}

static void
probe_logged_in(struct ftp_client *client, const struct ftp_outcome *outcome, void *arg)
{
	struct probe *probe = arg;

	if (!outcome->ok) {
		probe_fail(probe, "login", outcome->text);
		return;
	}
	ftp_client_command(client, "PWD", probe_pwd, probe);
}

static void
probe_greeted(struct ftp_client *client, const struct ftp_outcome *outcome, void *arg)
{
	struct probe *probe = arg;
	const struct options *options = probe->run->options;

	if (!outcome->ok) {
		probe_fail(probe, "connect", outcome->text);
		return;
	}
	ftp_client_login(client, options->user, options->password, probe_logged_in, probe);
}

static void
probe_start(struct probe *probe)
{
	probe->failed = 0;
	clock_gettime(CLOCK_MONOTONIC, &probe->started);
	probe->client = ftp_client_new(&probe->run->config);
	if (probe->client == NULL ||
	    ftp_client_connect(probe->client, probe_greeted, probe) != 0) {
		probe_fail(probe, "connect", "cannot start a connection");
		return;
	}
}

/* login: concurrency probes at a time until sessions have run. */
struct login {
	long started;
	long active;
};

static void
login_probe_ended(struct probe *probe, int ok)
{
	struct run *run = probe->run;
	struct login *login = probe->owner;

	(void)ok;
	if (login->started < run->options->sessions) {
		login->started++;
		probe_start(probe);
		return;
	}
	if (--login->active == 0) {
		run->stats.seconds = run_elapsed(run);
		event_base_loopexit(run->base, NULL);
	}
}

int
scenario_login(struct run *run)
{
	const struct options *options = run->options;
	long workers = options->concurrency < options->sessions ?
	    options->concurrency : options->sessions;
	struct probe *probes = calloc((size_t)workers, sizeof(*probes));
	struct login login = { 0, workers };
	long i;

	if (probes == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &run->started);
	for (i = 0; i < workers; i++) {
		probes[i].run = run;
		probes[i].owner = &login;
		probes[i].ended = login_probe_ended;
		login.started++;
		probe_start(&probes[i]);
	}
	if (login.active > 0)
		event_base_dispatch(run->base);
	stats_print(stdout, &run->stats, "login", options->sessions, NULL);
	free(probes);
	return 0;
}

/*
 * hold: sessions logins, at most concurrency at a time; then seconds idle;
 * then count new sessions one after another, timed while the others stay.
 */
struct hold {
	struct run *run;
	struct ftp_client **held;
	long opened;		/* logins started */
	long settled;		/* logins that ended, either way */
	long failed;
	long probes_left;
	double open_seconds;
	struct probe probe;
	struct event *idle;
};

static void hold_open_next(struct hold *hold);

static void
hold_probe_ended(struct probe *probe, int ok)
{
	struct hold *hold = probe->owner;

	(void)ok;
	if (--hold->probes_left > 0) {
		probe_start(probe);
		return;
	}
	hold->run->stats.seconds = run_elapsed(hold->run);
	event_base_loopexit(hold->run->base, NULL);
}

static void
idle_over(evutil_socket_t fd, short what, void *arg)
{
	struct hold *hold = arg;

	(void)fd;
	(void)what;
	/* Only the new sessions are measured: the clock starts again. */
	clock_gettime(CLOCK_MONOTONIC, &hold->run->started);
	probe_start(&hold->probe);
}

static void
hold_settled(struct hold *hold)
{
	struct timeval idle;

	hold->settled++;
	if (hold->settled < hold->run->options->sessions) {
		hold_open_next(hold);
		return;
	}
	hold->open_seconds = run_elapsed(hold->run);
	idle.tv_sec = (time_t)hold->run->options->seconds;
	idle.tv_usec = (suseconds_t)((hold->run->options->seconds - (double)idle.tv_sec) * 1e6);
	evtimer_add(hold->idle, &idle);
}

struct held_session {
	struct hold *hold;
	long index;
};

static void
held_logged_in(struct ftp_client *client, const struct ftp_outcome *outcome, void *arg)
{
	struct held_session *session = arg;
	struct hold *hold = session->hold;

	if (!outcome->ok) {
		run_error(hold->run, "held session login", outcome->text);
		hold->failed++;
		ftp_client_free(client);
		hold->held[session->index] = NULL;
	}
	free(session);
	hold_settled(hold);
}

static void
held_greeted(struct ftp_client *client, const struct ftp_outcome *outcome, void *arg)
{
	struct held_session *session = arg;
	const struct options *options = session->hold->run->options;

	if (!outcome->ok) {
		held_logged_in(client, outcome, arg);
		return;
	}
	ftp_client_login(client, options->user, options->password, held_logged_in, session);
}

static void
settle_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hold_settled(arg);
}

static void
hold_open_next(struct hold *hold)
{
	struct held_session *session;
	struct ftp_client *client;

	if (hold->opened >= hold->run->options->sessions)
		return;
	session = calloc(1, sizeof(*session));
	client = ftp_client_new(&hold->run->config);
	if (session == NULL || client == NULL || ftp_client_connect(client, held_greeted,
	    session) != 0) {
		run_error(hold->run, "held session", "cannot start a connection");
		free(session);
		ftp_client_free(client);
		hold->opened++;
		hold->failed++;
		/* Later, not in this stack: a machine out of descriptors fails them all. */
		event_base_once(hold->run->base, -1, EV_TIMEOUT, settle_later, hold, NULL);
		return;
	}
	session->hold = hold;
	session->index = hold->opened;
	hold->held[hold->opened++] = client;
}

/* Ten thousand sessions need ten thousand descriptors: take all we may. */
static void
raise_descriptor_limit(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		setrlimit(RLIMIT_NOFILE, &limit);
	}
}

int
scenario_hold(struct run *run)
{
	const struct options *options = run->options;
	struct hold hold;
	long i, in_flight, alive = 0;
	char extra[160];

	raise_descriptor_limit();
	memset(&hold, 0, sizeof(hold));
	hold.run = run;
	hold.probes_left = options->count;
	hold.probe.run = run;
	hold.probe.owner = &hold;
	hold.probe.ended = hold_probe_ended;
	hold.held = calloc((size_t)options->sessions + 1, sizeof(*hold.held));
	hold.idle = evtimer_new(run->base, idle_over, &hold);
	if (hold.held == NULL || hold.idle == NULL) {
		free(hold.held);
		if (hold.idle != NULL)
			event_free(hold.idle);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &run->started);
	in_flight = options->concurrency < options->sessions ?
	    options->concurrency : options->sessions;
	for (i = 0; i < in_flight; i++)
		hold_open_next(&hold);
	if (options->sessions == 0)
		event_base_once(run->base, -1, EV_TIMEOUT, settle_later, &hold, NULL);
	event_base_dispatch(run->base);
	for (i = 0; i < options->sessions; i++) {
		if (hold.held[i] == NULL)
			continue;
		alive += ftp_client_alive(hold.held[i]);
		ftp_client_free(hold.held[i]);
	}
	snprintf(extra, sizeof(extra), "\"held\":%ld,\"held_at_end\":%ld,"
	    "\"open_seconds\":%.3f,\"new_session_ms\":%.3f",
	    options->sessions - hold.failed, alive, hold.open_seconds,
	    stats_percentile(&run->stats, 50));
	stats_print(stdout, &run->stats, "hold", options->sessions, extra);
	event_free(hold.idle);
	free(hold.held);
	return 0;
}
