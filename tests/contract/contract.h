/*
 * contract: the shell contract suite (like Twisted's IFTPShell test mixin).
 * Any shell module runs it: the cases drive the shell only through
 * include/ftpd/shell.h, on an event loop, so a shell that answers later is
 * driven as ftpd drives it. A fixture sets up each case's tree and looks at
 * it from outside the shell; without one, only what holds for any tree is
 * checked (a shell over a tree of its own making, as the example's).
 */
#ifndef FTPD_CONTRACT_H
#define FTPD_CONTRACT_H

#include <check.h>
#include <stddef.h>
#include <sys/types.h>

#include "ftpd/shell.h"

struct contract_fixture {
	const struct ftpd_shell_module *module;
	const char *root;		/* the config's root, when the shell has one */
	const char *const *options;	/* the module's shell_option lines */
	size_t option_count;
	/*
	 * A local directory where the shell's tree can be seen and set up
	 * (the fs shell's root, the directory an SMB share serves), or NULL:
	 * then only the cases for any tree run.
	 */
	const char *tree;
	int symlinks;			/* the tree takes symlinks (not over SMB) */
	int read_only_shell;		/* it refuses every change by nature (anon) */
};

/* The fixture every case of the suite uses; set before the suite runs. */
extern struct contract_fixture contract_fixture;

Suite *contract_suite(void);

/* --- driving a shell: each waits on the loop until the shell has answered --- */

struct ftpd_shell *contract_shell(int read_only);
void contract_shell_free(struct ftpd_shell *shell);

int contract_stat(struct ftpd_shell *shell, const char *path, struct ftpd_stat *stat);
int contract_access(struct ftpd_shell *shell, const char *path, enum ftpd_access access);
int contract_change(struct ftpd_shell *shell, const char *operation, const char *path,
    const char *other);
int contract_open_directory(struct ftpd_shell *shell, const char *path,
    struct ftpd_directory **directory);
/* 1 with *entry (name copied into name), 0 at the end, or -errno. */
ssize_t contract_read_entry(struct ftpd_directory *directory, struct ftpd_directory_entry *entry,
    char *name, size_t name_size);
int contract_open_read(struct ftpd_shell *shell, const char *path, uint64_t offset,
    struct ftpd_read_file **file);
/* Reads file to its end; the bytes (malloc'd, NUL added) and their count, or NULL. */
char *contract_read_all(struct ftpd_read_file *file, size_t *length, int *error);
int contract_open_write(struct ftpd_shell *shell, const char *path, enum ftpd_write_mode mode,
    uint64_t offset, struct ftpd_write_file **file);
int contract_write_all(struct ftpd_write_file *file, const void *data, size_t length);
int contract_finish(struct ftpd_write_file *file);
/* Stores data at path in one go, through the shell. */
int contract_store(struct ftpd_shell *shell, const char *path, enum ftpd_write_mode mode,
    uint64_t offset, const char *data);

/* The optional operations; call only when FTPD_SHELL_OP says the shell has them. */
int contract_lstat(struct ftpd_shell *shell, const char *path, struct ftpd_stat *stat);
int contract_readlink(struct ftpd_shell *shell, const char *path, char *target, size_t size);
int contract_chattr(struct ftpd_shell *shell, const char *path,
    const struct ftpd_attributes *attributes);
int contract_session_start(struct ftpd_shell *shell, const struct ftpd_session_info *info);
int contract_open_file(struct ftpd_shell *shell, const char *path, unsigned flags,
    struct ftpd_file **file);
ssize_t contract_pread(struct ftpd_file *file, void *buffer, size_t length, uint64_t offset);
ssize_t contract_pwrite(struct ftpd_file *file, const void *buffer, size_t length,
    uint64_t offset);
int contract_close_file(struct ftpd_file *file);

/* Turns the loop for about milliseconds: time for an answer that must not come. */
void contract_idle(unsigned milliseconds);

/* --- the tree, seen from outside the shell (fixture.tree) --- */

void tree_clear(void);
void tree_put(const char *path, const char *content);
void tree_mkdir(const char *path);
/* The file's content (malloc'd), or NULL when there is none. */
char *tree_get(const char *path);
/* 'f', 'd', 'l' or 0 when nothing is there. */
int tree_type(const char *path);

#endif
