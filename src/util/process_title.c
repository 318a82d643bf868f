/*
 * util/process_title: Linux shows /proc/PID/cmdline, which is the memory
 * argv points into; the environment strings follow it. Moving environ to
 * the heap frees that whole area for a title (as nginx and OpenSSH do).
 */
#include <sys/prctl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/process_title.h"

extern char **environ;

static char *title_start;
static size_t title_size;
/*
 * The environment's copies: environ's entries, then the same pointers again
 * past its NULL, where unsetenv (which only shifts entries before the NULL)
 * never looks, so the strings stay owned even once dropped from environ.
 */
static char **environment_copy;

void
process_title_init(int argc, char **argv)
{
	char *start, *end, **copy;
	size_t count = 0, i;
	int j;

	if (argc < 1 || argv[0] == NULL)
		return;
	end = argv[0] + strlen(argv[0]) + 1;
	for (j = 1; j < argc; j++)
		if (argv[j] == end)
			end = argv[j] + strlen(argv[j]) + 1;
	while (environ[count] != NULL)
		count++;
	copy = calloc(2 * (count + 1), sizeof(*copy));
	if (copy == NULL)
		return;
	for (i = 0; i < count; i++) {
		if (environ[i] == end)
			end = environ[i] + strlen(environ[i]) + 1;
		copy[i] = strdup(environ[i]);
		if (copy[i] == NULL) {
			while (i > 0)
				free(copy[--i]);
			free(copy);
			return;
		}
		copy[count + 1 + i] = copy[i];
	}
	/* The arguments move too: options parsed later point into them. */
	start = argv[0];
	for (j = 0; j < argc; j++) {
		char *argument = strdup(argv[j]);

		if (argument == NULL)
			return;		/* the old area is still in use: no title */
		argv[j] = argument;
	}
	environ = environment_copy = copy;
	title_start = start;
	title_size = (size_t)(end - start);
}

void
process_title_set(const char *role)
{
	char title[256];

	snprintf(title, sizeof(title), "ftpd: %s", role);
	/* The process name (ps -o comm, top) holds 15 characters. */
	prctl(PR_SET_NAME, title, 0, 0, 0);
	if (title_start == NULL || title_size < 2)
		return;
	memset(title_start, 0, title_size);
	strncpy(title_start, title, title_size - 1);
}
