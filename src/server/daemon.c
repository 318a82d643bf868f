/*
 * daemon: the process-level steps of a service: detach, pid file, privilege drop.
 * Privileges go last, after every port is bound and every key and log file is open.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "server/daemon.h"

/* Write end of the pipe the waiting parent reads; -1 when not detached. */
static int ready_pipe = -1;

int
daemon_detach(void)
{
	int pipe_fds[2];
	pid_t child;
	char status = 0;

	if (pipe2(pipe_fds, O_CLOEXEC) != 0)
		return -errno;
	child = fork();
	if (child < 0)
		return -errno;
	if (child > 0) {
		/* The parent: exit 0 once the child serves, 1 if it dies first. */
		ssize_t got;

		close(pipe_fds[1]);
		do
			got = read(pipe_fds[0], &status, 1);
		while (got < 0 && errno == EINTR);
		_exit(got == 1 && status == 'R' ? 0 : 1);
	}
	close(pipe_fds[0]);
	ready_pipe = pipe_fds[1];
	if (setsid() < 0)
		return -errno;
	return 0;
}

void
daemon_ready(void)
{
	int null;

	if (ready_pipe < 0)
		return;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (write(ready_pipe, "R", 1) != 1)
		log_warning("cannot tell the starting process that ftpd is ready");
	close(ready_pipe);
	ready_pipe = -1;
}

int
daemon_write_pid_file(const char *path, const struct config *config)
{
	char text[32];
	int length = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	struct passwd *account;

	if (fd < 0 || write(fd, text, (size_t)length) != length) {
		int error = errno;

		log_error("pid_file %s: %s", path, strerror(error));
		if (fd >= 0)
			close(fd);
		return -error;
	}
	/* So the unprivileged process can still empty it at exit. */
	if (geteuid() == 0 && config->user != NULL &&
	    (account = getpwnam(config->user)) != NULL &&
	    fchown(fd, account->pw_uid, account->pw_gid) != 0)
		log_warning("pid_file %s: cannot hand it to %s: %s", path, config->user,
		    strerror(errno));
	close(fd);
	return 0;
}

void
daemon_remove_pid_file(const char *path)
{
	if (unlink(path) == 0)
		return;
	if (truncate(path, 0) == 0)
		log_info("pid_file %s: emptied; its directory is not writable after the "
		    "privilege drop", path);
	else
		log_warning("pid_file %s: cannot remove it: %s", path, strerror(errno));
}

int
daemon_drop_privileges(const struct config *config)
{
	struct passwd *account;
	uid_t uid;
	gid_t gid;

	if (config->system_users && geteuid() != 0) {
		log_error("system_users needs ftpd to be started as root");
		return -EPERM;
	}
	if (geteuid() != 0 || config->user == NULL)
		return 0;
	if (config->system_users) {
		/* PAM needs root, and so does becoming each user after login. */
		log_info("system_users: the listening process stays root; each logged-in "
		    "session runs in a process of its own as its user");
		return 0;
	}
	errno = 0;
	account = getpwnam(config->user);
	if (account == NULL) {
		log_error("user %s: no such user (create it, or set user in ftpd.conf)",
		    config->user);
		return -ENOENT;
	}
	uid = account->pw_uid;
	gid = account->pw_gid;
	if (initgroups(config->user, gid) != 0 || setgid(gid) != 0) {
		log_error("user %s: cannot take its groups: %s", config->user, strerror(errno));
		return -errno;
	}
	if (config->chroot != NULL && (chroot(config->chroot) != 0 || chdir("/") != 0)) {
		log_error("chroot %s: %s", config->chroot, strerror(errno));
		return -errno;
	}
	if (setuid(uid) != 0) {
		log_error("user %s: cannot switch to it: %s", config->user, strerror(errno));
		return -errno;
	}
	/* Make sure there is no way back. */
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		log_error("user %s: root privileges could be regained; stopping", config->user);
		return -EPERM;
	}
	log_info("running as %s (uid %ld)%s%s", config->user, (long)uid,
	    config->chroot != NULL ? ", chrooted to " : "",
	    config->chroot != NULL ? config->chroot : "");
	return 0;
}

int
daemon_become(const char *name, uid_t uid, gid_t gid, const gid_t *groups, int group_count)
{
	if (uid == 0) {
		log_error("user %s: refusing to run a session as root", name);
		return -EPERM;
	}
	if (setgroups((size_t)group_count, groups) != 0 || setresgid(gid, gid, gid) != 0) {
		log_error("user %s: cannot take its groups: %s", name, strerror(errno));
		return -errno;
	}
	if (setresuid(uid, uid, uid) != 0) {
		log_error("user %s: cannot switch to it: %s", name, strerror(errno));
		return -errno;
	}
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0) {
		log_error("user %s: root privileges could be regained; stopping", name);
		return -EPERM;
	}
	/*
	 * The kernel already makes a process that changed uid undumpable; say
	 * so anyway: the user's other processes must not ptrace this one (it
	 * holds the TLS key).
	 */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}
