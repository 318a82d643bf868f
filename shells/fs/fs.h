/*
 * fs (shells, internal): the filesystem shell's constructor, shared with the
 * anonymous shell, which is the same shell with every change refused.
 */
#ifndef FTPD_SHELL_FS_H
#define FTPD_SHELL_FS_H

#include "ftpd/shell.h"

/*
 * Opens config->root once and returns a shell serving it; with
 * config->read_only every change fails with -EROFS before touching
 * anything. config->options must be NULL or empty (fs takes none).
 * Returns 0 or -errno (-ENOENT, -ENOTDIR, -EACCES for a bad root).
 */
int shell_fs_create(const struct ftpd_shell_config *config, struct ftpd_shell **shell);

struct stat;
struct shell_fs;

/* Distinct owners in one listing are few; a small cache saves most lookups. */
#define FS_NAME_CACHE_SIZE 8

struct fs_name_cache_entry {
	int valid;
	unsigned long id;
	char name[sizeof(((struct ftpd_stat *)0)->owner)];
};

/* User and group names by id, for one listing (zeroed to start). */
struct fs_name_cache {
	struct fs_name_cache_entry users[FS_NAME_CACHE_SIZE];
	struct fs_name_cache_entry groups[FS_NAME_CACHE_SIZE];
	size_t next_user;
	size_t next_group;
};

/* What a stat says, as the shell interface tells it (names through the cache). */
void fs_fill_stat(const struct shell_fs *fs, const struct stat *status,
    struct fs_name_cache *names, struct ftpd_stat *out);

/* Makes fd blocking again after an open with O_NONBLOCK (FIFOs): 0 or -errno. */
int fs_clear_nonblocking(int fd);

#endif
