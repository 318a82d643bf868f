/*
 * main: the command line (see ftpd(8)) and configuration loading; then the
 * monitor runs the server. Everything else lives in the parts main wires together.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "log/log.h"
#include "monitor/monitor.h"
#include "monitor/preflight.h"
#include "util/descriptors.h"
#include "util/process_title.h"

#ifndef FTPD_VERSION
#define FTPD_VERSION "unknown"
#endif
#ifndef FTPD_SYSCONFDIR
#define FTPD_SYSCONFDIR "/etc"
#endif

#define DEFAULT_CONFIG_FILE FTPD_SYSCONFDIR "/ftpd.conf"
#define MAX_OVERRIDES 64

struct options {
	const char *config_file;	/* NULL: the default file if it exists */
	const char *overrides[MAX_OVERRIDES];
	unsigned override_count;
	int foreground;
	int inetd;
	int check_only;
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: ftpd [-c FILE] [-o KEY=VALUE]... [-f] [-i] [-t] [-V] [-h]\n"
	    "  -c FILE   config file (default: %s, if present)\n"
	    "  -o K=V    set a config key, after the file (repeatable)\n"
	    "  -f        stay in the foreground, log to stderr\n"
	    "  -i        inetd mode: serve one session on stdin/stdout\n"
	    "  -t        check the config, print it, and exit\n"
	    "  -V        print the version and exit\n"
	    "  -h        this help\n", DEFAULT_CONFIG_FILE);
}

/* Returns -1 to go on, or the exit status. */
static int
parse_options(int argc, char **argv, struct options *options)
{
	int option;

	while ((option = getopt(argc, argv, "c:o:fitVh")) != -1) {
		switch (option) {
		case 'c':
			options->config_file = optarg;
			break;
		case 'o':
			if (options->override_count == MAX_OVERRIDES) {
				fprintf(stderr, "ftpd: too many -o options (at most %d)\n", MAX_OVERRIDES);
				return 1;
			}
			options->overrides[options->override_count++] = optarg;
			break;
		case 'f':
			options->foreground = 1;
			break;
		case 'i':
			options->inetd = 1;
			break;
		case 't':
			options->check_only = 1;
			break;
		case 'V':
			printf("ftpd %s\n", FTPD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ftpd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 1;
	}
	return -1;
}

/* Reads the file and the -o overrides; on failure error says why (file:line). */
static int
load_config(struct config *config, const struct options *options,
    char error[CONFIG_ERROR_SIZE])
{
	const char *file = options->config_file;
	unsigned i;
	int status;

	if (config_init(config) != 0) {
		snprintf(error, CONFIG_ERROR_SIZE, "out of memory");
		return -1;
	}
	if (file == NULL && access(DEFAULT_CONFIG_FILE, F_OK) == 0)
		file = DEFAULT_CONFIG_FILE;
	if (file != NULL && config_load_file(config, file, error) != 0)
		return -1;
	for (i = 0; i < options->override_count; i++)
		if (config_apply_override(config, options->overrides[i], error) != 0)
			return -1;
	status = config_validate(config, error);
	/* inetd mode serves the socket it is given: no listen address needed. */
	if (status != 0 && !(status == -EDESTADDRREQ && options->inetd))
		return -1;
	return 0;
}

/* The monitor's SIGHUP: the same file and overrides as at the start. */
static int
reload_config(const void *arg, struct config *config, char error[CONFIG_ERROR_SIZE])
{
	return load_config(config, arg, error);
}

/* Whether descriptor 2 is the connection on descriptor 0 (inetd dups it onto 0, 1 and 2). */
static int
stderr_is_the_client(void)
{
	struct stat in, err;

	if (fstat(STDIN_FILENO, &in) != 0 || fstat(STDERR_FILENO, &err) != 0)
		return 0;
	return S_ISSOCK(in.st_mode) && in.st_dev == err.st_dev && in.st_ino == err.st_ino;
}

int
main(int argc, char **argv)
{
	struct monitor_options monitor_options;
	struct options options;
	char error[CONFIG_ERROR_SIZE];
	const char *destination;
	struct config config;
	int status;

	process_title_init(argc, argv);
	memset(&options, 0, sizeof(options));
	status = parse_options(argc, argv, &options);
	if (status >= 0)
		return status;
	if (load_config(&config, &options, error) != 0) {
		fprintf(stderr, "ftpd: %s\n", error);
		config_free(&config);
		return 1;
	}
	if (options.check_only) {
		status = preflight(&config, stdout);
		config_free(&config);
		return status;
	}
	/* In inetd mode stdout is the client: log to syslog unless told otherwise. */
	destination = options.foreground && !options.inetd ? "stderr" : config.log;
	if (options.inetd && strcmp(destination, "stderr") == 0 && stderr_is_the_client()) {
		/* inetd gives the connection as stderr too: log lines would go to the client. */
		destination = "syslog";
	}
	if (log_open(destination, (enum log_level)config.log_level) != 0) {
		fprintf(stderr, "ftpd: bad log destination '%s'\n", config.log);
		config_free(&config);
		return 1;
	}
	/* Before the workers fork: they inherit it (and may lose root that could). */
	if (descriptors_raise_limit() < 0)
		log_warning("cannot raise the limit on open files: %s", strerror(errno));
	monitor_options.inetd = options.inetd;
	monitor_options.foreground = options.foreground;
	monitor_options.load = reload_config;
	monitor_options.load_arg = &options;
	status = monitor_run(&config, &monitor_options);
	log_close();
	config_free(&config);
	return status;
}
