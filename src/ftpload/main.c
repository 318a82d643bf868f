/*
 * ftpload: the project's FTP load generator. Parses the command line,
 * resolves the server once, and runs one scenario, which ends by printing
 * one JSON result line on stdout. Exits 0 when the scenario ran without
 * errors, 1 when some operations failed, 2 on a usage error.
 */
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ftpload/run.h"

/* Errors told on stderr; the rest are only counted. */
#define ERRORS_SHOWN 5

struct scenario {
	const char *name;
	int (*run)(struct run *run);
	long sessions, count, concurrency;
	uint64_t size;
};

/* Defaults per scenario, for the options not given. */
static const struct scenario scenarios[] = {
	{ "login", scenario_login, 100, 0, 10, 0 },
	{ "retr-small", scenario_transfers, 1, 100, 1, 4096 },
	{ "stor-small", scenario_transfers, 1, 100, 1, 4096 },
	{ "list", scenario_transfers, 1, 10, 1, 0 },
	{ "retr", scenario_transfers, 1, 1, 1, 0 },
	{ "stor", scenario_transfers, 1, 1, 1, 100 * 1000 * 1000 },
	{ "parallel-retr", scenario_transfers, 1, 10, 4, 0 },
	{ "hold", scenario_hold, 1000, 5, 100, 0 },
};

double
run_elapsed(const struct run *run)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - run->started.tv_sec) +
	    (double)(now.tv_nsec - run->started.tv_nsec) / 1e9;
}

void
run_error(struct run *run, const char *what, const char *text)
{
	run->stats.errors++;
	if (run->errors_shown++ < ERRORS_SHOWN)
		fprintf(stderr, "ftpload: %s: %s\n", what, text != NULL ? text : "failed");
}

static void
usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: ftpload [options] SCENARIO\n"
	    "  -H, --host HOST        server (127.0.0.1)\n"
	    "  -P, --port PORT        control port (21)\n"
	    "  -u, --user NAME        user (anonymous)\n"
	    "  -p, --password TEXT    password (ftpload@)\n"
	    "  -s, --sessions N       sessions (login, hold: in all; others: at once)\n"
	    "  -n, --count N          operations (parallel-retr: per client; hold: new sessions)\n"
	    "  -z, --size BYTES       STOR size; for RETR, the size every download must have\n"
	    "  -f, --path PATH        RETR's file, LIST's directory, STOR's directory\n"
	    "  -t, --seconds S        hold: how long the sessions stay idle (5)\n"
	    "  -c, --concurrency N    login, hold: sessions logging in at once;\n"
	    "                         parallel-retr: clients\n"
	    "  -S, --tls              AUTH TLS, protected data connections\n"
	    "  -e, --epsv             EPSV rather than PASV\n"
	    "  -T, --timeout S        a request with no progress for S seconds fails (30)\n"
	    "scenarios:");
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		fprintf(out, " %s", scenarios[i].name);
	fprintf(out, "\n");
}

static long
parse_count(const char *text, const char *option)
{
	char *end;
	long value = strtol(text, &end, 10);

	if (end == text || *end != '\0' || value < 0) {
		fprintf(stderr, "ftpload: %s wants a number, not '%s'\n", option, text);
		exit(2);
	}
	return value;
}

static int
resolve(struct ftp_client_config *config, const char *host, const char *port)
{
	struct addrinfo hints, *found;
	int error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	error = getaddrinfo(host, port, &hints, &found);
	if (error != 0) {
		fprintf(stderr, "ftpload: %s port %s: %s\n", host, port, gai_strerror(error));
		return -1;
	}
	memcpy(&config->address, found->ai_addr, found->ai_addrlen);
	config->address_length = found->ai_addrlen;
	freeaddrinfo(found);
	return 0;
}

/* A load generator measures the server: it trusts whatever certificate it shows. */
static SSL_CTX *
tls_context(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* Data connections resume the control's session, which must be cached. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
	return ctx;
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'P' },
		{ "user", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'p' },
		{ "sessions", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 'z' },
		{ "path", required_argument, NULL, 'f' },
		{ "seconds", required_argument, NULL, 't' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "tls", no_argument, NULL, 'S' },
		{ "epsv", no_argument, NULL, 'e' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct options options = {
		.host = "127.0.0.1", .port = "21", .user = "anonymous",
		.password = "ftpload@", .sessions = -1, .count = -1, .concurrency = -1,
		.seconds = 5, .timeout = 30,
	};
	const struct scenario *scenario = NULL;
	struct run run;
	char *end;
	size_t i;
	int option, status;

	while ((option = getopt_long(argc, argv, "H:P:u:p:s:n:z:f:t:c:SeT:h", long_options,
	    NULL)) != -1) {
		switch (option) {
		case 'H':
			options.host = optarg;
			break;
		case 'P':
			options.port = optarg;
			break;
		case 'u':
			options.user = optarg;
			break;
		case 'p':
			options.password = optarg;
			break;
		case 's':
			options.sessions = parse_count(optarg, "--sessions");
			break;
		case 'n':
			options.count = parse_count(optarg, "--count");
			break;
		case 'c':
			options.concurrency = parse_count(optarg, "--concurrency");
			break;
		case 'T':
			options.timeout = (int)parse_count(optarg, "--timeout");
			break;
		case 'z':
			options.size = (uint64_t)parse_count(optarg, "--size");
			options.size_given = 1;
			break;
		case 'f':
			options.path = optarg;
			break;
		case 't':
			options.seconds = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || options.seconds < 0) {
				fprintf(stderr, "ftpload: --seconds wants a number\n");
				return 2;
			}
			break;
		case 'S':
			options.tls = 1;
			break;
		case 'e':
			options.epsv = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (strcmp(argv[optind], scenarios[i].name) == 0)
			scenario = &scenarios[i];
	if (scenario == NULL) {
		fprintf(stderr, "ftpload: no scenario '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	options.scenario = scenario->name;
	if (options.sessions < 0)
		options.sessions = scenario->sessions;
	if (options.count < 0)
		options.count = scenario->count;
	if (options.concurrency < 0)
		options.concurrency = scenario->concurrency;
	if (!options.size_given)
		options.size = scenario->size;
	if (options.concurrency < 1 || options.timeout < 1 ||
	    (scenario->run != scenario_hold && options.sessions < 1)) {
		fprintf(stderr, "ftpload: --sessions, --concurrency and --timeout must be 1 or more\n");
		return 2;
	}
	if (scenario->run == scenario_hold && options.count < 1)
		options.count = 1;

	/* A server that closes mid-write must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	memset(&run, 0, sizeof(run));
	run.options = &options;
	run.config.epsv = options.epsv;
	run.config.timeout_seconds = options.timeout;
	if (resolve(&run.config, options.host, options.port) != 0)
		return 2;
	if (options.tls && (run.config.tls = tls_context()) == NULL) {
		fprintf(stderr, "ftpload: cannot set up TLS\n");
		return 2;
	}
	run.base = event_base_new();
	if (run.base == NULL) {
		fprintf(stderr, "ftpload: cannot set up the event loop\n");
		return 2;
	}
	run.config.base = run.base;
	status = scenario->run(&run);
	event_base_free(run.base);
	if (run.config.tls != NULL)
		SSL_CTX_free(run.config.tls);
	stats_free(&run.stats);
	if (status != 0)
		return 2;
	return run.stats.errors == 0 ? 0 : 1;
}
