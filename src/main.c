/*
 * main: the command line (see ftpd(8)), configuration loading, and the event loop.
 * Everything else lives in the parts main wires together.
 */
#include <sys/stat.h>

#include <errno.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config/config.h"
#include "log/log.h"
#include "server/daemon.h"
#include "server/server.h"
#include "server/systemd.h"
#include "tls/tls.h"
#include "util/attributes.h"

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

struct running {
	struct event_base *base;
	struct server *server;
	const struct options *options;
	int stopping;
};

/* SIGHUP: read the configuration again; new sessions get it, running ones keep theirs. */
static void
reload_on_signal(evutil_socket_t signal_number, short what UNUSED, void *arg)
{
	struct running *running = arg;
	char error[CONFIG_ERROR_SIZE];
	struct config config;
	unsigned level;

	log_info("signal %d: reloading the configuration", (int)signal_number);
	if (load_config(&config, running->options, error) != 0) {
		log_error("reload: %s; keeping the running configuration", error);
		config_free(&config);
		return;
	}
	level = config.log_level;
	if (server_reload(running->server, &config) == 0)
		log_set_level(level);
	config_free(&config);
}

/* First SIGTERM/SIGINT: stop gracefully; a second one: stop now. */
static void
stop_on_signal(evutil_socket_t signal_number, short what UNUSED, void *arg)
{
	struct running *running = arg;

	if (running->stopping) {
		log_info("signal %d again: stopping now", (int)signal_number);
		event_base_loopexit(running->base, NULL);
		return;
	}
	running->stopping = 1;
	log_info("signal %d: stopping", (int)signal_number);
	systemd_notify("STOPPING=1");
	server_shutdown(running->server);
}

/*
 * Where connections come from: sockets systemd passed (listening ones for
 * Accept=no, one connection for Accept=yes), the inetd socket, or the
 * configured listen addresses.
 */
static int
open_connections(struct server *server, const struct options *options)
{
	int count = systemd_listen_fds();
	int i, error = 0;

	if (options->inetd)
		return server_adopt(server, STDIN_FILENO);
	if (count == 0)
		return server_listen(server);
	for (i = 0; i < count && error == 0; i++) {
		int fd = SYSTEMD_FIRST_FD + i;

		error = systemd_fd_is_listening(fd) ? server_listen_inherited(server, fd) :
		    server_adopt(server, fd);
	}
	return error;
}

static int
serve(struct config *initial, const struct options *options)
{
	struct running running = { NULL, NULL, options, 0 };
	struct event *terminate = NULL, *interrupt = NULL, *hangup = NULL;
	const struct config *config;
	char *pid_file = NULL;
	int status = 1;

	signal(SIGPIPE, SIG_IGN);
	/*
	 * Transfer buffers come and go in 64-128 KiB pieces, right at glibc's
	 * default thresholds, which made the heap grow and shrink (page faults)
	 * with every chunk of a protected download. Keep freed memory instead.
	 */
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	/* A file-size limit must fail the write (EFBIG -> 552), not kill the server. */
	signal(SIGXFSZ, SIG_IGN);
	/*
	 * Detach before any thread or event queue exists (neither survives a
	 * fork); the starting process waits until this one is ready, so its
	 * exit status still tells whether the server came up.
	 */
	if (!options->foreground && !options->inetd && daemon_detach() != 0) {
		log_error("cannot detach: %s", strerror(errno));
		config_free(initial);
		return 1;
	}
	running.base = event_base_new();
	if (running.base == NULL) {
		log_error("cannot create the event loop");
		config_free(initial);
		return 1;
	}
	/* Keys, certificates, logs and ports while still privileged; then let go of root. */
	running.server = server_new(running.base, initial);
	if (running.server == NULL)
		goto out;
	config = running.server->config;
	/* The pid file first: it is there by the time anyone can connect. */
	if (config->pid_file != NULL) {
		if (daemon_write_pid_file(config->pid_file, config) != 0)
			goto out;
		pid_file = strdup(config->pid_file);
	}
	if (open_connections(running.server, options) != 0 ||
	    daemon_drop_privileges(config) != 0)
		goto out;
	terminate = evsignal_new(running.base, SIGTERM, stop_on_signal, &running);
	interrupt = evsignal_new(running.base, SIGINT, stop_on_signal, &running);
	hangup = evsignal_new(running.base, SIGHUP, reload_on_signal, &running);
	if (terminate == NULL || interrupt == NULL || hangup == NULL)
		goto out;
	evsignal_add(terminate, NULL);
	evsignal_add(interrupt, NULL);
	evsignal_add(hangup, NULL);
	if (!options->inetd)
		log_info("ftpd %s ready", FTPD_VERSION);
	daemon_ready();
	systemd_notify("READY=1");
	event_base_dispatch(running.base);
	status = 0;
out:
	if (terminate != NULL)
		event_free(terminate);
	if (interrupt != NULL)
		event_free(interrupt);
	if (hangup != NULL)
		event_free(hangup);
	if (running.server != NULL)
		server_free(running.server);
	event_base_free(running.base);
	if (pid_file != NULL)
		daemon_remove_pid_file(pid_file);
	free(pid_file);
	return status;
}

/*
 * ftpd -t with system_users: what would make logins fail or behave unlike
 * the administrator expects, said on stderr (the configuration itself is fine).
 */
static void
warn_about_system_users(void)
{
	if (geteuid() != 0)
		fprintf(stderr, "ftpd: warning: system_users needs ftpd to be started as root\n");
	if (access("/etc/pam.d/ftpd", F_OK) != 0 && access("/usr/lib/pam.d/ftpd", F_OK) != 0)
		fprintf(stderr, "ftpd: warning: no PAM service ftpd (/etc/pam.d/ftpd): PAM "
		    "uses its \"other\" service instead (make install provides one)\n");
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
	struct options options;
	char error[CONFIG_ERROR_SIZE];
	const char *destination;
	struct config config;
	int status;

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
		/* A certificate that cannot be used is a configuration error too. */
		if (config.tls != TLS_OFF) {
			struct tls_context *tls = tls_context_new(&config, error, sizeof(error));

			if (tls == NULL) {
				fprintf(stderr, "ftpd: %s\n", error);
				config_free(&config);
				return 1;
			}
			tls_context_free(tls);
		}
		/* Started as root, ftpd would switch to this user: it must exist. */
		if (geteuid() == 0 && config.user != NULL && getpwnam(config.user) == NULL) {
			fprintf(stderr, "ftpd: user %s: no such user (create it, or set user "
			    "in the config)\n", config.user);
			config_free(&config);
			return 1;
		}
		if (config.system_users)
			warn_about_system_users();
		config_print(&config, stdout);
		config_free(&config);
		return 0;
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
	status = serve(&config, &options);
	log_close();
	config_free(&config);
	return status;
}
