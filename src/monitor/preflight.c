/*
 * monitor/preflight: ftpd -t, as the monitor would start. Whether a worker
 * can read the shells' roots is tried in a child that has become the
 * worker's user, so permissions are the kernel's answer, not a guess.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "monitor/monitor.h"
#include "monitor/preflight.h"
#include "server/daemon.h"
#include "tls/tls.h"

/* What -t warns about system_users; the configuration itself is fine. */
static void
warn_about_system_users(void)
{
	if (geteuid() != 0)
		fprintf(stderr, "ftpd: warning: system_users needs ftpd to be started as root\n");
	if (access("/etc/pam.d/ftpd", F_OK) != 0 && access("/usr/lib/pam.d/ftpd", F_OK) != 0)
		fprintf(stderr, "ftpd: warning: no PAM service ftpd (/etc/pam.d/ftpd): PAM "
		    "uses its \"other\" service instead (make install provides one)\n");
}

static void
report_processes(const struct config *config, const struct daemon_identity *identity,
    int drops, FILE *out)
{
	unsigned workers = monitor_worker_count(config);
	const char *plural = workers == 1 ? "" : "s";

	if (drops)
		fprintf(out, "# processes: monitor as root; %u worker%s as %s (uid %ld, gid %ld)%s%s\n",
		    workers, plural, identity->name, (long)identity->uid, (long)identity->gid,
		    config->chroot != NULL ? ", chrooted to " : "",
		    config->chroot != NULL ? config->chroot : "");
	else if (geteuid() == 0)
		fprintf(out, "# processes: monitor and %u worker%s as root (user = none: "
		    "not recommended)\n", workers, plural);
	else
		fprintf(out, "# processes: monitor and %u worker%s as uid %ld (not started as "
		    "root)\n", workers, plural, (long)geteuid());
	if (config->system_users)
		fprintf(out, "# system_users: each account's session runs in a process of its "
		    "own, as the account\n");
}

/* In the child, as the worker: 0, or the errno of the first root it cannot use. */
static int
try_roots(const struct config *config, const struct daemon_identity *identity, int drops,
    const char **failed)
{
	if (drops && daemon_take_identity(identity, config->chroot) != 0) {
		*failed = "(switching to the user)";
		return EPERM;
	}
	if (config->anonymous && access(config->anonymous_root, R_OK | X_OK) != 0) {
		*failed = "anonymous_root";
		return errno;
	}
	if (config->passwd_file != NULL && config->home_root != NULL &&
	    access(config->home_root, X_OK) != 0) {
		*failed = "home_root";
		return errno;
	}
	return 0;
}

/* Forks a child that becomes the worker's user and tries the roots. 0 or 1 (said why). */
static int
check_worker_access(const struct config *config, const struct daemon_identity *identity,
    int drops)
{
	const char *failed = NULL;
	int status, pipe_fds[2];
	char which[32] = "";
	pid_t child;

	if (pipe(pipe_fds) != 0)
		return 0;
	child = fork();
	if (child == 0) {
		int error;

		close(pipe_fds[0]);
		error = try_roots(config, identity, drops, &failed);
		if (failed != NULL && write(pipe_fds[1], failed, strlen(failed)) < 0)
			error = EIO;
		_exit(error > 255 ? 255 : error);
	}
	close(pipe_fds[1]);
	if (child < 0) {
		close(pipe_fds[0]);
		return 0;
	}
	if (read(pipe_fds[0], which, sizeof(which) - 1) < 0)
		which[0] = '\0';
	close(pipe_fds[0]);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) == 0)
		return 0;
	fprintf(stderr, "ftpd: %s %s: a worker running as %s cannot use it: %s\n", which,
	    strcmp(which, "home_root") == 0 ? config->home_root : strcmp(which,
	    "anonymous_root") == 0 ? config->anonymous_root : "",
	    drops ? identity->name : "this user", strerror(WEXITSTATUS(status)));
	return 1;
}

int
preflight(const struct config *config, FILE *out)
{
	struct daemon_identity identity;
	char error[512];
	int drops = 0;

	/* A certificate that cannot be used is a configuration error too. */
	if (config->tls != TLS_OFF) {
		struct tls_context *tls = tls_context_new(config, error, sizeof(error));

		if (tls == NULL) {
			fprintf(stderr, "ftpd: %s\n", error);
			return 1;
		}
		tls_context_free(tls);
	}
	/* Started as root, the workers switch to this user: it must exist. */
	if (geteuid() == 0 && config->user != NULL) {
		if (daemon_identity_lookup(config->user, &identity) != 0) {
			fprintf(stderr, "ftpd: user %s: no such user (create it, or set user "
			    "in the config)\n", config->user);
			return 1;
		}
		drops = 1;
	}
	if (check_worker_access(config, &identity, drops) != 0)
		return 1;
	if (config->system_users)
		warn_about_system_users();
	report_processes(config, &identity, drops, out);
	config_print(config, out);
	return 0;
}
