/*
 * example: a tutorial shell module for ftpd, walked through in ftpd-shell(3).
 *
 * It serves a small read-only tree that exists only in memory, computed on
 * demand:
 *
 *	/README.txt		a few lines about this shell
 *	/numbers/		a directory of COUNT files
 *	/numbers/N.txt		"N squared is N*N" (N from 1 to COUNT)
 *	/pattern.bin		SIZE bytes of a repeating pattern (for REST tests)
 *
 * Options, from shell_option (or anonymous_shell_option) lines:
 *	count=COUNT	files in /numbers (default 10, at most 100000)
 *	size=SIZE	bytes in /pattern.bin (default 1048576)
 * Any other option makes create() fail with -EINVAL, so a typo shows up in
 * "ftpd -t" instead of being ignored.
 *
 * Build it against the installed header, and load it:
 *	cc -shared -fPIC $(pkg-config --cflags ftpd-shell) example.c -o example.so
 *	cp example.so "$(pkg-config --variable=shelldir ftpd-shell)"/
 *	ftpd.conf:	anonymous_shell = example
 *			anonymous_shell_option = count=25
 *
 * Everything here answers at once: each operation calls its done callback
 * before it returns, which the ABI allows. A shell in front of a network
 * store would instead return FTPD_PENDING from reads (or answer the other
 * operations later) and call done from the event loop, through the host's
 * run_blocking or timer_start; the places where it would are marked "LATER".
 */
/* S_IFDIR and S_IFREG are POSIX (XSI), not ISO C: ask for them. */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <ftpd/shell.h>

#define DEFAULT_COUNT 10
#define MAX_COUNT 100000
#define DEFAULT_SIZE (1024 * 1024)

static const char readme[] =
    "This tree is computed in memory by the example shell module.\n"
    "numbers/ holds one small file per number; pattern.bin is a pattern\n"
    "of bytes as long as the size= option says.\n";

/*
 * The shell: ftpd only ever sees the struct ftpd_shell at its start, and
 * hands that pointer back to every operation, so the rest is ours.
 */
struct example_shell {
	struct ftpd_shell base;		/* first member: ftpd's view of us */
	unsigned long count;
	uint64_t size;
	time_t created;			/* every entry's modification time */
	struct ftpd_host *host;		/* NULL under ftpd -t */
};

/* What a path names in the tree. */
enum node_kind { NODE_NONE, NODE_ROOT, NODE_README, NODE_NUMBERS, NODE_NUMBER, NODE_PATTERN };

struct node {
	enum node_kind kind;
	unsigned long number;		/* NODE_NUMBER: which one */
};

static struct example_shell *
example_of(struct ftpd_shell *shell)
{
	return (struct example_shell *)shell;
}

/* "N.txt" with N in 1..count, written the one way we write it (no "07.txt"). */
static int
parse_number_name(const struct example_shell *shell, const char *name, unsigned long *number)
{
	char canonical[32];
	char *end;
	unsigned long value;

	if (name[0] < '1' || name[0] > '9')
		return 0;
	value = strtoul(name, &end, 10);
	if (strcmp(end, ".txt") != 0 || value == 0 || value > shell->count)
		return 0;
	snprintf(canonical, sizeof(canonical), "%lu.txt", value);
	if (strcmp(canonical, name) != 0)
		return 0;
	*number = value;
	return 1;
}

/*
 * Paths come as segments ftpd has already normalised: never "", "." or
 * "..", never a '/' inside one; the empty list is the root. A shell over a
 * real store must still make sure nothing resolves outside its root.
 */
static struct node
lookup(const struct example_shell *shell, const struct ftpd_path *path)
{
	struct node node = { NODE_NONE, 0 };

	if (path->count == 0)
		node.kind = NODE_ROOT;
	else if (path->count == 1 && strcmp(path->segments[0], "README.txt") == 0)
		node.kind = NODE_README;
	else if (path->count == 1 && strcmp(path->segments[0], "numbers") == 0)
		node.kind = NODE_NUMBERS;
	else if (path->count == 1 && strcmp(path->segments[0], "pattern.bin") == 0)
		node.kind = NODE_PATTERN;
	else if (path->count == 2 && strcmp(path->segments[0], "numbers") == 0 &&
	    parse_number_name(shell, path->segments[1], &node.number))
		node.kind = NODE_NUMBER;
	return node;
}

/* The text of numbers/N.txt; its length. */
static size_t
number_text(unsigned long number, char *out, size_t size)
{
	int length = snprintf(out, size, "%lu squared is %llu\n", number,
	    (unsigned long long)number * number);

	return length > 0 ? (size_t)length : 0;
}

/* Byte i of pattern.bin: not all alike, so an offset error shows. */
static unsigned char
pattern_byte(uint64_t i)
{
	return (unsigned char)((i * 31 + i / 256) & 0xff);
}

static int
is_directory(enum node_kind kind)
{
	return kind == NODE_ROOT || kind == NODE_NUMBERS;
}

static uint64_t
node_size(const struct example_shell *shell, struct node node)
{
	char text[64];

	switch (node.kind) {
	case NODE_README:
		return sizeof(readme) - 1;
	case NODE_NUMBER:
		return number_text(node.number, text, sizeof(text));
	case NODE_PATTERN:
		return shell->size;
	default:
		return 0;
	}
}

/*
 * Fills what listings show. struct_size says which fields we know: ftpd
 * reads no field past it, so a module built against an older header still
 * works with a newer ftpd. perm answers MLSD's "perm" fact: read-only, so
 * no a, c, d, f, m, p or w, and a client is never promised a change.
 */
static void
fill_stat(const struct example_shell *shell, struct node node, struct ftpd_stat *stat)
{
	memset(stat, 0, sizeof(*stat));
	stat->struct_size = sizeof(*stat);
	stat->mode = is_directory(node.kind) ? S_IFDIR | 0555 : S_IFREG | 0444;
	stat->size = node_size(shell, node);
	stat->mtime = shell->created;
	stat->nlink = is_directory(node.kind) ? 2 : 1;
	stat->inode = (uint64_t)node.kind << 32 | node.number;
	strcpy(stat->owner, "example");
	strcpy(stat->group, "example");
	stat->perm = FTPD_PERM_KNOWN | (is_directory(node.kind) ?
	    FTPD_PERM_ENTER | FTPD_PERM_LIST : FTPD_PERM_READ);
}

/* A path below a file is "not a directory", as on a disk. */
static int
under_a_file(const struct example_shell *shell, const struct ftpd_path *path)
{
	struct ftpd_path first = { path->segments, 1 };
	enum node_kind kind;

	if (path->count < 2)
		return 0;
	kind = lookup(shell, &first).kind;
	return kind == NODE_README || kind == NODE_PATTERN;
}

/* --- the required operations --- */

/* Every operation calls done exactly once; here, always before returning. */
static void
example_access(struct ftpd_shell *base, const struct ftpd_path *path,
    enum ftpd_access access, ftpd_done_fn done, void *arg)
{
	struct node node = lookup(example_of(base), path);

	if (node.kind == NODE_NONE)
		done(arg, -ENOENT);
	else if ((access & FTPD_ACCESS_ENTER) && !is_directory(node.kind))
		done(arg, -ENOTDIR);	/* CWD to a file: 550 */
	else
		done(arg, 0);
}

static void
example_stat(struct ftpd_shell *base, const struct ftpd_path *path, ftpd_stat_fn done,
    void *arg)
{
	struct example_shell *shell = example_of(base);
	struct node node = lookup(shell, path);
	struct ftpd_stat stat;

	if (node.kind == NODE_NONE) {
		done(arg, under_a_file(shell, path) ? -ENOTDIR : -ENOENT, NULL);
		return;
	}
	fill_stat(shell, node, &stat);
	done(arg, 0, &stat);	/* ftpd copies what it needs before done returns */
}

/*
 * A directory being listed: ftpd pulls entries one at a time, so a huge
 * directory is never held whole, here or in ftpd.
 */
struct example_directory {
	struct ftpd_directory base;	/* first member */
	struct example_shell *shell;
	enum node_kind kind;		/* NODE_ROOT or NODE_NUMBERS */
	unsigned long next;		/* index of the next entry */
	char name[32];			/* the entry handed out last */
};

static const enum node_kind root_entries[] = { NODE_README, NODE_NUMBERS, NODE_PATTERN };
static const char *const root_names[] = { "README.txt", "numbers", "pattern.bin" };

static ssize_t
directory_read(struct ftpd_directory *base, struct ftpd_directory_entry *entry,
    ftpd_result_fn done, void *arg)
{
	struct example_directory *directory = (struct example_directory *)base;
	struct node node = { NODE_NONE, 0 };

	/* LATER: a network store would return FTPD_PENDING and call done(arg, 1). */
	(void)done;
	(void)arg;
	if (directory->kind == NODE_ROOT) {
		if (directory->next >= sizeof(root_entries) / sizeof(root_entries[0]))
			return 0;	/* the end: no more entries */
		node.kind = root_entries[directory->next];
		snprintf(directory->name, sizeof(directory->name), "%s",
		    root_names[directory->next]);
	} else {
		if (directory->next >= directory->shell->count)
			return 0;
		node.kind = NODE_NUMBER;
		node.number = directory->next + 1;
		snprintf(directory->name, sizeof(directory->name), "%lu.txt", node.number);
	}
	directory->next++;
	/* The entry, and the name it points to, stay valid until the next read. */
	entry->struct_size = sizeof(*entry);
	entry->name = directory->name;
	entry->has_stat = 1;
	fill_stat(directory->shell, node, &entry->stat);
	entry->link_target = NULL;	/* no symlinks in this tree */
	return 1;
}

static void
directory_close(struct ftpd_directory *directory)
{
	/* A pending read would be cancelled here: its done must never run. */
	free(directory);
}

static const struct ftpd_directory_ops directory_ops = {
	.struct_size = sizeof(struct ftpd_directory_ops),
	.read = directory_read,
	.close = directory_close,
};

static void
example_open_directory(struct ftpd_shell *base, const struct ftpd_path *path,
    ftpd_open_directory_fn done, void *arg)
{
	struct example_shell *shell = example_of(base);
	struct node node = lookup(shell, path);
	struct example_directory *directory;

	if (node.kind == NODE_NONE) {
		done(arg, -ENOENT, NULL);
		return;
	}
	if (!is_directory(node.kind)) {
		done(arg, -ENOTDIR, NULL);
		return;
	}
	directory = calloc(1, sizeof(*directory));
	if (directory == NULL) {
		done(arg, -ENOMEM, NULL);	/* 451 */
		return;
	}
	directory->base.ops = &directory_ops;
	directory->shell = shell;
	directory->kind = node.kind;
	done(arg, 0, &directory->base);
}

/*
 * A file being downloaded. fd is -1: there is no descriptor ftpd could
 * sendfile() from, so it pulls the bytes through read() as the client's
 * connection drains.
 */
struct example_read_file {
	struct ftpd_read_file base;	/* first member */
	struct example_shell *shell;
	struct node node;
	uint64_t position;		/* next byte to hand out */
};

static ssize_t
read_file_read(struct ftpd_read_file *base, void *buffer, size_t length,
    ftpd_result_fn done, void *arg)
{
	struct example_read_file *file = (struct example_read_file *)base;
	uint64_t size = file->base.size, i;
	unsigned char *out = buffer;
	char text[64];

	/* LATER: a network store would fetch into its own memory on a worker
	 * thread (host->run_blocking), copy into buffer on the loop and call
	 * done(arg, bytes); buffer stays valid for it until then. */
	(void)done;
	(void)arg;
	if (file->position >= size)
		return 0;	/* end of file */
	if (length > size - file->position)
		length = (size_t)(size - file->position);
	switch (file->node.kind) {
	case NODE_README:
		memcpy(out, readme + file->position, length);
		break;
	case NODE_NUMBER:
		number_text(file->node.number, text, sizeof(text));
		memcpy(out, text + file->position, length);
		break;
	default:
		for (i = 0; i < length; i++)
			out[i] = pattern_byte(file->position + i);
		break;
	}
	file->position += length;
	return (ssize_t)length;
}

static void
read_file_close(struct ftpd_read_file *file)
{
	free(file);
}

static const struct ftpd_read_file_ops read_file_ops = {
	.struct_size = sizeof(struct ftpd_read_file_ops),
	.read = read_file_read,
	.close = read_file_close,
};

/* offset is REST's: the download starts there. */
static void
example_open_for_reading(struct ftpd_shell *base, const struct ftpd_path *path,
    uint64_t offset, ftpd_open_read_fn done, void *arg)
{
	struct example_shell *shell = example_of(base);
	struct node node = lookup(shell, path);
	struct example_read_file *file;

	if (node.kind == NODE_NONE) {
		done(arg, -ENOENT, NULL);	/* 550 */
		return;
	}
	if (is_directory(node.kind)) {
		done(arg, -EISDIR, NULL);
		return;
	}
	file = calloc(1, sizeof(*file));
	if (file == NULL) {
		done(arg, -ENOMEM, NULL);
		return;
	}
	file->base.struct_size = sizeof(file->base);
	file->base.ops = &read_file_ops;
	file->base.fd = -1;
	file->base.size = node_size(shell, node);
	file->shell = shell;
	file->node = node;
	file->position = offset;
	done(arg, 0, &file->base);
}

/*
 * Changes: this tree is read-only, so each answers -EROFS, which ftpd
 * replies to with 550 ("this share is read-only").
 */
static void
example_refuse(struct ftpd_shell *shell, const struct ftpd_path *path, ftpd_done_fn done,
    void *arg)
{
	(void)shell;
	(void)path;
	done(arg, -EROFS);
}

static void
example_rename(struct ftpd_shell *shell, const struct ftpd_path *from,
    const struct ftpd_path *to, ftpd_done_fn done, void *arg)
{
	(void)to;
	example_refuse(shell, from, done, arg);
}

static void
example_open_for_writing(struct ftpd_shell *shell, const struct ftpd_path *path,
    enum ftpd_write_mode mode, uint64_t offset, ftpd_open_write_fn done, void *arg)
{
	(void)shell;
	(void)path;
	(void)mode;
	(void)offset;
	done(arg, -EROFS, NULL);
}

/* At logout, after every operation has completed: free everything. */
static void
example_destroy(struct ftpd_shell *base)
{
	free(example_of(base));
}

/*
 * The operations. struct_size first: ftpd calls an optional operation only
 * when our struct is big enough to have it (FTPD_SHELL_OP) and it is not
 * NULL. This shell leaves every optional one out: MFMT and SITE CHMOD
 * answer 502, LIST shows no links.
 */
static const struct ftpd_shell_ops example_ops = {
	.struct_size = sizeof(struct ftpd_shell_ops),
	.access = example_access,
	.stat = example_stat,
	.open_directory = example_open_directory,
	.make_directory = example_refuse,
	.remove_directory = example_refuse,
	.remove_file = example_refuse,
	.rename = example_rename,
	.open_for_reading = example_open_for_reading,
	.open_for_writing = example_open_for_writing,
	.destroy = example_destroy,
};

/* A decimal number up to max: 1 and *number, or 0 when value is not one. */
static int
parse_number(const char *value, uint64_t max, uint64_t *number)
{
	char *end;

	if (value[0] < '0' || value[0] > '9')
		return 0;
	errno = 0;
	*number = strtoull(value, &end, 10);
	return *end == '\0' && errno == 0 && *number <= max;
}

/*
 * Called once per login. config and everything it points to is valid only
 * during the call: copy what you keep. root is unused here (the tree is not
 * on a disk); read_only is always 1 for guests, and this shell is read-only
 * anyway. host is NULL when "ftpd -t" checks the module: create must then
 * not start anything that completes later.
 */
static int
example_create(const struct ftpd_shell_config *config, struct ftpd_shell **result)
{
	struct example_shell *shell = calloc(1, sizeof(*shell));
	size_t i;

	if (shell == NULL)
		return -ENOMEM;
	shell->count = DEFAULT_COUNT;
	shell->size = DEFAULT_SIZE;
	for (i = 0; i < config->option_count; i++) {
		const char *option = config->options[i];
		uint64_t number;

		if (strncmp(option, "count=", 6) == 0 &&
		    parse_number(option + 6, MAX_COUNT, &number) && number > 0) {
			shell->count = (unsigned long)number;
			continue;
		}
		if (strncmp(option, "size=", 5) == 0 &&
		    parse_number(option + 5, UINT64_MAX, &shell->size))
			continue;
		if (config->host != NULL)
			config->host->log(config->host, FTPD_LOG_ERROR,
			    "example shell: unknown or bad option \"%s\"", option);
		free(shell);
		return -EINVAL;
	}
	shell->base.ops = &example_ops;
	shell->created = time(NULL);
	shell->host = config->host;
	*result = &shell->base;
	return 0;
}

/*
 * The one symbol ftpd looks for. abi_version first, in every ABI: a module
 * built for another ABI is refused with a message saying so.
 */
const struct ftpd_shell_module ftpd_shell_module = {
	.abi_version = FTPD_SHELL_ABI_VERSION,
	.struct_size = sizeof(struct ftpd_shell_module),
	.name = "example",
	.create = example_create,
};
