/*
 * ftpd shell interface: the public extension ABI.
 * A shell does all filesystem work for one logged-in user; ftpd never touches files itself.
 *
 * Writing a custom shell
 * ----------------------
 * Build a shared object that exports one symbol named FTPD_SHELL_MODULE_SYMBOL
 * ("ftpd_shell_module") of type `const struct ftpd_shell_module`, with
 * abi_version = FTPD_SHELL_ABI_VERSION. ftpd calls module->create() once per
 * login; the shell returned lives until ops->destroy(). Install it as
 * NAME.so in ftpd's shell_dir (pkg-config --variable=shelldir ftpd-shell) and
 * select it with "shell = NAME" or "anonymous_shell = NAME", or by its path.
 * Only processes that serve sessions load it; ftpd -t also loads it and
 * calls create() (with host NULL) and destroy() once, as the workers' user.
 *
 * Paths reach a shell as segments already normalised by ftpd: no segment is
 * empty, ".", "..", contains '/' or NUL. The empty list is the shell's root.
 * A shell must still never let a path resolve outside its root (symlinks).
 *
 * Every operation completes through its callback, exactly once. A shell may
 * call the callback before the operation function returns (the built-in
 * shells do) or later from the event loop (a shell in front of a network
 * store). Path arguments stay valid until the callback has run. Errors are
 * negative errno values (-ENOENT, -EACCES, ...); ftpd maps them to FTP
 * replies in one place.
 */
#ifndef FTPD_SHELL_H
#define FTPD_SHELL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FTPD_SHELL_ABI_VERSION 1
#define FTPD_SHELL_MODULE_SYMBOL "ftpd_shell_module"

/* The longest single name (path segment) a shell is ever given. */
#define FTPD_NAME_MAX 255

struct ftpd_shell;

/* A path below the shell's root, as normalised segments. */
struct ftpd_path {
	const char *const *segments;
	size_t count;
};

/* What ftpd needs to know about a file: a subset of struct stat. */
struct ftpd_stat {
	mode_t mode;		/* file type and permission bits, as st_mode */
	uint64_t size;
	time_t mtime;
	nlink_t nlink;
	uid_t uid;
	gid_t gid;
	uint64_t device;	/* with inode: a unique id for MLSD "unique" */
	uint64_t inode;
	char owner[32];		/* names for listings; empty: print the number */
	char group[32];
};

/* One directory entry, valid until the next read or close. */
struct ftpd_directory_entry {
	const char *name;
	int has_stat;		/* 0 when stat failed (dangling symlink...) */
	struct ftpd_stat stat;
};

/* A directory being listed: entries are pulled one at a time (streamed). */
struct ftpd_directory;
struct ftpd_directory_ops {
	/* 1: *entry filled; 0: no more entries; < 0: -errno. */
	int (*read)(struct ftpd_directory *directory, struct ftpd_directory_entry *entry);
	void (*close)(struct ftpd_directory *directory);
};
struct ftpd_directory {
	const struct ftpd_directory_ops *ops;
};

/*
 * A file open for reading: a producer the data channel pulls from. When fd is
 * >= 0 ftpd may send from it directly (sendfile) starting at the offset it
 * was opened at; otherwise it calls ops->read.
 */
struct ftpd_read_file;
struct ftpd_read_file_ops {
	/* bytes read (0 at end of file) or -errno. */
	ssize_t (*read)(struct ftpd_read_file *file, void *buffer, size_t length);
	void (*close)(struct ftpd_read_file *file);
};
struct ftpd_read_file {
	const struct ftpd_read_file_ops *ops;
	int fd;
	uint64_t size;		/* the file's size when opened */
};

typedef void (*ftpd_done_fn)(void *arg, int error);

/*
 * A file open for writing: a consumer with a commit step that can fail.
 * ftpd reports an upload as stored only when finish() completed with 0;
 * with keep_partial_uploads it also calls finish() to keep what arrived of
 * a failed upload written in place (not REPLACE). abort() discards what was
 * written and leaves any previous file intact: in place, a file the upload
 * created is removed and one it grew is cut back to its old length.
 * Either finish() or abort() is called exactly once, and frees the file.
 */
struct ftpd_write_file;
struct ftpd_write_file_ops {
	/* bytes written or -errno. */
	ssize_t (*write)(struct ftpd_write_file *file, const void *buffer, size_t length);
	void (*finish)(struct ftpd_write_file *file, ftpd_done_fn done, void *arg);
	void (*abort)(struct ftpd_write_file *file);
};
struct ftpd_write_file {
	const struct ftpd_write_file_ops *ops;
};

enum ftpd_write_mode {
	FTPD_WRITE_REPLACE,	/* new content; old file kept until finish() */
	FTPD_WRITE_APPEND,	/* append to the existing file (or create it) */
	FTPD_WRITE_AT_OFFSET,	/* overwrite from offset on (REST + STOR) */
	FTPD_WRITE_UNIQUE	/* create a new file; fails with -EEXIST */
};

enum ftpd_access {
	FTPD_ACCESS_READ = 1,		/* list a directory / read a file */
	FTPD_ACCESS_ENTER = 2		/* make a directory the working directory */
};

typedef void (*ftpd_stat_fn)(void *arg, int error, const struct ftpd_stat *stat);
typedef void (*ftpd_open_directory_fn)(void *arg, int error, struct ftpd_directory *directory);
typedef void (*ftpd_open_read_fn)(void *arg, int error, struct ftpd_read_file *file);
typedef void (*ftpd_open_write_fn)(void *arg, int error, struct ftpd_write_file *file);

struct ftpd_shell_ops {
	/* Check that path exists and allows the access asked for. */
	void (*access)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    enum ftpd_access access, ftpd_done_fn done, void *arg);
	/* stat without following a final symlink outside the root. */
	void (*stat)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    ftpd_stat_fn done, void *arg);
	void (*open_directory)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    ftpd_open_directory_fn done, void *arg);
	void (*make_directory)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    ftpd_done_fn done, void *arg);
	void (*remove_directory)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    ftpd_done_fn done, void *arg);
	void (*remove_file)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    ftpd_done_fn done, void *arg);
	void (*rename)(struct ftpd_shell *shell, const struct ftpd_path *from,
	    const struct ftpd_path *to, ftpd_done_fn done, void *arg);
	void (*open_for_reading)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    uint64_t offset, ftpd_open_read_fn done, void *arg);
	void (*open_for_writing)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    enum ftpd_write_mode mode, uint64_t offset, ftpd_open_write_fn done, void *arg);

	/* Optional: NULL means "not supported" (ftpd answers 502/504). */
	void (*set_mtime)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    time_t mtime, ftpd_done_fn done, void *arg);
	void (*chmod)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    mode_t mode, ftpd_done_fn done, void *arg);

	/* Frees the shell; called once at logout, after every operation completed. */
	void (*destroy)(struct ftpd_shell *shell);
};

/* A shell instance: implementations embed this as their first member. */
struct ftpd_shell {
	const struct ftpd_shell_ops *ops;
};

struct event_base;

/* What ftpd offers a shell, for work that must not block the event loop. */
struct ftpd_host {
	/*
	 * Runs work(arg) on a worker thread, then done(arg) on the event loop.
	 * work must not touch the event loop. 0, or -ENOMEM when nothing will run.
	 */
	int (*run_blocking)(struct ftpd_host *host, void (*work)(void *arg),
	    void (*done)(void *arg), void *arg);
	/* The loop every callback runs on, for shells that complete later. */
	struct event_base *event_base;
};

/* What a shell is created with, for one login. */
struct ftpd_shell_config {
	const char *root;	/* directory the shell serves; its "/" */
	const char *user;	/* login name ("anonymous" for guests) */
	int read_only;		/* 1: every change must fail with -EROFS */
	/*
	 * The module's options: the config's shell_option lines (for guests,
	 * anonymous_shell_option), each "KEY=VALUE", joined by '\n', in the
	 * order given; NULL when there are none. ABI 1 has no list field, so
	 * the lines travel in this string.
	 */
	const char *options;
	struct ftpd_host *host;	/* NULL: do everything in the calling thread */
};

struct ftpd_shell_module {
	unsigned abi_version;	/* FTPD_SHELL_ABI_VERSION */
	const char *name;
	/* 0 and *shell set, or -errno. */
	int (*create)(const struct ftpd_shell_config *config, struct ftpd_shell **shell);
};

#ifdef __cplusplus
}
#endif

#endif /* FTPD_SHELL_H */
