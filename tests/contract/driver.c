/*
 * contract/driver: calls a shell as ftpd does and turns the loop until it has
 * answered, so the cases read as if every operation were synchronous.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "contract.h"
#include "shell/host.h"
#include "shell/registry.h"
#include "util/worker_pool.h"

/* Longer than any shell here takes; a shell that never answers fails the case. */
#define ANSWER_SECONDS 20
#define MAX_SEGMENTS 16

struct contract_fixture contract_fixture;

static struct event_base *base;
static struct worker_pool *workers;
static struct ftpd_host *host;

/* What an operation answered; answered counts its calls (exactly one is right). */
struct outcome {
	int answered;
	int error;
	ssize_t result;
	struct ftpd_stat stat;
	void *object;
	char text[PATH_MAX];
};

static void
wait_for(struct outcome *outcome)
{
	time_t deadline = time(NULL) + ANSWER_SECONDS;

	while (!outcome->answered) {
		ck_assert_msg(time(NULL) < deadline, "the shell did not answer within %d s",
		    ANSWER_SECONDS);
		event_base_loop(base, EVLOOP_ONCE);
	}
	ck_assert_int_eq(outcome->answered, 1);
}

static void
done_error(void *arg, int error)
{
	struct outcome *outcome = arg;

	outcome->answered++;
	outcome->error = error;
}

static void
done_result(void *arg, ssize_t result)
{
	struct outcome *outcome = arg;

	outcome->answered++;
	outcome->result = result;
}

static void
done_stat(void *arg, int error, const struct ftpd_stat *stat)
{
	struct outcome *outcome = arg;

	outcome->answered++;
	outcome->error = error;
	if (error == 0) {
		ck_assert_ptr_nonnull(stat);
		/* Only what the shell's struct holds: an older shell's is smaller. */
		memset(&outcome->stat, 0, sizeof(outcome->stat));
		memcpy(&outcome->stat, stat, stat->struct_size < sizeof(outcome->stat) ?
		    stat->struct_size : sizeof(outcome->stat));
	}
}

static void
done_object(void *arg, int error, void *object)
{
	struct outcome *outcome = arg;

	outcome->answered++;
	outcome->error = error;
	outcome->object = object;
	if (error == 0)
		ck_assert_ptr_nonnull(object);
	else
		ck_assert_ptr_null(object);
}

static void
done_directory(void *arg, int error, struct ftpd_directory *directory)
{
	done_object(arg, error, directory);
}

static void
done_read_file(void *arg, int error, struct ftpd_read_file *file)
{
	done_object(arg, error, file);
}

static void
done_write_file(void *arg, int error, struct ftpd_write_file *file)
{
	done_object(arg, error, file);
}

static void
done_file(void *arg, int error, struct ftpd_file *file)
{
	done_object(arg, error, file);
}

static void
done_text(void *arg, int error, const char *text)
{
	struct outcome *outcome = arg;

	outcome->answered++;
	outcome->error = error;
	if (error == 0)
		snprintf(outcome->text, sizeof(outcome->text), "%s", text);
}

/* "a/b/c" as a path of segments pointing into buffer (edited). "" is the root. */
struct split_path {
	char buffer[PATH_MAX];
	const char *segments[MAX_SEGMENTS];
	struct ftpd_path view;
};

static const struct ftpd_path *
split(struct split_path *split, const char *path)
{
	char *cursor, *slash;

	snprintf(split->buffer, sizeof(split->buffer), "%s", path);
	split->view.segments = split->segments;
	split->view.count = 0;
	for (cursor = split->buffer; *cursor != '\0'; cursor = slash + 1) {
		ck_assert_uint_lt(split->view.count, MAX_SEGMENTS);
		split->segments[split->view.count++] = cursor;
		slash = strchr(cursor, '/');
		if (slash == NULL)
			break;
		*slash = '\0';
	}
	return &split->view;
}

struct ftpd_shell *
contract_shell(int read_only)
{
	struct ftpd_shell_config config = { .struct_size = sizeof(config) };
	struct ftpd_shell *shell = NULL;
	int error;

	if (base == NULL) {
		base = event_base_new();
		workers = worker_pool_new(base, 2);
		host = workers != NULL ? host_new(base, workers) : NULL;
		ck_assert_ptr_nonnull(host);
	}
	config.root = contract_fixture.root;
	config.user = "contract";
	config.read_only = read_only;
	config.options = contract_fixture.options;
	config.option_count = contract_fixture.option_count;
	config.host = host;
	config.sync_uploads = 1;
	error = shell_registry_create(contract_fixture.module, &config, &shell);
	ck_assert_msg(error == 0, "create: %s", strerror(-error));
	return shell;
}

void
contract_shell_free(struct ftpd_shell *shell)
{
	shell->ops->destroy(shell);
	/* Work it left on the loop (an upload's commit) has nothing to call back. */
	event_base_loop(base, EVLOOP_NONBLOCK);
}

int
contract_stat(struct ftpd_shell *shell, const char *path, struct ftpd_stat *stat)
{
	struct outcome outcome = { 0 };
	struct split_path view;

	shell->ops->stat(shell, split(&view, path), done_stat, &outcome);
	wait_for(&outcome);
	if (outcome.error == 0 && stat != NULL)
		*stat = outcome.stat;
	return outcome.error;
}

int
contract_access(struct ftpd_shell *shell, const char *path, enum ftpd_access access)
{
	struct outcome outcome = { 0 };
	struct split_path view;

	shell->ops->access(shell, split(&view, path), access, done_error, &outcome);
	wait_for(&outcome);
	return outcome.error;
}

/* operation: "mkdir", "rmdir", "unlink", "rename" (to other), "symlink" (target other). */
int
contract_change(struct ftpd_shell *shell, const char *operation, const char *path,
    const char *other)
{
	struct outcome outcome = { 0 };
	struct split_path view, other_view;

	if (strcmp(operation, "mkdir") == 0)
		shell->ops->make_directory(shell, split(&view, path), done_error, &outcome);
	else if (strcmp(operation, "rmdir") == 0)
		shell->ops->remove_directory(shell, split(&view, path), done_error, &outcome);
	else if (strcmp(operation, "unlink") == 0)
		shell->ops->remove_file(shell, split(&view, path), done_error, &outcome);
	else if (strcmp(operation, "rename") == 0)
		shell->ops->rename(shell, split(&view, path), split(&other_view, other),
		    done_error, &outcome);
	else if (strcmp(operation, "symlink") == 0)
		shell->ops->symlink(shell, split(&other_view, other), split(&view, path),
		    done_error, &outcome);
	else
		ck_abort_msg("no operation %s", operation);
	wait_for(&outcome);
	return outcome.error;
}

int
contract_open_directory(struct ftpd_shell *shell, const char *path,
    struct ftpd_directory **directory)
{
	struct outcome outcome = { 0 };
	struct split_path view;

	shell->ops->open_directory(shell, split(&view, path), done_directory, &outcome);
	wait_for(&outcome);
	*directory = outcome.object;
	return outcome.error;
}

ssize_t
contract_read_entry(struct ftpd_directory *directory, struct ftpd_directory_entry *entry,
    char *name, size_t name_size)
{
	struct outcome outcome = { 0 };
	ssize_t result;

	memset(entry, 0, sizeof(*entry));
	result = directory->ops->read(directory, entry, done_result, &outcome);
	if (result == FTPD_PENDING) {
		wait_for(&outcome);
		result = outcome.result;
	}
	ck_assert_msg(result >= -4095 && result <= 1, "read entry answered %zd", result);
	if (result == 1) {
		ck_assert_ptr_nonnull(entry->name);
		snprintf(name, name_size, "%s", entry->name);
	}
	return result;
}

int
contract_open_read(struct ftpd_shell *shell, const char *path, uint64_t offset,
    struct ftpd_read_file **file)
{
	struct outcome outcome = { 0 };
	struct split_path view;

	shell->ops->open_for_reading(shell, split(&view, path), offset, done_read_file,
	    &outcome);
	wait_for(&outcome);
	*file = outcome.object;
	return outcome.error;
}

char *
contract_read_all(struct ftpd_read_file *file, size_t *length, int *error)
{
	size_t size = 0, capacity = 4096;
	char *content = malloc(capacity + 1);

	ck_assert_ptr_nonnull(content);
	*error = 0;
	for (;;) {
		struct outcome outcome = { 0 };
		/* Odd sizes, so a shell's own block size never lines up with ours. */
		size_t want = 1000 + size % 7;
		ssize_t got;

		if (capacity - size < want) {
			capacity = capacity * 2 + want;
			content = realloc(content, capacity + 1);
			ck_assert_ptr_nonnull(content);
		}
		got = file->ops->read(file, content + size, want, done_result, &outcome);
		if (got == FTPD_PENDING) {
			wait_for(&outcome);
			got = outcome.result;
		}
		ck_assert_msg(got <= (ssize_t)want, "read %zd bytes into %zu", got, want);
		if (got < 0) {
			*error = (int)got;
			free(content);
			return NULL;
		}
		if (got == 0)
			break;
		size += (size_t)got;
	}
	content[size] = '\0';
	*length = size;
	return content;
}

int
contract_open_write(struct ftpd_shell *shell, const char *path, enum ftpd_write_mode mode,
    uint64_t offset, struct ftpd_write_file **file)
{
	struct outcome outcome = { 0 };
	struct split_path view;

	shell->ops->open_for_writing(shell, split(&view, path), mode, offset, done_write_file,
	    &outcome);
	wait_for(&outcome);
	*file = outcome.object;
	return outcome.error;
}

int
contract_write_all(struct ftpd_write_file *file, const void *data, size_t length)
{
	const char *bytes = data;

	while (length > 0) {
		struct outcome outcome = { 0 };
		ssize_t wrote = file->ops->write(file, bytes, length, done_result, &outcome);

		if (wrote == FTPD_PENDING) {
			wait_for(&outcome);
			wrote = outcome.result;
		}
		if (wrote < 0)
			return (int)wrote;
		ck_assert_msg(wrote > 0 && (size_t)wrote <= length, "wrote %zd of %zu", wrote,
		    length);
		bytes += wrote;
		length -= (size_t)wrote;
	}
	return 0;
}

int
contract_finish(struct ftpd_write_file *file)
{
	struct outcome outcome = { 0 };

	file->ops->finish(file, done_error, &outcome);
	wait_for(&outcome);
	return outcome.error;
}

int
contract_store(struct ftpd_shell *shell, const char *path, enum ftpd_write_mode mode,
    uint64_t offset, const char *data)
{
	struct ftpd_write_file *file;
	int error = contract_open_write(shell, path, mode, offset, &file);

	if (error != 0)
		return error;
	error = contract_write_all(file, data, strlen(data));
	if (error != 0) {
		file->ops->abort(file);
		return error;
	}
	return contract_finish(file);
}

int
contract_readlink(struct ftpd_shell *shell, const char *path, char *target, size_t size)
{
	struct outcome outcome = { 0 };
	struct split_path view;

	shell->ops->readlink(shell, split(&view, path), done_text, &outcome);
	wait_for(&outcome);
	if (outcome.error == 0)
		snprintf(target, size, "%s", outcome.text);
	return outcome.error;
}

int
contract_lstat(struct ftpd_shell *shell, const char *path, struct ftpd_stat *stat)
{
	struct outcome outcome = { 0 };
	struct split_path view;

	shell->ops->lstat(shell, split(&view, path), done_stat, &outcome);
	wait_for(&outcome);
	if (outcome.error == 0 && stat != NULL)
		*stat = outcome.stat;
	return outcome.error;
}

int
contract_chattr(struct ftpd_shell *shell, const char *path,
    const struct ftpd_attributes *attributes)
{
	struct outcome outcome = { 0 };
	struct split_path view;

	shell->ops->chattr(shell, split(&view, path), attributes, done_error, &outcome);
	wait_for(&outcome);
	return outcome.error;
}

int
contract_open_file(struct ftpd_shell *shell, const char *path, unsigned flags,
    struct ftpd_file **file)
{
	struct outcome outcome = { 0 };
	struct split_path view;

	shell->ops->open_file(shell, split(&view, path), flags, done_file, &outcome);
	wait_for(&outcome);
	*file = outcome.object;
	return outcome.error;
}

ssize_t
contract_pread(struct ftpd_file *file, void *buffer, size_t length, uint64_t offset)
{
	struct outcome outcome = { 0 };
	ssize_t result = file->ops->pread(file, buffer, length, offset, done_result, &outcome);

	if (result == FTPD_PENDING) {
		wait_for(&outcome);
		result = outcome.result;
	}
	return result;
}

ssize_t
contract_pwrite(struct ftpd_file *file, const void *buffer, size_t length, uint64_t offset)
{
	struct outcome outcome = { 0 };
	ssize_t result = file->ops->pwrite(file, buffer, length, offset, done_result, &outcome);

	if (result == FTPD_PENDING) {
		wait_for(&outcome);
		result = outcome.result;
	}
	return result;
}

int
contract_close_file(struct ftpd_file *file)
{
	struct outcome outcome = { 0 };

	file->ops->close(file, done_error, &outcome);
	wait_for(&outcome);
	return outcome.error;
}

int
contract_session_start(struct ftpd_shell *shell, const struct ftpd_session_info *info)
{
	struct outcome outcome = { 0 };

	shell->ops->session_start(shell, info, done_error, &outcome);
	wait_for(&outcome);
	return outcome.error;
}

/* Turns the loop for about milliseconds: time for an answer that must not come. */
void
contract_idle(unsigned milliseconds)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 <
	    (long)milliseconds);
}

/* --- the tree from outside --- */

static void
tree_path(char *out, size_t size, const char *path)
{
	ck_assert_ptr_nonnull(contract_fixture.tree);
	snprintf(out, size, "%s/%s", contract_fixture.tree, path);
}

static void
remove_below(const char *directory)
{
	DIR *stream = opendir(directory);
	struct dirent *entry;
	char path[PATH_MAX];

	if (stream == NULL)
		return;
	while ((entry = readdir(stream)) != NULL) {
		struct stat status;

		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", directory, entry->d_name);
		if (lstat(path, &status) == 0 && S_ISDIR(status.st_mode)) {
			chmod(path, 0700);
			remove_below(path);
			rmdir(path);
		} else
			unlink(path);
	}
	closedir(stream);
}

void
tree_clear(void)
{
	remove_below(contract_fixture.tree);
}

void
tree_put(const char *path, const char *content)
{
	char full[PATH_MAX];
	FILE *file;

	tree_path(full, sizeof(full), path);
	file = fopen(full, "wb");
	ck_assert_msg(file != NULL, "cannot create %s", full);
	ck_assert_uint_eq(fwrite(content, 1, strlen(content), file), strlen(content));
	fclose(file);
	/* smbd may run as another user than the cases: let it change the tree. */
	chmod(full, 0666);
}

void
tree_mkdir(const char *path)
{
	char full[PATH_MAX];

	tree_path(full, sizeof(full), path);
	ck_assert_int_eq(mkdir(full, 0777), 0);
	chmod(full, 0777);
}

char *
tree_get(const char *path)
{
	char full[PATH_MAX], *content;
	struct stat status;
	FILE *file;

	tree_path(full, sizeof(full), path);
	if (stat(full, &status) != 0 || !S_ISREG(status.st_mode))
		return NULL;
	file = fopen(full, "rb");
	ck_assert_ptr_nonnull(file);
	content = calloc(1, (size_t)status.st_size + 1);
	ck_assert_ptr_nonnull(content);
	ck_assert_uint_eq(fread(content, 1, (size_t)status.st_size, file),
	    (size_t)status.st_size);
	fclose(file);
	return content;
}

int
tree_type(const char *path)
{
	char full[PATH_MAX];
	struct stat status;

	tree_path(full, sizeof(full), path);
	if (lstat(full, &status) != 0)
		return 0;
	if (S_ISLNK(status.st_mode))
		return 'l';
	return S_ISDIR(status.st_mode) ? 'd' : 'f';
}
