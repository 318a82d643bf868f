/*
 * ftpd shell interface, ABI 2: the public extension ABI.
 * A shell does all filesystem work for one logged-in user; ftpd never touches
 * files itself. ftpd-shell(3) walks through a complete example.
 *
 * Writing a custom shell
 * ----------------------
 * Build a shared object that exports one symbol named FTPD_SHELL_MODULE_SYMBOL
 * ("ftpd_shell_module") of type `const struct ftpd_shell_module`, with
 * abi_version = FTPD_SHELL_ABI_VERSION and struct_size = its sizeof:
 *
 *	cc -shared -fPIC $(pkg-config --cflags ftpd-shell) my.c -o my.so
 *
 * ftpd calls module->create() once per login; the shell returned lives until
 * ops->destroy(). Install it as NAME.so in ftpd's shell_dir
 * (pkg-config --variable=shelldir ftpd-shell) and select it with
 * "shell = NAME" or "anonymous_shell = NAME", or by its path. Only the
 * processes that serve sessions load it, never the privileged monitor;
 * ftpd -t also loads it and calls create() (with host NULL) and destroy()
 * once, as the workers' user, to catch a bad module before the real start.
 *
 * Growing without breaking
 * ------------------------
 * Every struct that crosses the ABI begins (after abi_version, for the module)
 * with struct_size, set by whoever fills the struct to the sizeof it was built
 * with. New fields and optional operations are only ever appended, so a
 * module built against an older header keeps working: ftpd reads a field only
 * when FTPD_HAS says the filler knew it, and a module does the same with what
 * ftpd fills (struct ftpd_host, the config, attributes). Only an incompatible
 * change bumps FTPD_SHELL_ABI_VERSION.
 *
 * Paths
 * -----
 * Paths reach a shell as segments already normalised by ftpd: no segment is
 * empty, ".", "..", longer than FTPD_NAME_MAX, or contains '/' or NUL. The
 * empty list is the shell's root. A shell must still never let a path resolve
 * outside its root (symlinks on disk, "..", a remote server's own rules).
 *
 * Completion
 * ----------
 * Every operation taking a done callback completes through it, exactly once,
 * either before the operation function returns (the built-in shells do) or
 * later from the event loop (a shell in front of a network store: it uses
 * host->run_blocking or host->timer_start to come back to the loop). Path and
 * attribute arguments stay valid only until the operation function returns:
 * copy what you need later. Callbacks are always run on the event loop's
 * thread, never from a worker thread.
 *
 * Reads and writes of open files and directories return their result at
 * once, or FTPD_PENDING and call done(arg, result) later; the buffer passed
 * stays valid, untouched by ftpd, until then. ftpd issues one call at a time
 * per open object. close()/abort() may come while a call is pending: the shell
 * then must not call its done, nor touch the buffer, after close()/abort()
 * returned (a worker thread still using it must work on its own memory).
 *
 * Errors
 * ------
 * Errors are negative errno values; ftpd maps them to FTP replies in one place:
 *	-ENOENT, -ENOTDIR, -EISDIR, -EACCES, -EPERM,
 *	-ELOOP, -EXDEV, -EROFS, -EEXIST, -ENOTEMPTY	550
 *	-EINVAL, -ENAMETOOLONG				553 (a name not allowed)
 *	-ENOSPC						452 (insufficient storage)
 *	-EDQUOT, -EFBIG					552 (storage allocation exceeded)
 *	-ENOTCONN, -ECONNRESET, -EHOSTDOWN,
 *	-ESHUTDOWN, -ETIMEDOUT				421: the store is gone, and this
 *							session (only this one) ends
 *	anything else					451
 */
#ifndef FTPD_SHELL_H
#define FTPD_SHELL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FTPD_SHELL_ABI_VERSION 2
#define FTPD_SHELL_MODULE_SYMBOL "ftpd_shell_module"

/* The longest single name (path segment) a shell is ever given. */
#define FTPD_NAME_MAX 255

/* Returned by a read or write that will complete later through its done. */
#define FTPD_PENDING (-0x7fff)

/*
 * Whether the struct *ptr (of type type) was filled by code that knew field:
 * struct_size covers it. Use it for every field or operation added after
 * ABI 2's first release; the fields present then are always covered.
 */
#define FTPD_HAS(ptr, type, field) \
	((ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

struct ftpd_shell;

/* A path below the shell's root, as normalised segments. */
struct ftpd_path {
	const char *const *segments;
	size_t count;
};

/*
 * The MLSD "perm" facts (RFC 3659 7.5.5) a path has for this session. A
 * shell that sets FTPD_PERM_KNOWN answers for itself and listings promise
 * exactly these; without it ftpd guesses from the mode bits, and never
 * promises a change to a guest.
 */
enum ftpd_perm {
	FTPD_PERM_KNOWN = 1 << 0,
	FTPD_PERM_APPEND = 1 << 1,	/* a: APPE to this file */
	FTPD_PERM_CREATE = 1 << 2,	/* c: STOR a new file in this directory */
	FTPD_PERM_DELETE = 1 << 3,	/* d: DELE / RMD this entry */
	FTPD_PERM_ENTER = 1 << 4,	/* e: CWD into this directory */
	FTPD_PERM_RENAME = 1 << 5,	/* f: RNFR this entry */
	FTPD_PERM_LIST = 1 << 6,	/* l: LIST / MLSD this directory */
	FTPD_PERM_MKDIR = 1 << 7,	/* m: MKD in this directory */
	FTPD_PERM_PURGE = 1 << 8,	/* p: delete entries in this directory */
	FTPD_PERM_READ = 1 << 9,	/* r: RETR this file */
	FTPD_PERM_WRITE = 1 << 10	/* w: STOR over this file */
};

/* What ftpd needs to know about a file: a subset of struct stat. */
struct ftpd_stat {
	size_t struct_size;	/* sizeof(struct ftpd_stat) of the filler */
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
	unsigned perm;		/* enum ftpd_perm bits; 0: let ftpd guess */
};
#define FTPD_STAT_INIT { .struct_size = sizeof(struct ftpd_stat) }

/*
 * One directory entry, valid until the next read or close. The stat is of the
 * entry itself (lstat): a symlink is S_IFLNK with link_target set, whatever
 * it points to.
 */
struct ftpd_directory_entry {
	size_t struct_size;	/* set by the shell */
	const char *name;
	int has_stat;		/* 0 when stat failed */
	struct ftpd_stat stat;
	const char *link_target; /* a symlink's target as stored, or NULL */
};

/* The result of a read or write completed later: as the call would return. */
typedef void (*ftpd_result_fn)(void *arg, ssize_t result);
typedef void (*ftpd_done_fn)(void *arg, int error);

/* A directory being listed: entries are pulled one at a time (streamed). */
struct ftpd_directory;
struct ftpd_directory_ops {
	size_t struct_size;
	/*
	 * 1: *entry filled; 0: no more entries; -errno; or FTPD_PENDING and
	 * done(arg, one of those) once *entry is filled. ftpd zeroes *entry
	 * before each call.
	 */
	ssize_t (*read)(struct ftpd_directory *directory, struct ftpd_directory_entry *entry,
	    ftpd_result_fn done, void *arg);
	/* Frees the directory; cancels a pending read. */
	void (*close)(struct ftpd_directory *directory);
};
struct ftpd_directory {
	const struct ftpd_directory_ops *ops;
};

/*
 * A file open for reading: a producer the data channel pulls from. When fd is
 * >= 0 it is a regular file positioned at the offset it was opened at, and
 * ftpd may send from it directly (sendfile, kernel TLS) without calling read.
 */
struct ftpd_read_file;
struct ftpd_read_file_ops {
	size_t struct_size;
	/* bytes read (0 at end of file), -errno, or FTPD_PENDING. */
	ssize_t (*read)(struct ftpd_read_file *file, void *buffer, size_t length,
	    ftpd_result_fn done, void *arg);
	/* Frees the file; cancels a pending read. */
	void (*close)(struct ftpd_read_file *file);
};
struct ftpd_read_file {
	size_t struct_size;
	const struct ftpd_read_file_ops *ops;
	int fd;			/* -1: no descriptor, always read() */
	uint64_t size;		/* the file's size when opened */
};

/*
 * A file open for writing: a consumer with a commit step that can fail.
 * ftpd reports an upload as stored only when finish() completed with 0;
 * with keep_partial_uploads it also calls finish() to keep what arrived of
 * a failed upload written in place (not REPLACE). abort() discards what was
 * written and leaves any previous file intact: in place, a file the upload
 * created is removed and one it grew is cut back to its old length.
 * Either finish() or abort() is called exactly once, and frees the file;
 * finish() never while a write is pending, abort() perhaps (it cancels it).
 */
struct ftpd_write_file;
struct ftpd_write_file_ops {
	size_t struct_size;
	/* bytes written (maybe fewer than length), -errno, or FTPD_PENDING. */
	ssize_t (*write)(struct ftpd_write_file *file, const void *buffer, size_t length,
	    ftpd_result_fn done, void *arg);
	void (*finish)(struct ftpd_write_file *file, ftpd_done_fn done, void *arg);
	void (*abort)(struct ftpd_write_file *file);
};
struct ftpd_write_file {
	size_t struct_size;
	const struct ftpd_write_file_ops *ops;
	/*
	 * -1, or a descriptor ftpd may write the upload's bytes to directly
	 * (splice), at its current position, instead of calling write: the
	 * shell must then not rely on seeing every byte through write.
	 */
	int fd;
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

/*
 * Optional: a file open for random access (SFTP-style), from open_file.
 * pread/pwrite follow the read/write rules above; close cancels a pending call.
 */
enum ftpd_open_flags {
	FTPD_OPEN_READ = 1 << 0,
	FTPD_OPEN_WRITE = 1 << 1,
	FTPD_OPEN_CREATE = 1 << 2,	/* create it if missing */
	FTPD_OPEN_EXCLUSIVE = 1 << 3,	/* with CREATE: -EEXIST if it exists */
	FTPD_OPEN_TRUNCATE = 1 << 4
};
struct ftpd_file;
struct ftpd_file_ops {
	size_t struct_size;
	ssize_t (*pread)(struct ftpd_file *file, void *buffer, size_t length,
	    uint64_t offset, ftpd_result_fn done, void *arg);
	ssize_t (*pwrite)(struct ftpd_file *file, const void *buffer, size_t length,
	    uint64_t offset, ftpd_result_fn done, void *arg);
	/* Makes what was written durable, frees the file, reports the outcome. */
	void (*close)(struct ftpd_file *file, ftpd_done_fn done, void *arg);
};
struct ftpd_file {
	size_t struct_size;
	const struct ftpd_file_ops *ops;
	int fd;			/* -1, or a descriptor for the same file */
};

/* Optional: changes to an entry's attributes, from chattr. Filled by ftpd. */
enum ftpd_attribute_mask {
	FTPD_ATTR_MODE = 1 << 0,	/* permission bits (SITE CHMOD) */
	FTPD_ATTR_MTIME = 1 << 1,	/* MFMT */
	FTPD_ATTR_ATIME = 1 << 2,
	FTPD_ATTR_SIZE = 1 << 3		/* truncate or extend */
};
struct ftpd_attributes {
	size_t struct_size;
	unsigned mask;		/* which of the fields below to set */
	mode_t mode;
	time_t mtime;
	time_t atime;
	uint64_t size;
};

/* Who a session is, for session_start and session_end. Filled by ftpd. */
struct ftpd_session_info {
	size_t struct_size;
	const char *user;		/* as for the config */
	const char *client_address;	/* numeric, "192.0.2.1" or "2001:db8::1" */
	unsigned client_port;
	int tls;			/* 1 when the control connection is protected */
	uint64_t bytes_received;	/* session_end: file bytes uploaded */
	uint64_t bytes_sent;		/* session_end: file bytes downloaded */
};

typedef void (*ftpd_stat_fn)(void *arg, int error, const struct ftpd_stat *stat);
typedef void (*ftpd_open_directory_fn)(void *arg, int error, struct ftpd_directory *directory);
typedef void (*ftpd_open_read_fn)(void *arg, int error, struct ftpd_read_file *file);
typedef void (*ftpd_open_write_fn)(void *arg, int error, struct ftpd_write_file *file);
typedef void (*ftpd_open_file_fn)(void *arg, int error, struct ftpd_file *file);
typedef void (*ftpd_readlink_fn)(void *arg, int error, const char *target);

struct ftpd_shell_ops {
	size_t struct_size;	/* sizeof(struct ftpd_shell_ops) of the shell */

	/* Required. */

	/* Check that path exists and allows the access asked for. */
	void (*access)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    enum ftpd_access access, ftpd_done_fn done, void *arg);
	/* stat, following a final symlink only where it stays inside the root. */
	void (*stat)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    ftpd_stat_fn done, void *arg);
	void (*open_directory)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    ftpd_open_directory_fn done, void *arg);
	void (*make_directory)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    ftpd_done_fn done, void *arg);
	void (*remove_directory)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    ftpd_done_fn done, void *arg);
	/* Removes a file or symlink; a directory is -EISDIR. */
	void (*remove_file)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    ftpd_done_fn done, void *arg);
	void (*rename)(struct ftpd_shell *shell, const struct ftpd_path *from,
	    const struct ftpd_path *to, ftpd_done_fn done, void *arg);
	void (*open_for_reading)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    uint64_t offset, ftpd_open_read_fn done, void *arg);
	void (*open_for_writing)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    enum ftpd_write_mode mode, uint64_t offset, ftpd_open_write_fn done, void *arg);
	/* Frees the shell; called once at logout, after every operation completed. */
	void (*destroy)(struct ftpd_shell *shell);

	/* Optional: NULL means "not supported" (ftpd answers 502 or 504). */

	/* Sets the attributes attributes->mask names (MFMT, SITE CHMOD). */
	void (*chattr)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    const struct ftpd_attributes *attributes, ftpd_done_fn done, void *arg);
	/* stat of the path itself: a symlink is S_IFLNK (MLST, LIST of one link). */
	void (*lstat)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    ftpd_stat_fn done, void *arg);
	/* A symlink's target as stored (LIST of one link shows "name -> target"). */
	void (*readlink)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    ftpd_readlink_fn done, void *arg);
	/*
	 * Creates link pointing at target (SITE SYMLINK). Both are paths in the
	 * shell; the shell stores target in its own form (the fs shell: relative
	 * to link's directory), so the link never names anything outside.
	 */
	void (*symlink)(struct ftpd_shell *shell, const struct ftpd_path *target,
	    const struct ftpd_path *link, ftpd_done_fn done, void *arg);
	/* Opens a file for random access (enum ftpd_open_flags). */
	void (*open_file)(struct ftpd_shell *shell, const struct ftpd_path *path,
	    unsigned flags, ftpd_open_file_fn done, void *arg);
	/*
	 * After create, before the login is answered: done(arg, 0) lets the
	 * session in; -EACCES refuses the login (530), any other error ends
	 * the session (421). The shell is destroyed either way after an error.
	 */
	void (*session_start)(struct ftpd_shell *shell, const struct ftpd_session_info *info,
	    ftpd_done_fn done, void *arg);
	/* At logout or disconnect, before destroy, when session_start let it in. */
	void (*session_end)(struct ftpd_shell *shell, const struct ftpd_session_info *info);
};

/*
 * Whether shell has the optional operation op: ftpd calls FTPD_SHELL_OP only
 * after checking it is not NULL. A module built before op existed has a
 * smaller ops struct, and so does not have it.
 */
#define FTPD_SHELL_OP(shell, op) \
	(FTPD_HAS((shell)->ops, struct ftpd_shell_ops, op) ? (shell)->ops->op : NULL)

/* A shell instance: implementations embed this as their first member. */
struct ftpd_shell {
	const struct ftpd_shell_ops *ops;
};

enum ftpd_log_level {
	FTPD_LOG_ERROR,
	FTPD_LOG_WARNING,
	FTPD_LOG_INFO,
	FTPD_LOG_DEBUG
};

/* A one-shot timer from host->timer_start. */
struct ftpd_timer;

/*
 * What ftpd offers a shell, in place of its event loop: no libevent or
 * OpenSSL type crosses the ABI. Filled by ftpd; valid for the shell's life.
 */
struct ftpd_host {
	size_t struct_size;
	/*
	 * Runs work(arg) on a worker thread, then done(arg) on the event loop.
	 * work must not call ftpd or touch the loop. 0, or -ENOMEM when
	 * nothing will run. When the server stops, queued work still runs.
	 */
	int (*run_blocking)(struct ftpd_host *host, void (*work)(void *arg),
	    void (*done)(void *arg), void *arg);
	/* Calls fire(arg) on the loop after milliseconds; NULL if out of memory. */
	struct ftpd_timer *(*timer_start)(struct ftpd_host *host, unsigned milliseconds,
	    void (*fire)(void *arg), void *arg);
	/* Cancels and frees a timer that has not fired; a fired one is gone already. */
	void (*timer_cancel)(struct ftpd_host *host, struct ftpd_timer *timer);
	/* Writes to ftpd's log, tagged with the session, as printf formats. */
	void (*log)(struct ftpd_host *host, enum ftpd_log_level level, const char *format, ...)
#if defined(__GNUC__)
	    __attribute__((format(printf, 3, 4)))
#endif
	    ;
};

/* What a shell is created with, for one login. Filled by ftpd. */
struct ftpd_shell_config {
	size_t struct_size;
	const char *root;	/* directory the shell serves, or NULL if none is set */
	const char *user;	/* login name ("anonymous" for guests) */
	int read_only;		/* 1: every change must fail with -EROFS */
	/*
	 * The module's options, in the order given: the config's shell_option
	 * lines (for guests, anonymous_shell_option), each "KEY=VALUE".
	 */
	const char *const *options;
	size_t option_count;
	/* NULL: under ftpd -t, where nothing may complete later. */
	struct ftpd_host *host;
	/*
	 * With "login = shell": what the module's authenticate gave for this
	 * login; create takes it over (and frees it on failure). NULL otherwise.
	 */
	void *login;
	/*
	 * 1 (upload_sync = yes, the default): finish makes an upload durable
	 * (fsync) before it reports. 0: the administrator chose speed (the
	 * bytes are in the page cache at 226, as with vsftpd).
	 */
	int sync_uploads;
};

typedef void (*ftpd_authenticated_fn)(void *arg, int error, void *login);

struct ftpd_shell_module {
	unsigned abi_version;	/* FTPD_SHELL_ABI_VERSION: first, in every ABI */
	size_t struct_size;	/* sizeof(struct ftpd_shell_module) */
	const char *name;
	/* 0 and *shell set, or -errno (-EINVAL for an option it does not know). */
	int (*create)(const struct ftpd_shell_config *config, struct ftpd_shell **shell);

	/*
	 * Optional, for "login = shell": the module checks the password itself
	 * (an SMB gateway asks the SMB server), so ftpd keeps no user list.
	 * config is as for create, with login NULL; user and password are valid
	 * only until authenticate returns and must never be logged. done(arg,
	 * 0, login) lets the user in, and login (anything, say an open
	 * connection) reaches create in config->login; -EACCES is a wrong
	 * password (530); other errors say the store cannot be reached (421).
	 */
	void (*authenticate)(const struct ftpd_shell_config *config, const char *user,
	    const char *password, ftpd_authenticated_fn done, void *arg);
	/* Frees a login that will not reach create (the session ended first). */
	void (*release_login)(void *login);
};

#ifdef __cplusplus
}
#endif

#endif /* FTPD_SHELL_H */
