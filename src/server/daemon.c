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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log/log.h"
#include "server/daemon.h"
#include "util/descriptors.h"

/* Write end of the pipe the waiting parent reads; -1 when not detached. */
static int ready_pipe = -1;
/* This process (or the monitor it was forked from) went to the background. */
static int detached;

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
	detached = 1;
	if (setsid() < 0)
		return -errno;
	return 0;
}

void
daemon_stdio_to_null(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0)
		return;
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
	if (null > STDERR_FILENO)
		close(null);
}

void
daemon_leave_monitor(struct event_base *monitor_base, pid_t monitor_pid, int *keep,
    int keep_count)
{
	/* Set first, then checked: the monitor may have died before the call. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != monitor_pid)
		_exit(1);
	/*
	 * The epoll instance is shared with the monitor: removing its events
	 * here would remove them there. Give this process its own, then free.
	 */
	event_reinit(monitor_base);
	event_base_free(monitor_base);
	descriptors_close_except(keep, keep_count);
	/* The starting process waits for the end of its output: a child must not hold it. */
	if (detached)
		daemon_stdio_to_null();
	log_reopen_after_fork();
}

int
daemon_is_detached(void)
{
	return detached;
}

void
daemon_ready(void)
{
	if (ready_pipe < 0)
		return;
	daemon_stdio_to_null();
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

/* Longest getpwnam_r buffer tried. */
#define PASSWD_BUFFER_MAX (1024 * 1024)

int
daemon_identity_lookup(const char *name, struct daemon_identity *identity)
{
	struct passwd entry, *found = NULL;
	int group_count = DAEMON_GROUPS_MAX;
	size_t size = 16384;
	char *buffer = NULL, *grown;
	int error;

	memset(identity, 0, sizeof(*identity));
	if (strlen(name) >= sizeof(identity->name))
		return -ENAMETOOLONG;
	do {
		grown = realloc(buffer, size);
		if (grown == NULL) {
			free(buffer);
			return -ENOMEM;
		}
		buffer = grown;
		error = getpwnam_r(name, &entry, buffer, size, &found);
		size *= 2;
	} while (error == ERANGE && size <= PASSWD_BUFFER_MAX);
	if (found == NULL) {
		free(buffer);
		return -ENOENT;
	}
	strcpy(identity->name, name);
	identity->uid = entry.pw_uid;
	identity->gid = entry.pw_gid;
	if (getgrouplist(name, entry.pw_gid, identity->groups, &group_count) < 0) {
		/* Too many to list: the primary group alone takes permissions away, never adds. */
		identity->groups[0] = entry.pw_gid;
		group_count = 1;
	}
	identity->group_count = group_count;
	free(buffer);
	return 0;
}

int
daemon_take_identity(const struct daemon_identity *identity, const char *chroot_directory)
{
	if (chroot_directory != NULL && (chroot(chroot_directory) != 0 || chdir("/") != 0)) {
		log_error("chroot %s: %s", chroot_directory, strerror(errno));
		return -errno;
	}
	return daemon_become(identity->name, identity->uid, identity->gid, identity->groups,
	    identity->group_count);
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
