/*
 * portal/checkers/passwd: checks a name and password against the passwd_file
 * ("name:hash[:home]" lines, crypt(3) hashes), reading it in a worker thread.
 */
#include <crypt.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "portal/checkers/checkers.h"
#include "portal/checkers/crypt_check.h"
#include "util/attributes.h"
#include "portal/checkers/worker.h"

/* Longest line of the password file; a longer one is skipped as malformed. */
#define PASSWD_LINE_MAX 4096

/* Stands in when the file has no entry to borrow a setting from. */
#define PASSWD_DEFAULT_SCHEME "$y$"

/* What a check reads besides the credentials; every check gets its own copy. */
struct passwd_settings {
	char path[PATH_MAX];
	/* A setting of the default scheme, so a file without entries still costs one crypt. */
	char fallback_setting[CRYPT_GENSALT_OUTPUT_SIZE];
};

struct checker_passwd {
	struct checker base;
	struct worker_pool *workers;
	struct passwd_settings settings;
};

/* The parts of one line, pointing into the line buffer. */
struct passwd_entry {
	const char *name;
	const char *hash;
	const char *home;	/* NULL when the line gives none */
};

enum line_kind { LINE_ENTRY, LINE_IGNORED, LINE_MALFORMED };


/* Splits line in place. */
static enum line_kind
parse_line(char *line, struct passwd_entry *entry)
{
	char *hash, *home;

	line[strcspn(line, "\r\n")] = '\0';
	line += strspn(line, " \t");
	if (line[0] == '\0' || line[0] == '#')
		return LINE_IGNORED;

	hash = strchr(line, ':');
	if (hash == NULL)
		return LINE_MALFORMED;
	*hash++ = '\0';
	home = strchr(hash, ':');
	if (home != NULL)
		*home++ = '\0';

	if (!checker_user_name_is_valid(line) || hash[0] == '\0' ||
	    strlen(hash) >= CRYPT_OUTPUT_SIZE)
		return LINE_MALFORMED;
	/* A relative home would depend on the server's working directory. */
	if (home != NULL && home[0] != '\0' && home[0] != '/')
		return LINE_MALFORMED;

	entry->name = line;
	entry->hash = hash;
	entry->home = home != NULL && home[0] != '\0' ? home : NULL;
	return LINE_ENTRY;
}

/* Discards the rest of a line too long for the buffer. */
static void
skip_rest_of_line(FILE *file)
{
	int character;

	while ((character = getc(file)) != EOF && character != '\n')
		continue;
}

/*
 * Scans the whole file (stopping at the match would make the time depend on
 * the user's position in it). Fills hash and *home for the first entry of
 * user, and dummy with the first entry's hash as a same-cost stand-in.
 * Returns 1 when found, 0 when not, -errno when the file cannot be read.
 */
static int
find_user(const char *path, const char *user, char hash[CRYPT_OUTPUT_SIZE],
    char **home, char dummy[CRYPT_OUTPUT_SIZE])
{
	char line[PASSWD_LINE_MAX];
	struct passwd_entry entry;
	unsigned line_number = 0;
	size_t length;
	int found = 0, error = 0, have_dummy = 0;
	FILE *file;

	error = checker_worker_open_file("passwd_file", path, &file);
	if (error != 0)
		return error;
	while (fgets(line, sizeof(line), file) != NULL) {
		line_number++;
		length = strlen(line);
		if (length == sizeof(line) - 1 && line[length - 1] != '\n') {
			skip_rest_of_line(file);
			log_warning("passwd_file %s:%u: line too long, skipped", path, line_number);
			continue;
		}
		switch (parse_line(line, &entry)) {
		case LINE_IGNORED:
			continue;
		case LINE_MALFORMED:
			/* The line itself is not logged: it may hold a hash. */
			log_warning("passwd_file %s:%u: not name:hash[:home], skipped",
			    path, line_number);
			continue;
		case LINE_ENTRY:
			break;
		}
		if (!have_dummy) {
			/* A locked first entry still names the scheme and cost after its marker. */
			const char *setting = entry.hash + strspn(entry.hash, "!*");

			if (setting[0] != '\0') {
				strcpy(dummy, setting);
				have_dummy = 1;
			}
		}
		if (!found && strcmp(entry.name, user) == 0) {
			strcpy(hash, entry.hash);
			if (entry.home != NULL) {
				*home = strdup(entry.home);
				if (*home == NULL)
					error = -ENOMEM;
			}
			found = 1;
		}
	}
	if (ferror(file)) {
		log_error("passwd_file %s: read error", path);
		error = -EIO;
	}
	fclose(file);
	explicit_bzero(line, sizeof(line));
	if (error != 0) {
		free(*home);
		*home = NULL;
		return error;
	}
	return found;
}

/* Worker thread: the blocking part of a login. */
static void
passwd_check_work(struct checker_work *work, const void *checker_settings)
{
	const struct passwd_settings *settings = checker_settings;
	char hash[CRYPT_OUTPUT_SIZE], dummy[CRYPT_OUTPUT_SIZE];
	const char *setting;
	char *home = NULL;
	int found, match;

	hash[0] = dummy[0] = '\0';
	found = find_user(settings->path, work->user, hash, &home, dummy);
	if (found < 0) {
		work->error = -EACCES;
		goto out;
	}
	if (dummy[0] == '\0')
		strcpy(dummy, settings->fallback_setting);
	/*
	 * Exactly one crypt per attempt, against the user's hash or a stand-in
	 * of the same cost, so an unknown or locked name takes as long as a
	 * real one.
	 */
	setting = found && !crypt_hash_is_locked(hash) ? hash : dummy;
	match = crypt_check(work->password, setting, found && setting == hash ? hash : NULL);
	if (match < 0) {
		work->error = match;
		goto out;
	}
	if (match)
		work->error = avatar_id_new(work->user, home, 0, &work->id);
	else
		work->error = -EACCES;
out:
	explicit_bzero(hash, sizeof(hash));
	free(home);
}

static struct checker_request *
passwd_check(struct checker *checker, const char *user, const char *password,
    const struct sockaddr *peer UNUSED,
    checker_done_fn done, void *arg)
{
	struct checker_passwd *passwd = (struct checker_passwd *)checker;

	return checker_worker_submit(passwd->workers, user, password, &passwd->settings,
	    sizeof(passwd->settings), passwd_check_work, done, arg);
}

static const struct checker_ops passwd_ops = {
	.check = passwd_check,
	.cancel = checker_worker_cancel,
};

struct checker *
checker_passwd_new(const struct config *config, struct worker_pool *workers)
{
	struct checker_passwd *passwd;

	if (config->passwd_file == NULL)
		return NULL;
	if (strlen(config->passwd_file) >= sizeof(passwd->settings.path)) {
		log_error("passwd_file %s: %s", config->passwd_file, strerror(ENAMETOOLONG));
		return NULL;
	}
	passwd = calloc(1, sizeof(*passwd));
	if (passwd == NULL)
		return NULL;
	passwd->base.ops = &passwd_ops;
	passwd->workers = workers;
	strcpy(passwd->settings.path, config->passwd_file);
	if (crypt_gensalt_rn(PASSWD_DEFAULT_SCHEME, 0, NULL, 0,
	    passwd->settings.fallback_setting, sizeof(passwd->settings.fallback_setting)) == NULL) {
		log_error("passwd_file: crypt_gensalt_rn(%s) failed", PASSWD_DEFAULT_SCHEME);
		free(passwd);
		return NULL;
	}
	return &passwd->base;
}
