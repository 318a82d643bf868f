/*
 * driver: exercises smb.so without ftpd, with a host of its own (two worker
 * threads and a loop on the main thread). Not built by make; by hand:
 *
 *	cc -Iinclude shells/smb/test/driver.c -o driver -ldl -lpthread
 *	./driver ./smb.so smb://127.0.0.1:PORT/SHARE USER PASSWORD
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <ftpd/shell.h>

struct item {
	struct item *next;
	void (*work)(void *);
	void (*done)(void *);
	void *arg;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER, done_ready = PTHREAD_COND_INITIALIZER;
static struct item *work_head, *done_head;

static void
push(struct item **head, struct item *item)
{
	struct item **p = head;

	while (*p != NULL)
		p = &(*p)->next;
	item->next = NULL;
	*p = item;
}

static void *
worker(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&lock);
	for (;;) {
		struct item *item;

		while (work_head == NULL)
			pthread_cond_wait(&work_ready, &lock);
		item = work_head;
		work_head = item->next;
		pthread_mutex_unlock(&lock);
		item->work(item->arg);
		pthread_mutex_lock(&lock);
		push(&done_head, item);
		pthread_cond_signal(&done_ready);
	}
	return NULL;
}

static void
nothing(void *arg)
{
	(void)arg;
}

static int
run_blocking(struct ftpd_host *host, void (*work)(void *), void (*done)(void *), void *arg)
{
	struct item *item = calloc(1, sizeof(*item));

	(void)host;
	item->work = work;
	item->done = done;
	item->arg = arg;
	pthread_mutex_lock(&lock);
	push(&work_head, item);
	pthread_cond_signal(&work_ready);
	pthread_mutex_unlock(&lock);
	return 0;
}

static struct ftpd_timer *
timer_start(struct ftpd_host *host, unsigned ms, void (*fire)(void *), void *arg)
{
	struct item *item = calloc(1, sizeof(*item));

	(void)host;
	(void)ms;
	item->work = nothing;
	item->done = fire;
	item->arg = arg;
	pthread_mutex_lock(&lock);
	push(&done_head, item);
	pthread_cond_signal(&done_ready);
	pthread_mutex_unlock(&lock);
	return (struct ftpd_timer *)item;
}

static void
timer_cancel(struct ftpd_host *host, struct ftpd_timer *timer)
{
	(void)host;
	(void)timer;
}

static void
host_log(struct ftpd_host *host, enum ftpd_log_level level, const char *format, ...)
{
	va_list ap;

	(void)host;
	fprintf(stderr, "log %d: ", (int)level);
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static struct ftpd_host host = {
	.struct_size = sizeof(struct ftpd_host),
	.run_blocking = run_blocking,
	.timer_start = timer_start,
	.timer_cancel = timer_cancel,
	.log = host_log,
};

/* Runs completions until *flag is set. */
static void
loop_until(int *flag)
{
	while (!*flag) {
		struct item *item;

		pthread_mutex_lock(&lock);
		while (done_head == NULL)
			pthread_cond_wait(&done_ready, &lock);
		item = done_head;
		done_head = item->next;
		pthread_mutex_unlock(&lock);
		item->done(item->arg);
		free(item);
	}
}

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %d: ", __LINE__); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

struct result {
	int finished;
	int error;
	ssize_t n;
	void *object;
	struct ftpd_stat stat;
};

static void
on_done(void *arg, int error)
{
	struct result *r = arg;

	r->error = error;
	r->finished = 1;
}

static void
on_object(void *arg, int error, void *object)
{
	struct result *r = arg;

	r->error = error;
	r->object = object;
	r->finished = 1;
}

static void
on_stat(void *arg, int error, const struct ftpd_stat *stat)
{
	struct result *r = arg;

	r->error = error;
	if (stat != NULL)
		r->stat = *stat;
	r->finished = 1;
}

static void
on_result(void *arg, ssize_t n)
{
	struct result *r = arg;

	r->n = n;
	r->finished = 1;
}

static struct ftpd_path
path_of(const char *a, const char *b)
{
	static const char *segments[2];
	struct ftpd_path path = { segments, 0 };

	if (a != NULL)
		segments[path.count++] = a;
	if (b != NULL)
		segments[path.count++] = b;
	return path;
}

static int
op_done(struct ftpd_shell *shell, int which, const char *a, const char *b)
{
	struct result r = { 0 };
	struct ftpd_path path = path_of(a, b);

	switch (which) {
	case 0: shell->ops->make_directory(shell, &path, on_done, &r); break;
	case 1: shell->ops->remove_directory(shell, &path, on_done, &r); break;
	case 2: shell->ops->remove_file(shell, &path, on_done, &r); break;
	case 3: shell->ops->access(shell, &path, FTPD_ACCESS_ENTER, on_done, &r); break;
	}
	loop_until(&r.finished);
	return r.error;
}

static struct result
do_stat(struct ftpd_shell *shell, const char *a, const char *b)
{
	struct result r = { 0 };
	struct ftpd_path path = path_of(a, b);

	shell->ops->stat(shell, &path, on_stat, &r);
	loop_until(&r.finished);
	return r;
}

static int
upload(struct ftpd_shell *shell, const char *a, const char *b, enum ftpd_write_mode mode,
    uint64_t offset, const unsigned char *data, size_t length, int abort_it)
{
	struct result r = { 0 };
	struct ftpd_path path = path_of(a, b);
	struct ftpd_write_file *file;
	size_t at = 0;

	shell->ops->open_for_writing(shell, &path, mode, offset, (ftpd_open_write_fn)on_object, &r);
	loop_until(&r.finished);
	if (r.error != 0)
		return r.error;
	file = r.object;
	while (at < length) {
		size_t piece = length - at < 65536 ? length - at : 65536;
		ssize_t n;

		r.finished = 0;
		n = file->ops->write(file, data + at, piece, on_result, &r);
		if (n == FTPD_PENDING) {
			loop_until(&r.finished);
			n = r.n;
		}
		if (n < 0) {
			file->ops->abort(file);
			return (int)n;
		}
		at += (size_t)n;
	}
	if (abort_it) {
		file->ops->abort(file);
		return 0;
	}
	r.finished = 0;
	file->ops->finish(file, on_done, &r);
	loop_until(&r.finished);
	return r.error;
}

static ssize_t
download(struct ftpd_shell *shell, const char *a, const char *b, uint64_t offset,
    unsigned char *out, size_t capacity, size_t stop_after)
{
	struct result r = { 0 };
	struct ftpd_path path = path_of(a, b);
	struct ftpd_read_file *file;
	size_t at = 0;

	shell->ops->open_for_reading(shell, &path, offset, (ftpd_open_read_fn)on_object, &r);
	loop_until(&r.finished);
	if (r.error != 0)
		return r.error;
	file = r.object;
	CHECK(file->fd == -1, "read fd %d", file->fd);
	for (;;) {
		ssize_t n;

		r.finished = 0;
		n = file->ops->read(file, out + at, capacity - at < 50000 ? capacity - at : 50000,
		    on_result, &r);
		if (n == FTPD_PENDING) {
			if (stop_after > 0 && at >= stop_after) {
				/* Close while a read is pending: it must never complete. */
				file->ops->close(file);
				return (ssize_t)at;
			}
			loop_until(&r.finished);
			n = r.n;
		}
		if (n <= 0) {
			file->ops->close(file);
			return n < 0 ? n : (ssize_t)at;
		}
		at += (size_t)n;
		if (at == capacity) {
			file->ops->close(file);
			return (ssize_t)at;
		}
	}
}

static int
list(struct ftpd_shell *shell, const char *a, char *names, size_t size)
{
	struct result r = { 0 };
	struct ftpd_path path = path_of(a, NULL);
	struct ftpd_directory *directory;
	int count = 0;

	names[0] = '\0';
	shell->ops->open_directory(shell, &path, (ftpd_open_directory_fn)on_object, &r);
	loop_until(&r.finished);
	if (r.error != 0)
		return r.error;
	directory = r.object;
	for (;;) {
		struct ftpd_directory_entry entry;
		ssize_t n;

		memset(&entry, 0, sizeof(entry));
		r.finished = 0;
		n = directory->ops->read(directory, &entry, on_result, &r);
		if (n == FTPD_PENDING) {
			loop_until(&r.finished);
			n = r.n;
		}
		if (n <= 0)
			break;
		snprintf(names + strlen(names), size - strlen(names), "%s%s:%o:%llu:%x ",
		    "", entry.name, (unsigned)entry.stat.mode,
		    (unsigned long long)entry.stat.size, entry.stat.perm);
		count++;
	}
	directory->ops->close(directory);
	return count;
}

int
main(int argc, char **argv)
{
	const struct ftpd_shell_module *module;
	char url[512], names[4096];
	const char *options[3];
	struct ftpd_shell_config config = { .struct_size = sizeof(config) };
	struct ftpd_shell *shell = NULL;
	struct result r = { 0 };
	pthread_t threads[2];
	unsigned char *data, *back;
	size_t big = 5 * 1024 * 1024 + 12345, i;
	void *handle;
	ssize_t n;
	int error;

	if (argc != 5) {
		fprintf(stderr, "usage: driver smb.so URL USER PASSWORD\n");
		return 2;
	}
	handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		fprintf(stderr, "%s\n", dlerror());
		return 2;
	}
	module = dlsym(handle, FTPD_SHELL_MODULE_SYMBOL);
	for (i = 0; i < 2; i++)
		pthread_create(&threads[i], NULL, worker, NULL);
	snprintf(url, sizeof(url), "url=%s", argv[2]);
	options[0] = url;
	config.options = options;
	config.option_count = 1;
	config.user = argv[3];

	/* ftpd -t: no host, nothing connects. */
	error = module->create(&config, &shell);
	CHECK(error == 0, "create without host: %d", error);
	shell->ops->destroy(shell);
	options[0] = "url=ftp://x/y";
	CHECK(module->create(&config, &shell) == -EINVAL, "bad url accepted");
	options[0] = url;

	config.host = &host;
	module->authenticate(&config, argv[3], "wrong", (ftpd_authenticated_fn)on_object, &r);
	loop_until(&r.finished);
	CHECK(r.error == -EACCES && r.object == NULL, "wrong password: %d", r.error);

	memset(&r, 0, sizeof(r));
	module->authenticate(&config, argv[3], argv[4], (ftpd_authenticated_fn)on_object, &r);
	loop_until(&r.finished);
	CHECK(r.error == 0 && r.object != NULL, "authenticate: %d", r.error);
	config.login = r.object;
	error = module->create(&config, &shell);
	CHECK(error == 0, "create: %d", error);

	op_done(shell, 2, "t.bin", NULL);
	op_done(shell, 2, "d", "x.bin");
	op_done(shell, 1, "d", NULL);
	CHECK(op_done(shell, 0, "d", NULL) == 0, "mkdir");
	CHECK(op_done(shell, 0, "d", NULL) == -EEXIST, "mkdir twice");
	CHECK(op_done(shell, 3, "d", NULL) == 0, "access d");
	CHECK(op_done(shell, 3, "nothere", NULL) == -ENOENT, "access nothere");

	data = malloc(big);
	back = malloc(big + 2000);
	for (i = 0; i < big; i++)
		data[i] = (unsigned char)(i * 7 + i / 1000);
	error = upload(shell, "d", "x.bin", FTPD_WRITE_REPLACE, 0, data, big, 0);
	CHECK(error == 0, "upload: %d", error);
	r = do_stat(shell, "d", "x.bin");
	CHECK(r.error == 0 && r.stat.size == big && S_ISREG(r.stat.mode), "stat x.bin %d %llu %o",
	    r.error, (unsigned long long)r.stat.size, (unsigned)r.stat.mode);
	CHECK(op_done(shell, 3, "d", "x.bin") == -ENOTDIR, "access enter file");
	n = download(shell, "d", "x.bin", 0, back, big + 2000, 0);
	CHECK(n == (ssize_t)big && memcmp(back, data, big) == 0, "download %zd", n);
	n = download(shell, "d", "x.bin", 1000000, back, big + 2000, 0);
	CHECK(n == (ssize_t)big - 1000000 && memcmp(back, data + 1000000, big - 1000000) == 0,
	    "download at offset %zd", n);
	n = download(shell, "d", "x.bin", 0, back, big + 2000, 100000);
	CHECK(n > 0, "close mid-read %zd", n);
	/* A failed (aborted) replace keeps the old file. */
	error = upload(shell, "d", "x.bin", FTPD_WRITE_REPLACE, 0, data, 3000000, 1);
	r = do_stat(shell, "d", "x.bin");
	CHECK(r.error == 0 && r.stat.size == big, "after abort %llu", (unsigned long long)r.stat.size);
	error = upload(shell, "d", "x.bin", FTPD_WRITE_APPEND, 0, data, 1000, 0);
	r = do_stat(shell, "d", "x.bin");
	CHECK(error == 0 && r.stat.size == big + 1000, "append %d %llu", error,
	    (unsigned long long)r.stat.size);
	error = upload(shell, "d", "x.bin", FTPD_WRITE_APPEND, 0, data, 2000000, 1);
	r = do_stat(shell, "d", "x.bin");
	CHECK(r.stat.size == big + 1000, "aborted append cut back %llu",
	    (unsigned long long)r.stat.size);
	error = upload(shell, "d", "x.bin", FTPD_WRITE_AT_OFFSET, 10, data, 5, 0);
	n = download(shell, "d", "x.bin", 0, back, big + 2000, 0);
	CHECK(error == 0 && n == (ssize_t)big + 1000 && memcmp(back + 10, data, 5) == 0 &&
	    memcmp(back, data, 10) == 0, "at offset %d %zd", error, n);
	CHECK(upload(shell, "d", "x.bin", FTPD_WRITE_UNIQUE, 0, data, 5, 0) == -EEXIST, "unique");
	CHECK(upload(shell, "d", "u.bin", FTPD_WRITE_UNIQUE, 0, data, 5, 0) == 0, "unique new");
	CHECK(upload(shell, "d", NULL, FTPD_WRITE_REPLACE, 0, data, 5, 0) == -EISDIR, "dir");
	error = list(shell, "d", names, sizeof(names));
	printf("list d: %d %s\n", error, names);
	CHECK(error == 2, "list d %d", error);
	{
		struct ftpd_path from = path_of("d", "u.bin");
		const char *to_segments[2] = { "d", "v% x.bin" };
		struct ftpd_path to = { to_segments, 2 };

		memset(&r, 0, sizeof(r));
		shell->ops->rename(shell, &from, &to, on_done, &r);
		loop_until(&r.finished);
		CHECK(r.error == 0, "rename %d", r.error);
	}
	r = do_stat(shell, "d", "v% x.bin");
	CHECK(r.error == 0 && r.stat.size == 5, "renamed %d", r.error);
	{
		struct ftpd_path path = path_of("d", "v% x.bin");
		struct ftpd_attributes attributes = { .struct_size = sizeof(attributes),
		    .mask = FTPD_ATTR_MTIME, .mtime = 1000000000 };

		memset(&r, 0, sizeof(r));
		shell->ops->chattr(shell, &path, &attributes, on_done, &r);
		loop_until(&r.finished);
		CHECK(r.error == 0, "chattr %d", r.error);
		r = do_stat(shell, "d", "v% x.bin");
		CHECK(r.stat.mtime == 1000000000, "mtime %lld", (long long)r.stat.mtime);
	}
	CHECK(op_done(shell, 1, "d", NULL) == -ENOTEMPTY, "rmdir non-empty %d",
	    op_done(shell, 1, "d", NULL));
	CHECK(op_done(shell, 2, "d", NULL) == -EISDIR, "unlink dir %d", op_done(shell, 2, "d", NULL));
	CHECK(op_done(shell, 2, "d", "x.bin") == 0, "unlink");
	CHECK(op_done(shell, 2, "d", "v% x.bin") == 0, "unlink 2");
	CHECK(op_done(shell, 1, "d", NULL) == 0, "rmdir");
	r = do_stat(shell, "d", NULL);
	CHECK(r.error == -ENOENT, "stat removed %d", r.error);
	if (getenv("DRIVER_BIG") != NULL) {
		/* 100 MiB up and down, timed. */
		size_t size = 100u << 20;
		unsigned char *up = malloc(size), *down = malloc(size + 1);
		struct timespec t0, t1, t2;

		for (i = 0; i < size; i++)
			up[i] = (unsigned char)(i * 131 + (i >> 12));
		clock_gettime(CLOCK_MONOTONIC, &t0);
		error = upload(shell, "big.bin", NULL, FTPD_WRITE_REPLACE, 0, up, size, 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		n = download(shell, "big.bin", NULL, 0, down, size + 1, 0);
		clock_gettime(CLOCK_MONOTONIC, &t2);
		CHECK(error == 0 && n == (ssize_t)size && memcmp(up, down, size) == 0, "big %d %zd",
		    error, n);
		printf("100 MiB: write %.2f s, read %.2f s\n",
		    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		    (double)(t2.tv_sec - t1.tv_sec) + (double)(t2.tv_nsec - t1.tv_nsec) / 1e9);
		op_done(shell, 2, "big.bin", NULL);
		free(up);
		free(down);
	}
	if (getenv("DRIVER_WAIT") != NULL) {
		fprintf(stderr, "stop the server now, then press enter\n");
		getchar();
		r = do_stat(shell, NULL, NULL);
		printf("stat after server gone: %d\n", r.error);
		r = do_stat(shell, NULL, NULL);
		printf("stat again: %d\n", r.error);
	}
	shell->ops->destroy(shell);
	{
		/* let the final job run */
		struct timespec t = { 0, 300000000 };

		nanosleep(&t, NULL);
		pthread_mutex_lock(&lock);
		while (done_head != NULL) {
			struct item *item = done_head;

			done_head = item->next;
			pthread_mutex_unlock(&lock);
			item->done(item->arg);
			free(item);
			pthread_mutex_lock(&lock);
		}
		pthread_mutex_unlock(&lock);
	}
	printf("%s: %d failures\n", argv[0], failures);
	return failures != 0;
}
