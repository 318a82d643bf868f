/*
 * fuzz/config: the config file parser and -o overrides (src/config):
 * config_load_file on the input written to a file, then
 * config_apply_override for each NUL-separated piece after it.
 *
 * Whatever was accepted, config_print must write a valid ftpd.conf: read
 * back, it gives the same configuration, printed the same.
 *
 * The input is written to a temporary directory that holds an included.conf
 * for include lines to find. Inputs whose include lines name a path with a
 * slash or ".." are skipped, and so are overrides that include (they would
 * be read from the current directory): the fuzzer reads only the files it
 * was given (a device or a FIFO elsewhere could block it; that is the
 * administrator's doing, not input to harden against).
 */
#include <sys/stat.h>

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OVERRIDES_MAX 16

static char directory[4096];
static char input_file[sizeof(directory) + 32];
static char printed_file[sizeof(directory) + 32];
static char included_file[sizeof(directory) + 32];

static void
fail(const char *what)
{
	fprintf(stderr, "config: %s\n", what);
	abort();
}

static void
write_file(const char *name, const void *content, size_t length)
{
	FILE *file;

	/* A new file each time: truncating one costs a journal wait on some filesystems. */
	unlink(name);
	file = fopen(name, "we");
	if (file == NULL || fwrite(content, 1, length, file) != length || fclose(file) != 0)
		fail("cannot write a file in the temporary directory");
}

static int
remove_entry(const char *path, const struct stat *status, int type, struct FTW *ftw)
{
	(void)status;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

static void
remove_directory(void)
{
	nftw(directory, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char included[] =
	    "# read where an input says include = included.conf\n"
	    "banner = \"  from an included file  \"\n"
	    "listen = 127.0.0.1:2122\n"
	    "listen = [::1]:2122\n";
	const char *temporary = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(directory, sizeof(directory), "%s/ftpd-fuzz-config.XXXXXX",
	    temporary != NULL && temporary[0] != '\0' ? temporary : "/tmp");
	if (mkdtemp(directory) == NULL)
		fail("cannot create the temporary directory");
	atexit(remove_directory);
	snprintf(input_file, sizeof(input_file), "%s/ftpd.conf", directory);
	snprintf(printed_file, sizeof(printed_file), "%s/printed.conf", directory);
	snprintf(included_file, sizeof(included_file), "%s/included.conf", directory);
	write_file(included_file, included, sizeof(included) - 1);
	return 0;
}

/* A line whose include could reach beyond the temporary directory. */
static int
includes_elsewhere(const char *line, size_t length)
{
	return memmem(line, length, "include", 7) != NULL &&
	    (memchr(line, '/', length) != NULL || memmem(line, length, "..", 2) != NULL);
}

static int
reaches_elsewhere(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data, *end = line + size;

	while (line < end) {
		const char *stop = line;

		while (stop < end && *stop != '\n' && *stop != '\0')
			stop++;
		if (includes_elsewhere(line, (size_t)(stop - line)))
			return 1;
		line = stop + 1;
	}
	return 0;
}

/* config_print's text, malloc'd. */
static char *
print_config(const struct config *config, size_t *length)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, length);

	if (out == NULL)
		fail("open_memstream");
	config_print(config, out);
	if (fclose(out) != 0 || text == NULL)
		fail("out of memory");
	return text;
}

/* What config_print wrote must read back to itself. */
static void
check_printed(const struct config *config)
{
	struct config again;
	char error[CONFIG_ERROR_SIZE], *printed, *reprinted;
	size_t length, relength;

	printed = print_config(config, &length);
	write_file(printed_file, printed, length);
	if (config_init(&again) != 0)
		fail("config_init");
	if (config_load_file(&again, printed_file, error) != 0) {
		fprintf(stderr, "config: %s\n", error);
		fail("config_print wrote a file that does not load");
	}
	reprinted = print_config(&again, &relength);
	if (length != relength || memcmp(printed, reprinted, length) != 0)
		fail("config_print's file loads as another configuration");
	free(printed);
	free(reprinted);
	config_free(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config config;
	char error[CONFIG_ERROR_SIZE];
	const uint8_t *end = data + size, *file_end, *piece;
	char *override;
	unsigned overrides = 0;
	int result;

	if (reaches_elsewhere(data, size))
		return 0;
	file_end = memchr(data, '\0', size);
	if (file_end == NULL)
		file_end = end;
	write_file(input_file, data, (size_t)(file_end - data));

	if (config_init(&config) != 0)
		fail("config_init");
	error[0] = '\0';
	result = config_load_file(&config, input_file, error);
	if (result > 0 || (result < 0 && error[0] == '\0'))
		fail("config_load_file failed without saying why");
	for (piece = file_end + 1; piece < end && overrides < OVERRIDES_MAX; overrides++) {
		const uint8_t *piece_end = memchr(piece, '\0', (size_t)(end - piece));
		size_t length;

		if (piece_end == NULL)
			piece_end = end;
		length = (size_t)(piece_end - piece);
		if (memmem(piece, length, "include", 7) != NULL) {
			piece = piece_end + 1;
			continue;
		}
		if ((override = malloc(length + 1)) == NULL)
			fail("out of memory");
		memcpy(override, piece, length);
		override[length] = '\0';
		error[0] = '\0';
		result = config_apply_override(&config, override, error);
		if (result > 0 || (result < 0 && error[0] == '\0'))
			fail("config_apply_override failed without saying why");
		free(override);
		piece = piece_end + 1;
	}
	/* A failed line changes nothing, so what was read so far is a configuration too. */
	check_printed(&config);
	config_free(&config);
	return 0;
}
