/*
 * daemon: the process-level steps of a service: detach, pid file, privilege drop.
 * Privileges go last, after every port is bound and every key and log file is open.
 */
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

#include "daemon.h"
#include "log.h"

int
daemon_detach(void)
{
	pid_t child = fork();
	int null;

	if (child < 0)
		return -errno;
	if (child > 0)
		_exit(0);
	if (setsid() < 0)
		return -errno;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return -errno;
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
	if (null > STDERR_FILENO)
		close(null);
	return 0;
}

int
daemon_write_pid_file(const char *path)
{
	char text[32];
	int length = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0 || write(fd, text, (size_t)length) != length) {
		int error = errno;

		log_error("pid_file %s: %s", path, strerror(error));
		if (fd >= 0)
			close(fd);
		return -error;
	}
	close(fd);
	return 0;
}

int
daemon_drop_privileges(const struct config *config)
{
	struct passwd *account;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || config->user == NULL)
		return 0;
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
