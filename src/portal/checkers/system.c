/*
 * portal/checkers/system: checks a name and password of a system account through PAM
 * (service "ftpd") in a worker thread, and gathers the identity its session takes.
 */
#include <crypt.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "log/log.h"
#include "portal/checkers/checkers.h"
#include "portal/checkers/worker.h"
#include "util/attributes.h"

/* The PAM service, so /etc/pam.d/ftpd decides how system users authenticate. */
#define SYSTEM_PAM_SERVICE "ftpd"

/* The hash scheme Debian gives passwords (yescrypt): what an unknown name costs. */
#define SYSTEM_DEFAULT_HASH_SCHEME "$y$"

/* What login(1) runs for an account whose passwd entry names no shell. */
#define SYSTEM_DEFAULT_SHELL "/bin/sh"

/* Buffer for getpwnam_r when sysconf gives no hint, and the most it may grow to. */
#define PASSWD_BUFFER_DEFAULT (16 * 1024)
#define PASSWD_BUFFER_MAX (1024 * 1024)

/* The shells file lists paths; a longer line cannot name one. */
#define SHELLS_LINE_MAX (PATH_MAX + 2)

/* Accounts whose login shell is not listed here do not log in (nologin, false). */
static const char *shells_path = "/etc/shells";

struct checker_system {
	struct checker base;
	struct worker_pool *workers;
};

/* What a check reads besides the credentials; every check gets its own copy. */
struct system_settings {
	const char *shells_path;	/* outlives checks: see checker_system_set_shells_file */
};

void checker_system_set_shells_file(const char *path);

/*
 * Exists for the unit tests, which cannot edit /etc/shells: the file later
 * checks read. path must outlive them; checks already started keep the old one.
 */
void
checker_system_set_shells_file(const char *path)
{
	shells_path = path;
}

static void
free_responses(struct pam_response *responses, int count)
{
	int i;

	for (i = 0; i < count; i++) {
		if (responses[i].resp != NULL) {
			explicit_bzero(responses[i].resp, strlen(responses[i].resp));
			free(responses[i].resp);
		}
	}
	free(responses);
}

/*
 * PAM asks for the password (whatever its prompt says: a client gives only
 * one); informational messages have no one to go to.
 */
static int
system_conversation(int count, const struct pam_message **messages,
    struct pam_response **responses_out, void *context)
{
	struct checker_work *work = context;
	struct pam_response *responses;
	int i;

	*responses_out = NULL;
	if (count <= 0 || count > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	/* PAM frees the array and every answer in it. */
	responses = calloc((size_t)count, sizeof(*responses));
	if (responses == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < count; i++) {
		switch (messages[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			responses[i].resp = strdup(work->password);
			if (responses[i].resp == NULL) {
				free_responses(responses, count);
				return PAM_BUF_ERR;
			}
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			break;
		default:
			free_responses(responses, count);
			return PAM_CONV_ERR;
		}
	}
	*responses_out = responses;
	return PAM_SUCCESS;
}

/*
 * Replaces PAM's sleep after a failure: the session delays its reply itself
 * (login_failure_delay), without holding a worker thread that other logins need.
 */
static void
system_no_fail_delay(int status UNUSED, unsigned microseconds UNUSED, void *context UNUSED)
{
}

/* 0 when PAM accepts the password and the account, else -EACCES or -ENOMEM. */
static int
system_pam_check(struct checker_work *work)
{
	const struct pam_conv conversation = { system_conversation, work };
	pam_handle_t *handle = NULL;
	int status;

	status = pam_start(SYSTEM_PAM_SERVICE, work->user, &conversation, &handle);
	if (status == PAM_SUCCESS)
		status = pam_set_item(handle, PAM_TTY, "ftp");
	if (status == PAM_SUCCESS)
		status = pam_set_item(handle, PAM_FAIL_DELAY, (const void *)system_no_fail_delay);
	if (status == PAM_SUCCESS)
		status = pam_authenticate(handle, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	/* Expired and locked accounts fail here if authentication let them through. */
	if (status == PAM_SUCCESS)
		status = pam_acct_mgmt(handle, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (status != PAM_SUCCESS)
		log_info("login %s: PAM: %s", work->user, pam_strerror(handle, status));
	if (handle != NULL)
		pam_end(handle, status);
	explicit_bzero(work->password, sizeof(work->password));

	if (status == PAM_SUCCESS)
		return 0;
	return status == PAM_BUF_ERR ? -ENOMEM : -EACCES;
}

/* 1 when path is a line of the shells file, 0 when not, -errno when unreadable. */
static int
shell_is_listed(const char *shells_file, const char *path)
{
	char line[SHELLS_LINE_MAX];
	char *start, *end;
	size_t length;
	int listed = 0, character, error;
	FILE *file;

	error = checker_worker_open_file("shells file", shells_file, &file);
	if (error != 0)
		return error;
	while (!listed && fgets(line, sizeof(line), file) != NULL) {
		length = strlen(line);
		if (length == sizeof(line) - 1 && line[length - 1] != '\n') {
			/* Too long to name a shell: skip the rest of it. */
			while ((character = getc(file)) != EOF && character != '\n')
				continue;
			continue;
		}
		line[strcspn(line, "#")] = '\0';
		start = line + strspn(line, " \t");
		end = start + strlen(start);
		while (end > start && (end[-1] == ' ' || end[-1] == '\t' ||
		    end[-1] == '\n' || end[-1] == '\r'))
			end--;
		*end = '\0';
		if (start[0] != '\0' && strcmp(start, path) == 0)
			listed = 1;
	}
	if (!listed && ferror(file)) {
		log_error("shells file %s: read error", shells_file);
		fclose(file);
		return -EIO;
	}
	fclose(file);
	return listed;
}

/*
 * The passwd entry of name, in a buffer of its own (*buffer, freed by the
 * caller). 0 with *entry set, -ENOENT when there is no such account, or -errno.
 */
static int
look_up_account(const char *name, struct passwd *storage, char **buffer,
    struct passwd **entry)
{
	long suggested = sysconf(_SC_GETPW_R_SIZE_MAX);
	size_t size = suggested > 0 && suggested <= PASSWD_BUFFER_MAX ?
	    (size_t)suggested : PASSWD_BUFFER_DEFAULT;
	char *grown;
	int error;

	*buffer = NULL;
	for (;;) {
		grown = realloc(*buffer, size);
		if (grown == NULL)
			return -ENOMEM;
		*buffer = grown;
		error = getpwnam_r(name, storage, *buffer, size, entry);
		if (error != ERANGE)
			break;
		if (size >= PASSWD_BUFFER_MAX) {
			log_error("login %s: passwd entry larger than %d bytes", name,
			    PASSWD_BUFFER_MAX);
			return -ERANGE;
		}
		size = size * 2 > PASSWD_BUFFER_MAX ? PASSWD_BUFFER_MAX : size * 2;
	}
	if (error != 0) {
		log_error("login %s: getpwnam_r: %s", name, strerror(error));
		return -error;
	}
	return *entry != NULL ? 0 : -ENOENT;
}

/* Fills the account's groups; 0, or -EACCES when they do not all fit. */
static int
collect_groups(const char *name, struct system_account *account)
{
	int count = CHECKER_GROUPS_MAX, i;

	if (getgrouplist(name, account->gid, account->groups, &count) < 0) {
		/* Dropping some would make the session differ from the account unseen. */
		log_warning("login %s: member of %d groups, more than the %d supported: refused",
		    name, count, CHECKER_GROUPS_MAX);
		return -EACCES;
	}
	account->group_count = count;
	for (i = 0; i < count; i++) {
		if (account->groups[i] == account->gid)
			return 0;
	}
	/* getgrouplist puts the primary group first; keep that promise if it did not. */
	if (count >= CHECKER_GROUPS_MAX) {
		log_warning("login %s: no room for the primary group among %d groups: refused",
		    name, count);
		return -EACCES;
	}
	memmove(account->groups + 1, account->groups, (size_t)count * sizeof(gid_t));
	account->groups[0] = account->gid;
	account->group_count = count + 1;
	return 0;
}

/*
 * After PAM: whether the account may use FTP at all, and who it is. Fills
 * work->id, or returns -EACCES or -ENOMEM.
 */
static int
system_account_check(struct checker_work *work, const char *shells_file)
{
	struct system_account *account;
	struct passwd storage, *entry;
	const char *shell;
	char *buffer;
	int error, listed;

	error = look_up_account(work->user, &storage, &buffer, &entry);
	if (error == -ENOENT) {
		log_info("login %s: PAM accepted it but there is no such account", work->user);
		error = -EACCES;
		goto out;
	}
	if (error != 0) {
		if (error != -ENOMEM)
			error = -EACCES;
		goto out;
	}
	if (entry->pw_uid == 0) {
		log_info("login %s: uid 0 never logs in over FTP", work->user);
		error = -EACCES;
		goto out;
	}
	/* A relative home would depend on the server's working directory. */
	if (entry->pw_dir == NULL || entry->pw_dir[0] != '/') {
		log_info("login %s: home is not an absolute path", work->user);
		error = -EACCES;
		goto out;
	}
	shell = entry->pw_shell != NULL && entry->pw_shell[0] != '\0' ?
	    entry->pw_shell : SYSTEM_DEFAULT_SHELL;
	listed = shell_is_listed(shells_file, shell);
	if (listed <= 0) {
		if (listed == 0)
			log_info("login %s: shell %s is not in %s", work->user, shell,
			    shells_file);
		error = -EACCES;
		goto out;
	}

	account = calloc(1, sizeof(*account));
	if (account == NULL) {
		error = -ENOMEM;
		goto out;
	}
	account->uid = entry->pw_uid;
	account->gid = entry->pw_gid;
	error = collect_groups(work->user, account);
	if (error == 0)
		error = avatar_id_new(work->user, entry->pw_dir, 0, &work->id);
	if (error != 0) {
		free(account);
		goto out;
	}
	work->id->account = account;
out:
	free(buffer);
	return error;
}

/*
 * How long PAM takes for an existing account, learned from real checks
 * (microseconds, a moving average; 0 until the first one). Shared by the
 * worker threads, hence atomic.
 */
static long typical_pam_microseconds;

/* The most hashes an unknown name may cost, whatever the average says. */
#define UNKNOWN_NAME_HASHES_MAX 16

static long
microseconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - start->tv_sec) * 1000000 +
	    (now.tv_nsec - start->tv_nsec) / 1000;
}

static void
learn_pam_time(long microseconds)
{
	long typical = __atomic_load_n(&typical_pam_microseconds, __ATOMIC_RELAXED);

	/* Races between threads lose a sample at worst. */
	typical = typical == 0 ? microseconds : (typical * 7 + microseconds) / 8;
	__atomic_store_n(&typical_pam_microseconds, typical, __ATOMIC_RELAXED);
}

/*
 * pam_unix answers for an unknown name at once, but spends a password hash
 * and more on a real one: spend hashes here for as long as PAM typically
 * takes on a real account, so timing does not tell which names are accounts.
 */
static void
spend_like_pam(const char *password)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	long target = __atomic_load_n(&typical_pam_microseconds, __ATOMIC_RELAXED);
	struct crypt_data *state;
	struct timespec start;
	long elapsed;
	int hashes = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	state = calloc(1, sizeof(*state));
	if (state == NULL)
		return;
	if (crypt_gensalt_rn(SYSTEM_DEFAULT_HASH_SCHEME, 0, NULL, 0, setting,
	    sizeof(setting)) != NULL) {
		/* Stop where one more hash would overshoot more than stopping falls short. */
		do {
			crypt_rn(password, setting, state, sizeof(*state));
			elapsed = microseconds_since(&start);
			hashes++;
		} while (hashes < UNKNOWN_NAME_HASHES_MAX &&
		    elapsed + elapsed / hashes / 2 < target);
	}
	explicit_bzero(state, sizeof(*state));
	free(state);
}

/* Worker thread: the blocking part of a login. */
static void
system_check_work(struct checker_work *work, const void *checker_settings)
{
	const struct system_settings *settings = checker_settings;
	struct passwd storage, *entry;
	struct timespec start;
	char *buffer;
	int found;

	found = look_up_account(work->user, &storage, &buffer, &entry);
	free(buffer);
	if (found == -ENOENT) {
		log_info("login %s: no such account", work->user);
		spend_like_pam(work->password);
		work->error = -EACCES;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	work->error = system_pam_check(work);
	learn_pam_time(microseconds_since(&start));
	if (work->error == 0)
		work->error = system_account_check(work, settings->shells_path);
}

static struct checker_request *
system_check(struct checker *checker, const char *user, const char *password,
    const struct sockaddr *peer UNUSED,
    checker_done_fn done, void *arg)
{
	struct checker_system *system = (struct checker_system *)checker;
	const struct system_settings settings = { .shells_path = shells_path };

	return checker_worker_submit(system->workers, user, password, &settings,
	    sizeof(settings), system_check_work, done, arg);
}

static const struct checker_ops system_ops = {
	.check = system_check,
	.cancel = checker_worker_cancel,
};

struct checker *
checker_system_new(struct worker_pool *workers)
{
	struct checker_system *system;

	system = calloc(1, sizeof(*system));
	if (system == NULL) {
		log_error("system_users: out of memory");
		return NULL;
	}
	system->base.ops = &system_ops;
	system->workers = workers;
	return &system->base;
}
