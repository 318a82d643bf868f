/*
 * realm: avatar id -> shell (Twisted's FTPRealm): guests get anonymous_shell,
 * read-only, on anonymous_root; password users the configured shell on their home.
 */
#ifndef FTPD_REALM_H
#define FTPD_REALM_H

#include <stddef.h>

#include "config/config.h"
#include "portal/checkers/checkers.h"
#include "portal/portal.h"

struct realm;

/*
 * Finds (and may dlopen) the shell modules the config names, so a bad shell
 * is reported at start rather than at the first login: only processes that
 * serve sessions build a realm. anonymous_shell is loaded only with
 * anonymous = yes. The config must outlive the realm. NULL on failure
 * (message logged, naming the key and where it was set).
 */
struct realm *realm_new(const struct config *config, struct ftpd_host *host);
void realm_free(struct realm *realm);

/*
 * The directory id's shell serves: anonymous_root for guests, the home from
 * the password file, else home_root/NAME. 0, -ENAMETOOLONG, -ENOENT when the
 * config names no such directory, or -EACCES for a name that is no single
 * path segment.
 */
int realm_home_directory(const struct realm *realm, const struct avatar_id *id,
    char *buffer, size_t size);

/*
 * Builds the avatar for id, taking over id->account: 0 with *avatar set (free
 * it with avatar_logout), or -errno. With system_users the shell is left for
 * realm_open_shell in the session's own process; otherwise it is opened here.
 */
int realm_request_avatar(struct realm *realm, struct avatar_id *id,
    struct avatar **avatar);

/* Opens avatar's shell on its home, offering the shell host. 0 or -errno (logged). */
int realm_open_shell(const struct realm *realm, struct avatar *avatar, struct ftpd_host *host);

#endif
