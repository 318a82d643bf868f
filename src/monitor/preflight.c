/*
 * monitor/preflight: ftpd -t, as the monitor would start. Whether a worker
 * can read the shells' roots, load the shells and create them is tried in a
 * child that has become the worker's user, so the kernel answers, not a guess.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "monitor/monitor.h"
#include "monitor/preflight.h"
#include "monitor/preflight_shells.h"
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

/* Writes what a worker cannot use to message; returns 1. */
static int
cannot_use(char *message, size_t size, const char *key, const char *path, const char *who,
    int error)
{
	snprintf(message, size, "%s %s: a worker running as %s cannot use it: %s", key, path,
	    who, strerror(error));
	return 1;
}

/* In the child, as the worker: 0, or 1 with the first root or shell it cannot use in message. */
static int
try_as_worker(const struct config *config, const struct daemon_identity *identity, int drops,
    char *message, size_t size)
{
	const char *who = drops ? identity->name : "this user";

	if (drops && daemon_take_identity(identity, config->chroot) != 0) {
		snprintf(message, size, "a worker cannot become user %s%s%s: %s", identity->name,
		    config->chroot != NULL ? " in chroot " : "",
		    config->chroot != NULL ? config->chroot : "", strerror(EPERM));
		return 1;
	}
	if (config->anonymous && access(config->anonymous_root, R_OK | X_OK) != 0)
		return cannot_use(message, size, "anonymous_root", config->anonymous_root, who,
		    errno);
	if ((config->passwd_file != NULL || config->passwd_db != NULL) &&
	    config->home_root != NULL && access(config->home_root, X_OK) != 0)
		return cannot_use(message, size, "home_root", config->home_root, who, errno);
	return preflight_try_shells(config, message, size);
}

/*
 * Forks a child that becomes the worker's user, tries the roots and loads
 * and creates the shells: modules are loaded there, never in this process.
 * 0 or 1 (said why).
 */
static int
check_worker_access(const struct config *config, const struct daemon_identity *identity,
    int drops)
{
	char message[CONFIG_ERROR_SIZE + PATH_MAX];
	int status, pipe_fds[2];
	size_t used = 0;
	ssize_t got;
	pid_t child;

	/* Close-on-exec: a program a module runs does not hold the pipe open. */
	if (pipe2(pipe_fds, O_CLOEXEC) != 0)
		return 0;
	child = fork();
	if (child == 0) {
		int failed;

		close(pipe_fds[0]);
		message[0] = '\0';
		failed = try_as_worker(config, identity, drops, message, sizeof(message));
		if (failed && write(pipe_fds[1], message, strlen(message)) < 0)
			failed = 2;
		_exit(failed);
	}
	close(pipe_fds[1]);
	if (child < 0) {
		close(pipe_fds[0]);
		return 0;
	}
	while (used < sizeof(message) - 1 &&
	    (got = read(pipe_fds[0], message + used, sizeof(message) - 1 - used)) > 0)
		used += (size_t)got;
	message[used] = '\0';
	close(pipe_fds[0]);
	if (waitpid(child, &status, 0) != child)
		return 0;
	/* A module's create() that crashes is as much a bad shell as one that fails. */
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "ftpd: the check as the worker's user died of signal %d "
		    "(%s) while trying the roots and shells: a shell module's create()?\n",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 0)
		return 0;
	fprintf(stderr, "ftpd: %s\n", message[0] != '\0' ? message :
	    "the check as the worker's user failed");
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
	preflight_describe_shells(config, out);
	config_print(config, out);
	return 0;
}
