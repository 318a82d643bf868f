/*
 * shared_state: one hiredis connection on the monitor's loop, four Lua
 * scripts that each do one step atomically in Redis, and a 250 ms tick that
 * connects, notices silence and refreshes this instance's counts.
 *
 * Keys (one Redis, or one database of it, per group of instances):
 *   ftpd:instances         sorted set: instance -> when its counts expire (ms)
 *   ftpd:sessions:INSTANCE hash: client address -> sessions on that instance
 *   ftpd:users:INSTANCE    hash: user -> logged-in sessions on that instance
 *   ftpd:failures:ADDRESS  failed logins, forgotten ban_time after the last
 *   ftpd:ban:ADDRESS       present while the address is banned
 *
 * Only hiredis's callbacks and this file touch the connection; it is freed
 * here outside of them (on the tick, or by shared_state_free), never inside.
 *
 * A host name the configuration check could not resolve (DNS down during a
 * restart) does not keep the instance down: it is looked up again before
 * each connection attempt, in one of the monitor's threads, until it resolves.
 */
#include <sys/random.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/adapters/libevent.h>
#include <openssl/evp.h>

#include "log/log.h"
#include "shared_state/shared_state.h"
#include "util/attributes.h"
#include "util/worker_pool.h"

#define TICK_MS 250
#define KEY_TEXT_SIZE (INET6_ADDRSTRLEN + 4)
/* A refresh's texts: address keys, user names and counts. */
#define REFRESH_TEXT_SIZE (CHECKER_USER_MAX + 1)
_Static_assert(REFRESH_TEXT_SIZE >= KEY_TEXT_SIZE, "an address key fits a refresh text");

/* Answers {0, 0} counted, {1, total} too many from the address, {2, ms} banned. */
static const char admit_script[] =
    "local ban = redis.call('PTTL', 'ftpd:ban:' .. ARGV[3])\n"
    "if ban > 0 then return {2, ban} end\n"
    "local max = tonumber(ARGV[4])\n"
    "local mine = 'ftpd:sessions:' .. ARGV[1]\n"
    "if max > 0 then\n"
    "  local now = redis.call('TIME')\n"
    "  local now_ms = string.format('%d', now[1] * 1000 + math.floor(now[2] / 1000))\n"
    "  local total = 0\n"
    "  for _, id in ipairs(redis.call('ZRANGEBYSCORE', 'ftpd:instances', now_ms, '+inf')) do\n"
    "    total = total + (tonumber(redis.call('HGET', 'ftpd:sessions:' .. id, ARGV[2])) or 0)\n"
    "  end\n"
    "  if total >= max then return {1, total} end\n"
    "end\n"
    "redis.call('HINCRBY', mine, ARGV[2], 1)\n"
    "redis.call('PEXPIRE', mine, ARGV[5])\n"
    "return {0, 0}\n";

/* ARGV: instance, user, max_sessions_per_user, ttl. Answers {0, 0} counted, {1, total} too many. */
static const char login_script[] =
    "local max = tonumber(ARGV[3])\n"
    "local mine = 'ftpd:users:' .. ARGV[1]\n"
    "if max > 0 then\n"
    "  local now = redis.call('TIME')\n"
    "  local now_ms = string.format('%d', now[1] * 1000 + math.floor(now[2] / 1000))\n"
    "  local total = 0\n"
    "  for _, id in ipairs(redis.call('ZRANGEBYSCORE', 'ftpd:instances', now_ms, '+inf')) do\n"
    "    total = total + (tonumber(redis.call('HGET', 'ftpd:users:' .. id, ARGV[2])) or 0)\n"
    "  end\n"
    "  if total >= max then return {1, total} end\n"
    "end\n"
    "redis.call('HINCRBY', mine, ARGV[2], 1)\n"
    "redis.call('PEXPIRE', mine, ARGV[4])\n"
    "return {0, 0}\n";

/* ARGV: instance, the address or user, and which table: 'sessions' or 'users'. */
static const char ended_script[] =
    "local key = 'ftpd:' .. ARGV[3] .. ':' .. ARGV[1]\n"
    "if redis.call('HINCRBY', key, ARGV[2], -1) <= 0 then redis.call('HDEL', key, ARGV[2]) end\n"
    "return 0\n";

/* Answers the seconds of the ban this failure started, else 0. */
static const char failed_script[] =
    "local key = 'ftpd:failures:' .. ARGV[1]\n"
    "local failures = redis.call('INCR', key)\n"
    "redis.call('EXPIRE', key, ARGV[3])\n"
    "local after = tonumber(ARGV[2])\n"
    "if after > 0 and failures >= after then\n"
    "  redis.call('SET', 'ftpd:ban:' .. ARGV[1], '1', 'EX', ARGV[3])\n"
    "  redis.call('DEL', key)\n"
    "  return tonumber(ARGV[3])\n"
    "end\n"
    "return 0\n";

/*
 * ARGV: instance, ttl in ms, the number of address pairs, the address and
 * sessions pairs, then user and sessions pairs: both tables anew.
 */
static const char refresh_script[] =
    "local now = redis.call('TIME')\n"
    "local now_ms = now[1] * 1000 + math.floor(now[2] / 1000)\n"
    "redis.call('ZREMRANGEBYSCORE', 'ftpd:instances', '-inf', string.format('%d', now_ms))\n"
    "redis.call('ZADD', 'ftpd:instances', string.format('%d', now_ms + tonumber(ARGV[2])), "
    "ARGV[1])\n"
    "local users_from = 4 + 2 * tonumber(ARGV[3])\n"
    "local key = 'ftpd:sessions:' .. ARGV[1]\n"
    "redis.call('DEL', key)\n"
    "for i = 4, users_from - 2, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end\n"
    "redis.call('PEXPIRE', key, ARGV[2])\n"
    "key = 'ftpd:users:' .. ARGV[1]\n"
    "redis.call('DEL', key)\n"
    "for i = users_from, #ARGV - 1, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end\n"
    "redis.call('PEXPIRE', key, ARGV[2])\n"
    "return 0\n";

enum script {
	SCRIPT_ADMIT, SCRIPT_LOGIN, SCRIPT_ENDED, SCRIPT_FAILED, SCRIPT_REFRESH, SCRIPT_COUNT
};

static const char *const script_texts[SCRIPT_COUNT] = {
	admit_script, login_script, ended_script, failed_script, refresh_script,
};

enum link { LINK_DOWN, LINK_RESOLVING, LINK_CONNECTING, LINK_UP };
enum reported { REPORTED_NOTHING, REPORTED_UP, REPORTED_DOWN };

struct shared_state {
	struct event_base *base;
	struct shared_state_uri uri;
	unsigned ttl;			/* seconds */
	char instance[HOST_NAME_MAX + 32];	/* host:pid:random */
	const struct limits *sessions;
	shared_banned_fn banned;
	void *owner;
	struct worker_pool *threads;	/* where an unresolved host is looked up */
	struct host_lookup *lookup;	/* LINK_RESOLVING: the lookup under way */

	redisAsyncContext *context;	/* NULL while down */
	enum link link;
	enum reported reported;
	int broken;			/* an answer showed the set-up failed: reconnect */
	int usable;			/* the first refresh was answered: requests may go */
	unsigned outstanding;		/* commands sent, not answered */
	unsigned refreshes;		/* refreshes sent on this connection */
	long long connect_started, waiting_since, next_attempt, next_refresh;	/* ms */
	struct event *tick;
	char sha[SCRIPT_COUNT][41];
};

/* A lookup of uri.host in a thread; it outlives the state if that goes first. */
struct host_lookup {
	struct shared_state *state;	/* NULL once the state went away */
	struct worker_job *job;
	char host[SHARED_STATE_HOST_MAX + 1];
	char address[INET6_ADDRSTRLEN];
	char error[SHARED_STATE_HOST_MAX + 64];
	int status;			/* 0: address holds the host's address */
};

struct shared_admission {
	struct shared_state *state;
	shared_admitted_fn done;	/* NULL once cancelled */
	void *arg;
	struct message_address address;
	unsigned refreshes;		/* state->refreshes when it was sent */
};

struct shared_login {
	struct shared_state *state;
	shared_logged_in_fn done;	/* NULL once cancelled */
	void *arg;
	char user[CHECKER_USER_MAX + 1];
	unsigned refreshes;		/* state->refreshes when it was sent */
};

struct failure_report {
	struct shared_state *state;
	struct message_address address;
};

static long long
now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void
shared_state_address_key(const struct message_address *address, int by_network, char *text,
    size_t size)
{
	struct message_address key = *address;

	/* One IPv6 host usually holds a whole /64, as the local ban table reckons. */
	if (by_network && key.length == 16) {
		memset(key.bytes + 8, 0, 8);
		message_address_text(&key, text, size);
		if (strlen(text) + 4 <= size)
			strcat(text, "/64");
		return;
	}
	message_address_text(&key, text, size);
}

static void
script_hash(const char *text, char out[41])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned length = 0, i;

	EVP_Digest(text, strlen(text), digest, &length, EVP_sha1(), NULL);
	for (i = 0; i < length && i < 20; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
	out[40] = '\0';
}

static void
report_down(struct shared_state *state, const char *why)
{
	if (state->reported == REPORTED_DOWN)
		return;
	state->reported = REPORTED_DOWN;
	log_warning("shared_state: redis %s:%u unreachable (%s); this instance counts "
	    "sessions, failures and bans on its own until it answers", state->uri.host,
	    state->uri.port, why);
}

static void
report_up(struct shared_state *state)
{
	if (state->reported == REPORTED_UP)
		return;
	if (state->reported == REPORTED_DOWN)
		log_warning("shared_state: redis %s:%u answers again; limits are shared, as "
		    "instance %s", state->uri.host, state->uri.port, state->instance);
	else
		log_info("shared_state: connected to redis %s:%u as instance %s",
		    state->uri.host, state->uri.port, state->instance);
	state->reported = REPORTED_UP;
}

/* The connection is gone (hiredis frees it, or the caller is about to). */
static void
lost(struct shared_state *state, const char *why)
{
	state->context = NULL;
	state->link = LINK_DOWN;
	state->broken = 0;
	state->usable = 0;
	state->next_attempt = now_ms() + SHARED_STATE_RETRY_MS;
	report_down(state, why);
}

/* Outside hiredis's callbacks only. */
static void
drop(struct shared_state *state, const char *why)
{
	redisAsyncContext *context = state->context;

	lost(state, why);
	if (context != NULL)
		redisAsyncFree(context);	/* awaited answers come back NULL */
}

/* Every callback starts here: one answer fewer awaited. 0 when reply is a real answer. */
static int
answered(const redisAsyncContext *context, const redisReply *reply)
{
	struct shared_state *state = context->data;

	if (state->outstanding > 0)
		state->outstanding--;
	state->waiting_since = now_ms();
	if (reply == NULL) {
		/* hiredis is tearing this connection down. */
		if (state->context == context)
			lost(state, context->errstr[0] != '\0' ? context->errstr : "connection lost");
		return -1;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		if (state->context == context && !state->broken) {
			/* Once per outage: a wrong password must not fill the log every 2 s. */
			if (state->reported != REPORTED_DOWN)
				log_warning("shared_state: redis answered: %.200s", reply->str);
			state->broken = 1;	/* AUTH, SELECT, a script gone: connect anew */
		}
		return -1;
	}
	return 0;
}

/* The refresh worked: the set-up before it did too, so Redis is truly usable. */
static void
refresh_answered(redisAsyncContext *context, void *reply, void *privdata UNUSED)
{
	struct shared_state *state = context->data;

	if (answered(context, reply) == 0 && state->context == context && !state->broken) {
		state->usable = 1;
		report_up(state);
	}
}

/*
 * Requests go only where answers have come: a Redis that accepts connections
 * but never answers must not hold admissions back at each attempt.
 */
static int
usable(const struct shared_state *state)
{
	return state != NULL && state->link == LINK_UP && state->usable && !state->broken;
}

static int
send_command(struct shared_state *state, redisCallbackFn *callback, void *privdata, int argc,
    const char **argv, const size_t *lengths)
{
	if (redisAsyncCommandArgv(state->context, callback, privdata, argc, argv, lengths) !=
	    REDIS_OK)
		return -1;
	if (state->outstanding++ == 0)
		state->waiting_since = now_ms();
	return 0;
}

static void
ignore_answer(redisAsyncContext *context, void *reply, void *privdata UNUSED)
{
	answered(context, reply);
}

/* EVALSHA of script with no keys and argc arguments. */
static int
run_script(struct shared_state *state, enum script script, redisCallbackFn *callback,
    void *privdata, int argc, const char **argv, const size_t *lengths)
{
	const char *command[8];
	size_t sizes[8];
	int i;

	if (argc + 3 > 8)
		return -1;
	command[0] = "EVALSHA";
	command[1] = state->sha[script];
	command[2] = "0";
	for (i = 0; i < 3; i++)
		sizes[i] = strlen(command[i]);
	for (i = 0; i < argc; i++) {
		command[3 + i] = argv[i];
		sizes[3 + i] = lengths != NULL ? lengths[i] : strlen(argv[i]);
	}
	return send_command(state, callback, privdata, argc + 3, command, sizes);
}

/* The refresh command: EVALSHA, its script, "0" keys, then REFRESH_FIXED_ARGUMENTS. */
#define REFRESH_FIRST_PAIR 6

struct refresh_arguments {
	const char **argv;
	size_t *lengths;
	char (*texts)[REFRESH_TEXT_SIZE];
	size_t count;			/* pairs so far, addresses then users */
};

static void
count_address(void *arg, const struct message_address *address UNUSED, unsigned sessions UNUSED)
{
	(*(size_t *)arg)++;
}

static void
count_user(void *arg, const char *user UNUSED, unsigned sessions UNUSED)
{
	(*(size_t *)arg)++;
}

static void
add_pair(struct refresh_arguments *arguments, unsigned sessions)
{
	size_t n = arguments->count;

	snprintf(arguments->texts[2 * n + 1], REFRESH_TEXT_SIZE, "%u", sessions);
	arguments->argv[REFRESH_FIRST_PAIR + 2 * n] = arguments->texts[2 * n];
	arguments->argv[REFRESH_FIRST_PAIR + 2 * n + 1] = arguments->texts[2 * n + 1];
	arguments->count++;
}

static void
add_address(void *arg, const struct message_address *address, unsigned sessions)
{
	struct refresh_arguments *arguments = arg;

	shared_state_address_key(address, 0, arguments->texts[2 * arguments->count],
	    REFRESH_TEXT_SIZE);
	add_pair(arguments, sessions);
}

static void
add_user(void *arg, const char *user, unsigned sessions)
{
	struct refresh_arguments *arguments = arg;

	snprintf(arguments->texts[2 * arguments->count], REFRESH_TEXT_SIZE, "%s", user);
	add_pair(arguments, sessions);
}

/* Writes this instance's table anew and extends its life: every third of the TTL. */
static void
send_refresh(struct shared_state *state)
{
	struct refresh_arguments arguments;
	char ttl[24], address_pairs[24];
	size_t addresses = 0, pairs = 0, i;

	limits_for_each_address(state->sessions, count_address, &addresses);
	pairs = addresses;
	limits_for_each_user(state->sessions, count_user, &pairs);
	memset(&arguments, 0, sizeof(arguments));
	arguments.argv = calloc(REFRESH_FIRST_PAIR + 2 * pairs, sizeof(*arguments.argv));
	arguments.lengths = calloc(REFRESH_FIRST_PAIR + 2 * pairs, sizeof(*arguments.lengths));
	arguments.texts = calloc(2 * pairs + 1, sizeof(*arguments.texts));
	if (arguments.argv == NULL || arguments.lengths == NULL || arguments.texts == NULL)
		goto out;	/* the next tick tries again */
	snprintf(ttl, sizeof(ttl), "%u", state->ttl * 1000);
	snprintf(address_pairs, sizeof(address_pairs), "%zu", addresses);
	arguments.argv[0] = "EVALSHA";
	arguments.argv[1] = state->sha[SCRIPT_REFRESH];
	arguments.argv[2] = "0";
	arguments.argv[3] = state->instance;
	arguments.argv[4] = ttl;
	arguments.argv[5] = address_pairs;
	/* The tables cannot have changed since they were counted: nothing ran in between. */
	limits_for_each_address(state->sessions, add_address, &arguments);
	limits_for_each_user(state->sessions, add_user, &arguments);
	for (i = 0; i < REFRESH_FIRST_PAIR + 2 * arguments.count; i++)
		arguments.lengths[i] = strlen(arguments.argv[i]);
	if (send_command(state, refresh_answered, NULL,
	    (int)(REFRESH_FIRST_PAIR + 2 * arguments.count), arguments.argv,
	    arguments.lengths) == 0) {
		state->refreshes++;
		state->next_refresh = now_ms() + state->ttl * 1000 / 3;
	}
out:
	free(arguments.argv);
	free(arguments.lengths);
	free(arguments.texts);
}

void
shared_state_sessions_changed(struct shared_state *state)
{
	/* Down, or not set up yet: the refresh that follows connecting writes it all. */
	if (usable(state))
		send_refresh(state);
}

/* AUTH, SELECT and the scripts go first; hiredis sends them once connected. */
static int
send_set_up(struct shared_state *state)
{
	const char *argv[3];
	int i;

	if (state->uri.password[0] != '\0') {
		argv[0] = "AUTH";
		if (state->uri.user[0] != '\0') {
			argv[1] = state->uri.user;
			argv[2] = state->uri.password;
		} else
			argv[1] = state->uri.password;
		if (send_command(state, ignore_answer, NULL, state->uri.user[0] != '\0' ? 3 : 2,
		    argv, NULL) != 0)
			return -1;
	}
	if (state->uri.database != 0) {
		char database[16];

		snprintf(database, sizeof(database), "%u", state->uri.database);
		argv[0] = "SELECT";
		argv[1] = database;
		if (send_command(state, ignore_answer, NULL, 2, argv, NULL) != 0)
			return -1;
	}
	for (i = 0; i < SCRIPT_COUNT; i++) {
		argv[0] = "SCRIPT";
		argv[1] = "LOAD";
		argv[2] = script_texts[i];
		if (send_command(state, ignore_answer, NULL, 3, argv, NULL) != 0)
			return -1;
	}
	return 0;
}

static void
connected(const redisAsyncContext *context, int status)
{
	struct shared_state *state = context->data;

	if (state->context != context)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees the context after this. */
		lost(state, context->errstr[0] != '\0' ? context->errstr : "cannot connect");
		return;
	}
	state->link = LINK_UP;
	state->refreshes = 0;
	send_refresh(state);
}

static void
disconnected(const redisAsyncContext *context, int status UNUSED)
{
	struct shared_state *state = context->data;

	if (state->context == context)
		lost(state, context->errstr[0] != '\0' ? context->errstr : "connection closed");
}

static void connect_now(struct shared_state *state);

/* In a thread: getaddrinfo may wait for DNS as long as it likes. */
static void
look_up(void *arg)
{
	struct host_lookup *lookup = arg;

	lookup->status = shared_state_host_resolve(lookup->host, lookup->address,
	    sizeof(lookup->address), lookup->error, sizeof(lookup->error));
}

static void
looked_up(void *arg, int cancelled)
{
	struct host_lookup *lookup = arg;
	struct shared_state *state = lookup->state;

	if (cancelled || state == NULL) {
		free(lookup);
		return;
	}
	state->lookup = NULL;
	state->link = LINK_DOWN;
	if (lookup->status != 0) {
		state->next_attempt = now_ms() + SHARED_STATE_RETRY_MS;
		report_down(state, lookup->error);
	} else {
		/* Kept, as a lookup at start would be, until a reload names a Redis again. */
		memcpy(state->uri.address, lookup->address, sizeof(state->uri.address));
		connect_now(state);
	}
	free(lookup);
}

/* The host did not resolve when the configuration was checked: look it up now. */
static void
start_lookup(struct shared_state *state)
{
	struct host_lookup *lookup = calloc(1, sizeof(*lookup));

	state->next_attempt = now_ms() + SHARED_STATE_RETRY_MS;
	if (lookup == NULL) {
		report_down(state, "out of memory");
		return;
	}
	lookup->state = state;
	memcpy(lookup->host, state->uri.host, sizeof(lookup->host));
	lookup->job = worker_pool_submit(state->threads, look_up, looked_up, lookup);
	if (lookup->job == NULL) {
		free(lookup);
		report_down(state, "out of memory");
		return;
	}
	state->lookup = lookup;
	state->link = LINK_RESOLVING;
}

static void
connect_now(struct shared_state *state)
{
	redisAsyncContext *context;

	if (state->uri.address[0] == '\0') {
		start_lookup(state);
		return;
	}
	state->next_attempt = now_ms() + SHARED_STATE_RETRY_MS;
	context = redisAsyncConnect(state->uri.address, (int)state->uri.port);
	if (context == NULL) {
		report_down(state, "out of memory");
		return;
	}
	if (context->err != 0) {
		report_down(state, context->errstr);
		redisAsyncFree(context);
		return;
	}
	context->data = state;
	if (redisLibeventAttach(context, state->base) != REDIS_OK) {
		report_down(state, "cannot watch the connection");
		redisAsyncFree(context);
		return;
	}
	redisAsyncSetConnectCallback(context, connected);
	redisAsyncSetDisconnectCallback(context, disconnected);
	state->context = context;
	state->link = LINK_CONNECTING;
	state->connect_started = now_ms();
	state->outstanding = 0;
	if (send_set_up(state) != 0)
		drop(state, "out of memory");
}

static void
tick(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct shared_state *state = arg;
	long long now = now_ms();

	switch (state->link) {
	case LINK_DOWN:
		if (now >= state->next_attempt)
			connect_now(state);
		break;
	case LINK_RESOLVING:
		break;		/* getaddrinfo's own timeouts end it */
	case LINK_CONNECTING:
		if (now - state->connect_started > SHARED_STATE_CONNECT_MS)
			drop(state, "no connection within 1 s");
		break;
	case LINK_UP:
		if (state->broken)
			drop(state, "it refused a command");
		else if (state->outstanding > 0 &&
		    now - state->waiting_since > SHARED_STATE_ANSWER_MS)
			drop(state, "no answer within 0.5 s");
		else if (now >= state->next_refresh)
			send_refresh(state);
		break;
	}
}

/* host:pid:random, readable in Redis yet unique where containers share names and pids. */
static void
instance_name(char *out, size_t size)
{
	char host[HOST_NAME_MAX + 1];
	uint32_t random = 0;

	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	if (getrandom(&random, sizeof(random), GRND_NONBLOCK) != (ssize_t)sizeof(random))
		random = (uint32_t)now_ms();
	snprintf(out, size, "%s:%ld:%08x", host, (long)getpid(), (unsigned)random);
}

struct shared_state *
shared_state_new(struct event_base *base, struct worker_pool *threads,
    const struct config *config, const struct limits *sessions, shared_banned_fn banned,
    void *owner, int *failed)
{
	static const struct timeval every = { 0, TICK_MS * 1000 };
	struct shared_state *state;
	int i;

	*failed = 0;
	if (config->shared_state == NULL)
		return NULL;
	if (threads == NULL) {
		*failed = 1;
		return NULL;
	}
	state = calloc(1, sizeof(*state));
	if (state == NULL) {
		*failed = 1;
		return NULL;
	}
	state->base = base;
	state->threads = threads;
	state->uri = config->shared_state_uri;
	state->ttl = config->shared_state_ttl;
	state->sessions = sessions;
	state->banned = banned;
	state->owner = owner;
	instance_name(state->instance, sizeof(state->instance));
	for (i = 0; i < SCRIPT_COUNT; i++)
		script_hash(script_texts[i], state->sha[i]);
	state->tick = event_new(base, -1, EV_PERSIST, tick, state);
	if (state->tick == NULL || event_add(state->tick, &every) != 0) {
		shared_state_free(state);
		*failed = 1;
		return NULL;
	}
	connect_now(state);
	return state;
}

void
shared_state_free(struct shared_state *state)
{
	redisAsyncContext *context;

	if (state == NULL)
		return;
	if (state->tick != NULL)
		event_free(state->tick);
	if (state->lookup != NULL) {
		/* Its done() still runs, and frees it. */
		state->lookup->state = NULL;
		worker_job_cancel(state->lookup->job);
	}
	context = state->context;
	state->context = NULL;
	state->link = LINK_DOWN;
	state->reported = REPORTED_DOWN;	/* going away is not an outage to report */
	if (context != NULL)
		redisAsyncFree(context);
	explicit_bzero(&state->uri, sizeof(state->uri));
	free(state);
}

int
shared_state_is_for(const struct shared_state *state, const struct config *config)
{
	const struct shared_state_uri *uri = &config->shared_state_uri;

	/* A host that did not resolve at all is looked up anew, whatever the state found. */
	return config->shared_state != NULL && state->ttl == config->shared_state_ttl &&
	    uri->address[0] != '\0' &&
	    strcmp(state->uri.address, uri->address) == 0 && state->uri.port == uri->port &&
	    strcmp(state->uri.user, uri->user) == 0 &&
	    strcmp(state->uri.password, uri->password) == 0 &&
	    state->uri.database == uri->database;
}

static void
admission_answered(redisAsyncContext *context, void *reply_pointer, void *privdata)
{
	struct shared_admission *admission = privdata;
	struct shared_state *state = admission->state;
	const redisReply *reply = reply_pointer;
	enum shared_admit_verdict verdict = SHARED_ADMIT_UNANSWERED;
	unsigned retry_after = 0;

	if (answered(context, reply) == 0 && reply->type == REDIS_REPLY_ARRAY &&
	    reply->elements == 2 && reply->element[0]->type == REDIS_REPLY_INTEGER &&
	    reply->element[1]->type == REDIS_REPLY_INTEGER) {
		long long code = reply->element[0]->integer, value = reply->element[1]->integer;

		if (code == 0)
			verdict = SHARED_ADMIT_OK;
		else if (code == 1)
			verdict = SHARED_ADMIT_TOO_MANY_FROM_ADDRESS;
		else if (code == 2) {
			verdict = SHARED_ADMIT_BANNED;
			retry_after = value > 0 ? (unsigned)((value + 999) / 1000) : 1;
		}
	}
	if (admission->done == NULL) {
		if (verdict == SHARED_ADMIT_OK)
			shared_state_session_ended(state, &admission->address);
	} else {
		/*
		 * Refused: a refresh sent meanwhile counted the session (the
		 * instance counts it while waiting), so it is given back.
		 */
		if ((verdict == SHARED_ADMIT_TOO_MANY_FROM_ADDRESS ||
		    verdict == SHARED_ADMIT_BANNED) && admission->refreshes != state->refreshes)
			shared_state_session_ended(state, &admission->address);
		admission->done(admission->arg, verdict, retry_after);
	}
	free(admission);
}

struct shared_admission *
shared_state_admit(struct shared_state *state, const struct message_address *address,
    unsigned max_per_address, shared_admitted_fn done, void *arg)
{
	struct shared_admission *admission;
	char key[KEY_TEXT_SIZE], ban_key[KEY_TEXT_SIZE], max[16], ttl[24];
	const char *argv[5];

	if (!usable(state))
		return NULL;
	admission = calloc(1, sizeof(*admission));
	if (admission == NULL)
		return NULL;
	admission->state = state;
	admission->done = done;
	admission->arg = arg;
	admission->address = *address;
	admission->refreshes = state->refreshes;
	shared_state_address_key(address, 0, key, sizeof(key));
	shared_state_address_key(address, 1, ban_key, sizeof(ban_key));
	snprintf(max, sizeof(max), "%u", max_per_address);
	snprintf(ttl, sizeof(ttl), "%u", state->ttl * 1000);
	argv[0] = state->instance;
	argv[1] = key;
	argv[2] = ban_key;
	argv[3] = max;
	argv[4] = ttl;
	if (run_script(state, SCRIPT_ADMIT, admission_answered, admission, 5, argv, NULL) != 0) {
		free(admission);
		return NULL;
	}
	return admission;
}

void
shared_state_admission_cancel(struct shared_admission *admission)
{
	admission->done = NULL;
	admission->arg = NULL;
}

void
shared_state_session_ended(struct shared_state *state, const struct message_address *address)
{
	char key[KEY_TEXT_SIZE];
	const char *argv[3];

	/*
	 * While down, the refresh after reconnecting writes the table whole; one
	 * sent and not yet answered is followed by this in order.
	 */
	if (state == NULL || state->link != LINK_UP || state->broken)
		return;
	shared_state_address_key(address, 0, key, sizeof(key));
	argv[0] = state->instance;
	argv[1] = key;
	argv[2] = "sessions";
	run_script(state, SCRIPT_ENDED, ignore_answer, NULL, 3, argv, NULL);
}

void
shared_state_logged_out(struct shared_state *state, const char *user)
{
	const char *argv[3];

	/* As for a session that ended: a refresh writes the table whole after an outage. */
	if (state == NULL || state->link != LINK_UP || state->broken || user == NULL)
		return;
	argv[0] = state->instance;
	argv[1] = user;
	argv[2] = "users";
	run_script(state, SCRIPT_ENDED, ignore_answer, NULL, 3, argv, NULL);
}

static void
login_answered(redisAsyncContext *context, void *reply_pointer, void *privdata)
{
	struct shared_login *login = privdata;
	struct shared_state *state = login->state;
	const redisReply *reply = reply_pointer;
	enum shared_login_verdict verdict = SHARED_LOGIN_UNANSWERED;

	if (answered(context, reply) == 0 && reply->type == REDIS_REPLY_ARRAY &&
	    reply->elements == 2 && reply->element[0]->type == REDIS_REPLY_INTEGER)
		verdict = reply->element[0]->integer == 0 ? SHARED_LOGIN_OK :
		    reply->element[0]->integer == 1 ? SHARED_LOGIN_TOO_MANY_FOR_USER :
		    SHARED_LOGIN_UNANSWERED;
	if (login->done == NULL) {
		/* The worker went away meanwhile: its sessions are no longer counted. */
		if (verdict == SHARED_LOGIN_OK)
			shared_state_logged_out(state, login->user);
	} else {
		/* As for admissions: a refresh sent meanwhile counted the session. */
		if (verdict == SHARED_LOGIN_TOO_MANY_FOR_USER && login->refreshes != state->refreshes)
			shared_state_logged_out(state, login->user);
		login->done(login->arg, verdict);
	}
	free(login);
}

struct shared_login *
shared_state_login(struct shared_state *state, const char *user, unsigned max_per_user,
    shared_logged_in_fn done, void *arg)
{
	struct shared_login *login;
	char max[16], ttl[24];
	const char *argv[4];

	if (!usable(state) || user == NULL || strlen(user) > CHECKER_USER_MAX)
		return NULL;
	login = calloc(1, sizeof(*login));
	if (login == NULL)
		return NULL;
	login->state = state;
	login->done = done;
	login->arg = arg;
	strcpy(login->user, user);
	login->refreshes = state->refreshes;
	snprintf(max, sizeof(max), "%u", max_per_user);
	snprintf(ttl, sizeof(ttl), "%u", state->ttl * 1000);
	argv[0] = state->instance;
	argv[1] = user;
	argv[2] = max;
	argv[3] = ttl;
	if (run_script(state, SCRIPT_LOGIN, login_answered, login, 4, argv, NULL) != 0) {
		free(login);
		return NULL;
	}
	return login;
}

void
shared_state_login_cancel(struct shared_login *login)
{
	login->done = NULL;
	login->arg = NULL;
}

static void
failure_answered(redisAsyncContext *context, void *reply_pointer, void *privdata)
{
	struct failure_report *report = privdata;
	const redisReply *reply = reply_pointer;

	if (answered(context, reply) == 0 && reply->type == REDIS_REPLY_INTEGER &&
	    reply->integer > 0 && report->state->banned != NULL)
		report->state->banned(report->state->owner, &report->address,
		    (unsigned)reply->integer);
	free(report);
}

void
shared_state_login_failed(struct shared_state *state, const struct message_address *address,
    unsigned ban_after, unsigned ban_time)
{
	struct failure_report *report;
	char key[KEY_TEXT_SIZE], after[16], seconds[16];
	const char *argv[3];

	if (!usable(state))
		return;
	report = calloc(1, sizeof(*report));
	if (report == NULL)
		return;
	report->state = state;
	report->address = *address;
	shared_state_address_key(address, 1, key, sizeof(key));
	snprintf(after, sizeof(after), "%u", ban_after);
	snprintf(seconds, sizeof(seconds), "%u", ban_time);
	argv[0] = key;
	argv[1] = after;
	argv[2] = seconds;
	if (run_script(state, SCRIPT_FAILED, failure_answered, report, 3, argv, NULL) != 0)
		free(report);
}
