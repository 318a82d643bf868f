/*
 * hello: a read-only shell module test_shell_loading.py builds at test time.
 * It serves two files from memory: hello.txt (the greeting= option, or a
 * default) and options.txt (the shell_option lines as ftpd passed them, joined
 * by newlines).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <ftpd/shell.h>

#define FILE_COUNT 2

static const char *const file_names[FILE_COUNT] = { "hello.txt", "options.txt" };

struct hello_shell {
	struct ftpd_shell base;		/* first member */
	char *contents[FILE_COUNT];
	time_t started;
};

struct hello_file {
	struct ftpd_read_file base;	/* first member */
	const char *content;
	size_t position;
};

struct hello_directory {
	struct ftpd_directory base;	/* first member */
	struct hello_shell *shell;
	int next;
	struct ftpd_stat stat;
};

/* The file path names: its index, or -1 (the root, or no such file). */
static int
file_index(const struct ftpd_path *path)
{
	int i;

	if (path->count != 1)
		return -1;
	for (i = 0; i < FILE_COUNT; i++)
		if (strcmp(path->segments[0], file_names[i]) == 0)
			return i;
	return -1;
}

static int
exists(const struct ftpd_path *path)
{
	return path->count == 0 || file_index(path) >= 0;
}

static void
fill_stat(const struct hello_shell *shell, int index, struct ftpd_stat *stat)
{
	memset(stat, 0, sizeof(*stat));
	stat->struct_size = sizeof(*stat);
	/* Read-only: listings must not promise a change. */
	stat->perm = FTPD_PERM_KNOWN | (index < 0 ? FTPD_PERM_ENTER | FTPD_PERM_LIST :
	    FTPD_PERM_READ);
	stat->mode = index < 0 ? S_IFDIR | 0555 : S_IFREG | 0444;
	stat->size = index < 0 ? 0 : strlen(shell->contents[index]);
	stat->mtime = shell->started;
	stat->nlink = 1;
	stat->inode = (uint64_t)(index + 2);
}

static void
hello_access(struct ftpd_shell *shell, const struct ftpd_path *path,
    enum ftpd_access access, ftpd_done_fn done, void *arg)
{
	(void)shell;
	if (!exists(path))
		done(arg, -ENOENT);
	else
		done(arg, path->count > 0 && access == FTPD_ACCESS_ENTER ? -ENOTDIR : 0);
}

static void
hello_stat(struct ftpd_shell *shell, const struct ftpd_path *path, ftpd_stat_fn done,
    void *arg)
{
	struct ftpd_stat stat;

	if (!exists(path)) {
		done(arg, -ENOENT, NULL);
		return;
	}
	fill_stat((struct hello_shell *)shell, file_index(path), &stat);
	done(arg, 0, &stat);
}

static ssize_t
directory_read(struct ftpd_directory *base, struct ftpd_directory_entry *entry,
    ftpd_result_fn done, void *arg)
{
	struct hello_directory *directory = (struct hello_directory *)base;

	(void)done;
	(void)arg;
	if (directory->next >= FILE_COUNT)
		return 0;
	fill_stat(directory->shell, directory->next, &directory->stat);
	entry->struct_size = sizeof(*entry);
	entry->name = file_names[directory->next++];
	entry->has_stat = 1;
	entry->stat = directory->stat;
	return 1;
}

static void
directory_close(struct ftpd_directory *directory)
{
	free(directory);
}

static const struct ftpd_directory_ops directory_ops = {
	sizeof(struct ftpd_directory_ops), directory_read, directory_close
};

static void
hello_open_directory(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_open_directory_fn done, void *arg)
{
	struct hello_directory *directory;

	if (path->count > 0) {
		done(arg, exists(path) ? -ENOTDIR : -ENOENT, NULL);
		return;
	}
	if ((directory = calloc(1, sizeof(*directory))) == NULL) {
		done(arg, -ENOMEM, NULL);
		return;
	}
	directory->base.ops = &directory_ops;
	directory->shell = (struct hello_shell *)shell;
	done(arg, 0, &directory->base);
}

static ssize_t
file_read(struct ftpd_read_file *base, void *buffer, size_t length, ftpd_result_fn done,
    void *arg)
{
	struct hello_file *file = (struct hello_file *)base;
	size_t left = strlen(file->content) - file->position;

	(void)done;
	(void)arg;

	if (length > left)
		length = left;
	memcpy(buffer, file->content + file->position, length);
	file->position += length;
	return (ssize_t)length;
}

static void
file_close(struct ftpd_read_file *file)
{
	free(file);
}

static const struct ftpd_read_file_ops file_ops = {
	sizeof(struct ftpd_read_file_ops), file_read, file_close
};

static void
hello_open_for_reading(struct ftpd_shell *base, const struct ftpd_path *path,
    uint64_t offset, ftpd_open_read_fn done, void *arg)
{
	struct hello_shell *shell = (struct hello_shell *)base;
	int index = file_index(path);
	struct hello_file *file;

	if (index < 0) {
		done(arg, path->count == 0 ? -EISDIR : -ENOENT, NULL);
		return;
	}
	if ((file = calloc(1, sizeof(*file))) == NULL) {
		done(arg, -ENOMEM, NULL);
		return;
	}
	file->base.struct_size = sizeof(file->base);
	file->base.ops = &file_ops;
	file->base.fd = -1;
	file->base.size = strlen(shell->contents[index]);
	file->content = shell->contents[index];
	file->position = offset < file->base.size ? (size_t)offset : (size_t)file->base.size;
	done(arg, 0, &file->base);
}

static void
hello_refuse(struct ftpd_shell *shell, const struct ftpd_path *path, ftpd_done_fn done,
    void *arg)
{
	(void)shell;
	(void)path;
	done(arg, -EROFS);
}

static void
hello_rename(struct ftpd_shell *shell, const struct ftpd_path *from,
    const struct ftpd_path *to, ftpd_done_fn done, void *arg)
{
	(void)shell;
	(void)from;
	(void)to;
	done(arg, -EROFS);
}

static void
hello_open_for_writing(struct ftpd_shell *shell, const struct ftpd_path *path,
    enum ftpd_write_mode mode, uint64_t offset, ftpd_open_write_fn done, void *arg)
{
	(void)shell;
	(void)path;
	(void)mode;
	(void)offset;
	done(arg, -EROFS, NULL);
}

static void
hello_destroy(struct ftpd_shell *base)
{
	struct hello_shell *shell = (struct hello_shell *)base;
	int i;

	for (i = 0; i < FILE_COUNT; i++)
		free(shell->contents[i]);
	free(shell);
}

static const struct ftpd_shell_ops hello_ops = {
	.struct_size = sizeof(struct ftpd_shell_ops),
	.access = hello_access,
	.stat = hello_stat,
	.open_directory = hello_open_directory,
	.make_directory = hello_refuse,
	.remove_directory = hello_refuse,
	.remove_file = hello_refuse,
	.rename = hello_rename,
	.open_for_reading = hello_open_for_reading,
	.open_for_writing = hello_open_for_writing,
	.destroy = hello_destroy,
};

/* The greeting= option, with a newline, or a default. */
static char *
greeting(const struct ftpd_shell_config *config)
{
	size_t i, length;
	char *text;

	for (i = 0; i < config->option_count; i++) {
		if (strncmp(config->options[i], "greeting=", 9) != 0)
			continue;
		length = strlen(config->options[i] + 9);
		if ((text = malloc(length + 2)) != NULL) {
			memcpy(text, config->options[i] + 9, length);
			strcpy(text + length, "\n");
		}
		return text;
	}
	return strdup("hello from a module\n");
}

/* Every option line, joined by newlines, or "(none)". */
static char *
joined_options(const struct ftpd_shell_config *config)
{
	size_t i, length = 1;
	char *text;

	if (config->option_count == 0)
		return strdup("(none)");
	for (i = 0; i < config->option_count; i++)
		length += strlen(config->options[i]) + 1;
	if ((text = malloc(length)) == NULL)
		return NULL;
	text[0] = '\0';
	for (i = 0; i < config->option_count; i++) {
		if (i > 0)
			strcat(text, "\n");
		strcat(text, config->options[i]);
	}
	return text;
}

static int
hello_create(const struct ftpd_shell_config *config, struct ftpd_shell **result)
{
	struct hello_shell *shell = calloc(1, sizeof(*shell));

	if (shell == NULL)
		return -ENOMEM;
	shell->base.ops = &hello_ops;
	shell->started = time(NULL);
	shell->contents[0] = greeting(config);
	shell->contents[1] = joined_options(config);
	if (shell->contents[0] == NULL || shell->contents[1] == NULL) {
		hello_destroy(&shell->base);
		return -ENOMEM;
	}
	*result = &shell->base;
	return 0;
}

const struct ftpd_shell_module ftpd_shell_module = {
	.abi_version = FTPD_SHELL_ABI_VERSION,
	.struct_size = sizeof(struct ftpd_shell_module),
	.name = "hello",
	.create = hello_create,
};
