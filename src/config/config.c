/*
 * config: every setting ftpd has, its default, and the parser for ftpd.conf and -o overrides.
 * One table of keys drives parsing, defaults, error messages and config_print.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "config/config.h"
#include "log/log.h"

/* Longer lines are refused rather than silently cut. */
#define CONFIG_LINE_MAX 4096
_Static_assert(CONFIG_VALUE_MAX + sizeof("anonymous_shell_option = \"\"") <= CONFIG_LINE_MAX,
    "config_print's line for the longest value under the longest key must fit in a line");
/* How deep include may nest: deeper is taken for a loop. */
#define CONFIG_INCLUDE_DEPTH_MAX 8
/*
 * Size suffixes are powers of 1024, as in lftp, curl's --limit-rate and
 * ls -h: 1M is 1048576 bytes. The largest size is 1048576G (1 PiB).
 */
#define SIZE_UNIT 1024
#define SIZE_MAXIMUM ((uint64_t)1 << 50)
/* How much of a bad value an error message quotes. */
#define QUOTED_VALUE_SIZE 96

/* The source name of the -o overrides, which count as one source for "listen". */
#define OVERRIDE_SOURCE "-o"
#define DEFAULT_SOURCE "default"

/* Where a shell NAME is looked for unless shell_dir says; the Makefile passes $(libdir)/ftpd/shells. */
#ifndef FTPD_SHELL_DIR
#define FTPD_SHELL_DIR "/usr/local/lib/ftpd/shells"
#endif

enum key_type {
	KEY_BOOL,		/* int: yes/no/true/false/on/off/1/0 */
	KEY_UNSIGNED,		/* unsigned, minimum..maximum */
	KEY_MILLISECONDS,	/* unsigned, minimum..maximum, optional "ms" suffix */
	KEY_STRING,		/* char *, any text without control characters */
	KEY_PATH,		/* char *, a file name */
	KEY_ENUM,		/* an enum (unsigned-compatible): its index in choices */
	KEY_ADDRESS,		/* char *, a numeric IPv4 address or a host name */
	KEY_PORT_RANGE,		/* two unsigned: "MIN-MAX", each minimum..maximum */
	KEY_SIZE,		/* uint64_t bytes, optional K, M or G suffix; none: CONFIG_SIZE_UNSET */
	KEY_LISTEN,		/* the listen array: "ADDRESS:PORT", repeatable */
	KEY_LINES,		/* struct config_lines: "KEY=VALUE", repeatable; none empties it */
};

struct config_key {
	const char *name;
	enum key_type type;
	size_t offset;
	size_t second_offset;		/* KEY_PORT_RANGE: the upper end */
	unsigned minimum, maximum;
	int optional;			/* "none" (or empty) unsets it */
	const char *const *choices;	/* KEY_ENUM, NULL-terminated */
	int (*valid)(const char *value);	/* extra check of a KEY_STRING */
	const char *valid_expectation;	/* what valid() accepts, for errors */
	const char *default_value;	/* parsed like a value from a file */
	const char *description;
	/* Nonzero: where the value was last set is kept in this char * (listen is at 0). */
	size_t place_offset;
	int holds_password;		/* a URI: ftpd -t prints its password masked */
};

/* Keys ftpd no longer reads, and what to write instead. */
static const struct {
	const char *name;
	const char *instead;
} retired_keys[] = {
	{ "shell_options", "write each option on a line of its own as shell_option = KEY=VALUE "
	  "(shell_options is no longer read)" },
};

static const char *const tls_mode_names[] = {
	[TLS_OFF] = "off",
	[TLS_EXPLICIT] = "explicit",
	[TLS_REQUIRED] = "required",
	[TLS_IMPLICIT] = "implicit",
	NULL,
};

static const char *const login_source_names[] = {
	[LOGIN_FTPD] = "ftpd",
	[LOGIN_SHELL] = "shell",
	NULL,
};

/* In the order of enum log_level. */
static const char *const log_level_names[] = { "error", "warning", "info", "debug", NULL };

#define FIELD(name) offsetof(struct config, name)

static int parse_listen_address(const char *value, struct listen_address *out);
static int is_blank(char c);

static int
valid_tls_protocol(const char *value)
{
	return strcmp(value, "TLSv1.2") == 0 || strcmp(value, "TLSv1.3") == 0;
}

static int
valid_tls_anonymous(const char *value)
{
	return strcmp(value, "required") == 0 || strcmp(value, "optional") == 0;
}

/* A built-in name, a NAME looked up in shell_dir, or a path (it has a '/'). */
static int
valid_shell_name(const char *value)
{
	return strchr(value, '/') != NULL || value[0] != '.';
}

static int
valid_listen_address(const char *value)
{
	struct listen_address address;

	return parse_listen_address(value, &address) == 0;
}

int
config_parse_listen_address(const char *value, struct listen_address *out)
{
	return parse_listen_address(value, out) == 0 ? 0 : -EINVAL;
}

/*
 * A postgresql:// or postgres:// URI that libpq can parse. Parsing connects
 * to nothing, so ftpd -t accepts a database that is down.
 */
static int
valid_passwd_db(const char *value)
{
	PQconninfoOption *options;
	char *message = NULL;

	if (strncmp(value, "postgresql://", strlen("postgresql://")) != 0 &&
	    strncmp(value, "postgres://", strlen("postgres://")) != 0)
		return 0;
	options = PQconninfoParse(value, &message);
	PQfreemem(message);
	if (options == NULL)
		return 0;
	PQconninfoFree(options);
	return 1;
}

#define SHELL_NAME_EXPECTATION "fs, anon, the NAME of a module in shell_dir (a file name " \
	"not starting with '.') or a module's path (containing '/')"

static int
valid_proxy_trusted(const char *value)
{
	struct proxy_trusted networks;
	char word[64];

	return proxy_trusted_parse(value, &networks, word, sizeof(word)) == 0 &&
	    networks.count > 0;
}

/*
 * A dotted quad, or a host name: labels of letters, digits and inner
 * hyphens, with a letter somewhere (digits and dots alone are a mistyped
 * address: "127.1", "256.1.1.1").
 */
static int
valid_ipv4_or_host_name(const char *value)
{
	struct in_addr address;
	size_t label = 0, length = strlen(value), i;
	int letters = 0;

	if (inet_pton(AF_INET, value, &address) == 1)
		return 1;
	if (length == 0 || length > 253)
		return 0;
	for (i = 0; i < length; i++) {
		char c = value[i];

		if (c == '.') {
			if (label == 0 || value[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (c == '-' && label == 0)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return 0;
		letters |= (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (++label > 63)
			return 0;
	}
	return letters && label > 0 && value[length - 1] != '-';
}

static const struct config_key config_keys[] = {
	{ .name = "listen", .type = KEY_LISTEN, .optional = 1,
	  .default_value = "127.0.0.1:2121",
	  .description = "address and port to accept connections on (repeatable; "
	      "[::]:21 for IPv6, *:21 for every IPv4 address)" },
	{ .name = "anonymous", .type = KEY_BOOL, .offset = FIELD(anonymous),
	  .default_value = "yes",
	  .description = "allow anonymous (user anonymous or ftp) read-only logins" },
	{ .name = "anonymous_root", .type = KEY_PATH, .offset = FIELD(anonymous_root),
	  .default_value = "/srv/ftp",
	  .description = "directory anonymous users see as /" },
	{ .name = "passwd_file", .type = KEY_PATH, .offset = FIELD(passwd_file),
	  .optional = 1, .default_value = "none",
	  .description = "file of name:crypt-hash[:home] lines for password logins" },
	{ .name = "passwd_db", .type = KEY_STRING, .offset = FIELD(passwd_db),
	  .optional = 1, .valid = valid_passwd_db, .holds_password = 1,
	  .valid_expectation = "a postgresql:// or postgres:// URI that libpq accepts",
	  .default_value = "none",
	  .description = "PostgreSQL database of users (table ftp_users, see "
	      "conf/sql/schema.sql) for password logins, as a postgresql:// URI" },
	{ .name = "home_root", .type = KEY_PATH, .offset = FIELD(home_root),
	  .default_value = "/home",
	  .description = "parent of the homes of passwd_file and passwd_db users without "
	      "their own" },
	{ .name = "system_users", .type = KEY_BOOL, .offset = FIELD(system_users),
	  .default_value = "no",
	  .description = "let system accounts log in to their home directories" },
	{ .name = "login", .type = KEY_ENUM, .offset = FIELD(login),
	  .choices = login_source_names, .default_value = "ftpd",
	  .description = "who checks passwords: ftpd (passwd_file, passwd_db or system_users) or "
	      "shell (the shell module, as the SMB gateway asks its server)" },
	{ .name = "shell", .type = KEY_STRING, .offset = FIELD(shell),
	  .valid = valid_shell_name, .valid_expectation = SHELL_NAME_EXPECTATION,
	  .default_value = "fs", .place_offset = FIELD(shell_place),
	  .description = "shell for password users: fs, anon, NAME (shell_dir/NAME.so) or "
	      "the path of a shell module" },
	{ .name = "shell_option", .type = KEY_LINES, .offset = FIELD(shell_options),
	  .default_value = "none",
	  .description = "KEY=VALUE handed to shell (repeatable; none forgets earlier lines)" },
	{ .name = "anonymous_shell", .type = KEY_STRING, .offset = FIELD(anonymous_shell),
	  .valid = valid_shell_name, .valid_expectation = SHELL_NAME_EXPECTATION,
	  .default_value = "anon", .place_offset = FIELD(anonymous_shell_place),
	  .description = "shell for anonymous users, always read-only: anon, fs, NAME or a path" },
	{ .name = "anonymous_shell_option", .type = KEY_LINES,
	  .offset = FIELD(anonymous_shell_options), .default_value = "none",
	  .description = "KEY=VALUE handed to anonymous_shell (repeatable)" },
	{ .name = "shell_dir", .type = KEY_PATH, .offset = FIELD(shell_dir),
	  .default_value = FTPD_SHELL_DIR,
	  .description = "directory where a shell NAME is found as NAME.so" },
	{ .name = "pasv_ports", .type = KEY_PORT_RANGE, .offset = FIELD(pasv_port_min),
	  .second_offset = FIELD(pasv_port_max), .minimum = 1024, .maximum = 65535,
	  .optional = 1, .default_value = "none",
	  .description = "ports for passive data connections, MIN-MAX (none: kernel-chosen)" },
	{ .name = "pasv_address", .type = KEY_ADDRESS, .offset = FIELD(pasv_address),
	  .optional = 1, .default_value = "none",
	  .description = "IPv4 address (or host name, resolved at start and on SIGHUP) PASV "
	      "announces (none: the control connection's, or behind a balancer the one the "
	      "client connected to)" },
	{ .name = "max_clients", .type = KEY_UNSIGNED, .offset = FIELD(max_clients),
	  .minimum = 0, .maximum = 100000, .default_value = "512",
	  .description = "most simultaneous connections (0: unlimited)" },
	{ .name = "max_clients_per_ip", .type = KEY_UNSIGNED,
	  .offset = FIELD(max_clients_per_ip), .minimum = 0, .maximum = 100000,
	  .default_value = "0",
	  .description = "most simultaneous connections from one address (0: unlimited)" },
	{ .name = "max_prelogin_per_ip", .type = KEY_UNSIGNED,
	  .offset = FIELD(max_prelogin_per_ip), .minimum = 0, .maximum = 100000,
	  .default_value = "16",
	  .description = "most connections from one address not logged in yet (0: unlimited)" },
	{ .name = "max_sessions_per_user", .type = KEY_UNSIGNED,
	  .offset = FIELD(max_sessions_per_user), .minimum = 0, .maximum = 100000,
	  .default_value = "0",
	  .description = "most simultaneous logged-in sessions of one user, anonymous "
	  "excepted (0: unlimited)" },
	{ .name = "idle_timeout", .type = KEY_UNSIGNED, .offset = FIELD(idle_timeout),
	  .minimum = 1, .maximum = 86400, .default_value = "600",
	  .description = "seconds a control connection may go without a complete command" },
	{ .name = "login_timeout", .type = KEY_UNSIGNED, .offset = FIELD(login_timeout),
	  .minimum = 1, .maximum = 86400, .default_value = "60",
	  .description = "seconds from connecting to a completed login" },
	{ .name = "tls_handshake_timeout", .type = KEY_UNSIGNED,
	  .offset = FIELD(tls_handshake_timeout), .minimum = 1, .maximum = 3600,
	  .default_value = "10",
	  .description = "seconds a TLS handshake (implicit or after AUTH TLS) may take" },
	{ .name = "data_timeout", .type = KEY_UNSIGNED, .offset = FIELD(data_timeout),
	  .minimum = 1, .maximum = 3600, .default_value = "30",
	  .description = "seconds to wait for a data connection or for data on it" },
	{ .name = "max_login_failures", .type = KEY_UNSIGNED,
	  .offset = FIELD(max_login_failures), .minimum = 1, .maximum = 100,
	  .default_value = "3",
	  .description = "failed logins before the connection is closed" },
	{ .name = "login_failure_delay", .type = KEY_MILLISECONDS,
	  .offset = FIELD(login_failure_delay_ms), .minimum = 0, .maximum = 60000,
	  .default_value = "1000",
	  .description = "milliseconds before answering a failed login" },
	{ .name = "ban_after_failures", .type = KEY_UNSIGNED,
	  .offset = FIELD(ban_after_failures), .minimum = 0, .maximum = 100000,
	  .default_value = "10",
	  .description = "failed logins from one address (IPv6: one /64) within ban_time "
	  "that ban it (0: never)" },
	{ .name = "ban_time", .type = KEY_UNSIGNED, .offset = FIELD(ban_time),
	  .minimum = 1, .maximum = 604800, .default_value = "600",
	  .description = "seconds a ban lasts, and failures are remembered" },
	{ .name = "shared_state", .type = KEY_STRING, .offset = FIELD(shared_state),
	  .optional = 1, .default_value = "none", .valid = shared_state_uri_valid,
	  .holds_password = 1,
	  .valid_expectation = "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]",
	  .description = "Redis that instances behind one balancer share per-address "
	      "session counts, login failures and bans through (none: this instance only)" },
	{ .name = "shared_state_ttl", .type = KEY_UNSIGNED, .offset = FIELD(shared_state_ttl),
	  .minimum = 3, .maximum = 3600, .default_value = "30",
	  .description = "seconds the session counts of an instance that stopped refreshing "
	      "them (it crashed) still count in Redis" },
	{ .name = "max_rate_down", .type = KEY_SIZE, .offset = FIELD(max_rate_down),
	  .default_value = "0",
	  .description = "bytes per second a session may download, K/M/G = 1024/1024^2/1024^3 "
	      "(0: unlimited)" },
	{ .name = "max_rate_up", .type = KEY_SIZE, .offset = FIELD(max_rate_up),
	  .default_value = "0",
	  .description = "bytes per second a session may upload (0: unlimited)" },
	{ .name = "anonymous_max_rate_down", .type = KEY_SIZE,
	  .offset = FIELD(anonymous_max_rate_down), .optional = 1, .default_value = "none",
	  .description = "bytes per second an anonymous session may download, instead of "
	      "max_rate_down (0: unlimited; none: as max_rate_down)" },
	{ .name = "keep_partial_uploads", .type = KEY_BOOL, .offset = FIELD(keep_partial_uploads),
	  .default_value = "no",
	  .description = "an upload cut off keeps what arrived, for REST + STOR or APPE to "
	      "resume (never over a file it replaces)" },
	{ .name = "upload_sync", .type = KEY_BOOL, .offset = FIELD(upload_sync),
	  .default_value = "yes",
	  .description = "226 after an upload only once it is on disk (fsync); no: once it "
	      "is in the page cache, faster for many small files" },
	{ .name = "quota_bytes", .type = KEY_SIZE, .offset = FIELD(quota_bytes),
	  .default_value = "0",
	  .description = "bytes the files in a user's home may hold in all (0: no limit)" },
	{ .name = "quota_files", .type = KEY_UNSIGNED, .offset = FIELD(quota_files),
	  .minimum = 0, .maximum = 1000000000, .default_value = "0",
	  .description = "files and directories a user's home may hold (0: no limit)" },
	{ .name = "tls_cert", .type = KEY_PATH, .offset = FIELD(tls_cert), .optional = 1,
	  .default_value = "none",
	  .description = "PEM certificate (chain) for TLS" },
	{ .name = "tls_key", .type = KEY_PATH, .offset = FIELD(tls_key), .optional = 1,
	  .default_value = "none",
	  .description = "PEM private key of tls_cert" },
	{ .name = "tls", .type = KEY_ENUM, .offset = FIELD(tls), .choices = tls_mode_names,
	  .default_value = "off",
	  .description = "off, explicit (AUTH TLS allowed), required (TLS before login), "
	      "implicit (TLS from the first byte)" },
	{ .name = "tls_ciphers", .type = KEY_STRING, .offset = FIELD(tls_ciphers),
	  .optional = 1, .default_value = "none",
	  .description = "OpenSSL cipher list for TLS 1.2 (none: OpenSSL's secure defaults)" },
	{ .name = "tls_min_protocol", .type = KEY_STRING, .offset = FIELD(tls_min_protocol),
	  .valid = valid_tls_protocol, .valid_expectation = "TLSv1.2 or TLSv1.3",
	  .default_value = "TLSv1.2",
	  .description = "oldest TLS version accepted" },
	{ .name = "tls_anonymous", .type = KEY_STRING, .offset = FIELD(tls_anonymous),
	  .valid = valid_tls_anonymous, .valid_expectation = "required or optional",
	  .default_value = "required",
	  .description = "with tls = required: optional lets anonymous users skip TLS" },
	{ .name = "tls_require_reuse", .type = KEY_BOOL, .offset = FIELD(tls_require_reuse),
	  .default_value = "yes",
	  .description = "data connections must resume the control connection's TLS session" },
	{ .name = "listen_implicit", .type = KEY_STRING, .offset = FIELD(listen_implicit),
	  .optional = 1, .valid = valid_listen_address,
	  .valid_expectation = "ADDRESS:PORT, such as 0.0.0.0:990 or [::]:990",
	  .default_value = "none",
	  .description = "address for implicit FTPS (TLS from the first byte), with tls on" },
	{ .name = "user", .type = KEY_STRING, .offset = FIELD(user), .optional = 1,
	  .default_value = "ftpd",
	  .description = "when started as root, the user the worker processes run as "
	      "(none: stay root, not recommended)" },
	{ .name = "chroot", .type = KEY_PATH, .offset = FIELD(chroot), .optional = 1,
	  .default_value = "none",
	  .description = "directory the worker processes chroot into (none: stay)" },
	{ .name = "workers", .type = KEY_UNSIGNED, .offset = FIELD(workers),
	  .minimum = 0, .maximum = CONFIG_MAX_WORKERS, .default_value = "0",
	  .description = "unprivileged processes serving sessions (0: one per CPU)" },
	{ .name = "proxy_protocol", .type = KEY_BOOL, .offset = FIELD(proxy_protocol),
	  .default_value = "no",
	  .description = "every listener expects a PROXY protocol header (v1 or v2) from "
	      "proxy_trusted first (one listener: listen = ADDRESS:PORT proxy)" },
	{ .name = "proxy_trusted", .type = KEY_STRING, .offset = FIELD(proxy_trusted),
	  .optional = 1, .default_value = "none", .valid = valid_proxy_trusted,
	  .valid_expectation = "addresses or networks (10.0.0.0/8, fd00::/8) separated by "
	      "blanks or commas",
	  .description = "balancers whose PROXY headers are believed, on control and "
	      "passive data connections" },
	{ .name = "proxy_timeout", .type = KEY_UNSIGNED, .offset = FIELD(proxy_timeout),
	  .minimum = 1, .maximum = 60, .default_value = "5",
	  .description = "seconds a PROXY header may take to arrive" },
	{ .name = "log_level", .type = KEY_ENUM, .offset = FIELD(log_level),
	  .choices = log_level_names, .default_value = "info",
	  .description = "least important messages logged: error, warning, info "
	      "(sessions, logins, transfers), debug (also every command and error reply)" },
	{ .name = "log", .type = KEY_STRING, .offset = FIELD(log),
	  .valid = log_destination_valid,
	  .valid_expectation = "stderr, syslog or syslog:FACILITY with FACILITY one of "
	      "ftp, daemon, auth, authpriv, local0 to local7",
	  .default_value = "syslog",
	  .description = "where messages go: stderr, syslog or syslog:FACILITY" },
	{ .name = "xferlog", .type = KEY_PATH, .offset = FIELD(xferlog), .optional = 1,
	  .default_value = "none",
	  .description = "file to append a line per transfer to (none: no transfer log)" },
	{ .name = "pid_file", .type = KEY_PATH, .offset = FIELD(pid_file), .optional = 1,
	  .default_value = "none",
	  .description = "file to write the daemon's process id to (none: no pid file)" },
	{ .name = "shutdown_grace", .type = KEY_UNSIGNED, .offset = FIELD(shutdown_grace),
	  .minimum = 0, .maximum = 86400, .default_value = "30",
	  .description = "seconds running transfers may take to finish after SIGTERM" },
	{ .name = "banner", .type = KEY_STRING, .offset = FIELD(banner),
	  .default_value = "ftpd ready.",
	  .description = "text of the 220 greeting" },
};

#define CONFIG_KEY_COUNT (sizeof(config_keys) / sizeof(config_keys[0]))

/* Where a message comes from: "PATH:LINE", "-o key=value", ... */
struct place {
	const char *source;	/* names the place in messages */
	unsigned line;		/* 0: no line */
};

static int
report(char *error, const struct place *place, int result, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes "SOURCE:LINE: message" (or "SOURCE: message") to error; returns result. */
static int
report(char *error, const struct place *place, int result, const char *format, ...)
{
	va_list arguments;
	int prefix;

	if (error == NULL)
		return result;
	if (place == NULL || place->source == NULL)
		prefix = 0;
	else if (place->line > 0)
		prefix = snprintf(error, CONFIG_ERROR_SIZE, "%s:%u: ", place->source, place->line);
	else
		prefix = snprintf(error, CONFIG_ERROR_SIZE, "%s: ", place->source);
	if (prefix < 0)
		prefix = 0;
	if (prefix >= CONFIG_ERROR_SIZE - 1)
		return result;
	va_start(arguments, format);
	vsnprintf(error + prefix, CONFIG_ERROR_SIZE - (size_t)prefix, format, arguments);
	va_end(arguments);
	return result;
}

/* A value as an error message quotes it: escaped, and cut if long. */
static const char *
quote_value(char out[QUOTED_VALUE_SIZE], const char *value)
{
	if (log_escape(out, QUOTED_VALUE_SIZE - 3, value) >= QUOTED_VALUE_SIZE - 3)
		strcat(out, "...");
	return out;
}

static void *
field_of(struct config *config, const struct config_key *key)
{
	return (char *)config + key->offset;
}

static const void *
const_field_of(const struct config *config, const struct config_key *key)
{
	return (const char *)config + key->offset;
}

static const struct config_key *
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < CONFIG_KEY_COUNT; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

/* Decimal digits only (no sign, no spaces), at most maximum: 0, or -ERANGE/-EINVAL. */
static int
parse_whole_number(const char *text, size_t length, unsigned maximum, unsigned *out)
{
	unsigned long long value = 0;
	size_t i;

	if (length == 0)
		return -EINVAL;
	for (i = 0; i < length; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -EINVAL;
		value = value * 10 + (unsigned)(text[i] - '0');
		if (value > maximum)
			return -ERANGE;
	}
	*out = (unsigned)value;
	return 0;
}

/* The bytes a size suffix stands for (1 for none), or 0 when it is no suffix. */
static uint64_t
size_unit(char suffix)
{
	switch (suffix) {
	case 'K': case 'k':
		return SIZE_UNIT;
	case 'M': case 'm':
		return (uint64_t)SIZE_UNIT * SIZE_UNIT;
	case 'G': case 'g':
		return (uint64_t)SIZE_UNIT * SIZE_UNIT * SIZE_UNIT;
	default:
		return 0;
	}
}

/* Digits and an optional K, M or G (powers of 1024), at most SIZE_MAXIMUM: 0 or -EINVAL. */
int
config_parse_size(const char *text, uint64_t *out)
{
	size_t length = strlen(text);
	uint64_t value = 0, unit = 1;
	size_t i;

	if (length > 0 && size_unit(text[length - 1]) != 0)
		unit = size_unit(text[--length]);
	if (length == 0)
		return -EINVAL;
	for (i = 0; i < length; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -EINVAL;
		value = value * 10 + (uint64_t)(text[i] - '0');
		if (value > SIZE_MAXIMUM)
			return -EINVAL;
	}
	if (value > SIZE_MAXIMUM / unit)
		return -EINVAL;
	*out = value * unit;
	return 0;
}

static int
parse_bool(const char *text, int *out)
{
	static const char *const true_words[] = { "yes", "true", "on", "1" };
	static const char *const false_words[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(true_words) / sizeof(true_words[0]); i++) {
		if (strcasecmp(text, true_words[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(text, false_words[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -EINVAL;
}

/* Tabs are fine in text; other control characters could break replies and logs. */
static int
has_control_characters(const char *text)
{
	const unsigned char *byte;

	for (byte = (const unsigned char *)text; *byte != '\0'; byte++)
		if ((*byte < 0x20 && *byte != '\t') || *byte == 0x7f)
			return 1;
	return 0;
}

static int
is_none(const char *value)
{
	return value[0] == '\0' || strcmp(value, "none") == 0;
}

/*
 * "ADDRESS:PORT" with a numeric address: "1.2.3.4:21", "*:21", "[::1]:21",
 * "[fe80::1%eth0]:21". 0 or -EINVAL.
 */
static int
parse_listen_address(const char *value, struct listen_address *out)
{
	char host[sizeof(out->text)];
	const char *port_text, *close_bracket;
	size_t host_length;
	unsigned port;

	memset(out, 0, sizeof(*out));
	if (strlen(value) >= sizeof(out->text))
		return -EINVAL;
	if (value[0] == '[') {
		close_bracket = strchr(value, ']');
		if (close_bracket == NULL || close_bracket[1] != ':')
			return -EINVAL;
		host_length = (size_t)(close_bracket - value - 1);
		memcpy(host, value + 1, host_length);
		host[host_length] = '\0';
		port_text = close_bracket + 2;
	} else {
		port_text = strrchr(value, ':');
		if (port_text == NULL)
			return -EINVAL;
		host_length = (size_t)(port_text - value);
		memcpy(host, value, host_length);
		host[host_length] = '\0';
		port_text++;
	}
	if (parse_whole_number(port_text, strlen(port_text), 65535, &port) < 0 || port == 0)
		return -EINVAL;

	if (value[0] == '[') {
		struct addrinfo hints, *result;

		/* getaddrinfo, unlike inet_pton, understands a scope ("%eth0"). */
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_INET6;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICHOST;
		if (host_length == 0 || getaddrinfo(host, NULL, &hints, &result) != 0)
			return -EINVAL;
		if (result->ai_addrlen > sizeof(out->address)) {
			freeaddrinfo(result);
			return -EINVAL;
		}
		memcpy(&out->address, result->ai_addr, result->ai_addrlen);
		out->length = result->ai_addrlen;
		freeaddrinfo(result);
		((struct sockaddr_in6 *)&out->address)->sin6_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in *ipv4 = (struct sockaddr_in *)&out->address;

		ipv4->sin_family = AF_INET;
		ipv4->sin_port = htons((uint16_t)port);
		if (strcmp(host, "*") == 0)
			ipv4->sin_addr.s_addr = htonl(INADDR_ANY);
		/* inet_pton, not inet_aton: "127.1" or "0x7f.0.0.1" are typos here. */
		else if (inet_pton(AF_INET, host, &ipv4->sin_addr) != 1)
			return -EINVAL;
		out->length = sizeof(*ipv4);
	}
	strcpy(out->text, value);
	return 0;
}

static int
same_listen_address(const struct listen_address *a, const struct listen_address *b)
{
	return a->length == b->length && memcmp(&a->address, &b->address, a->length) == 0;
}

/* What a value of this key must look like, for "bad value" errors. */
static void
describe_expectation(const struct config_key *key, char *out, size_t size)
{
	const char *none = key->optional ? ", or none" : "";
	size_t used, i;

	switch (key->type) {
	case KEY_BOOL:
		snprintf(out, size, "yes or no");
		break;
	case KEY_UNSIGNED:
		snprintf(out, size, "a whole number from %u to %u", key->minimum, key->maximum);
		break;
	case KEY_MILLISECONDS:
		snprintf(out, size, "a whole number of milliseconds from %u to %u",
		    key->minimum, key->maximum);
		break;
	case KEY_STRING:
		if (key->valid_expectation != NULL)
			snprintf(out, size, "%s%s", key->valid_expectation, none);
		else
			snprintf(out, size, "text without control characters%s",
			    key->optional ? ", or none" : ", not empty or none");
		break;
	case KEY_PATH:
		snprintf(out, size, "a path without control characters%s",
		    key->optional ? ", or none" : ", not empty or none");
		break;
	case KEY_ENUM:
		used = (size_t)snprintf(out, size, "one of");
		for (i = 0; key->choices[i] != NULL && used < size; i++)
			used += (size_t)snprintf(out + used, size - used, "%s %s",
			    i == 0 ? "" : ",", key->choices[i]);
		break;
	case KEY_ADDRESS:
		snprintf(out, size, "a numeric IPv4 address or a host name%s", none);
		break;
	case KEY_PORT_RANGE:
		snprintf(out, size, "MIN-MAX with ports from %u to %u and MIN <= MAX%s",
		    key->minimum, key->maximum, none);
		break;
	case KEY_SIZE:
		snprintf(out, size, "a number of bytes, optionally followed by K, M or G "
		    "(1024, 1048576 or 1073741824 bytes), at most 1048576G%s", none);
		break;
	case KEY_LISTEN:
		snprintf(out, size, "ADDRESS:PORT with a numeric address, such as "
		    "0.0.0.0:21, *:21, [::]:21 or [::1]:2121, and a port from 1 to 65535, "
		    "optionally followed by the word proxy%s", none);
		break;
	case KEY_LINES:
		snprintf(out, size, "KEY=VALUE with a KEY that is not empty and has no blanks, "
		    "or none to forget the lines before");
		break;
	}
}

static int
bad_value(const struct config_key *key, const char *value, const struct place *place,
    char *error)
{
	char quoted[QUOTED_VALUE_SIZE], expectation[256];

	describe_expectation(key, expectation, sizeof(expectation));
	return report(error, place, -EINVAL, "bad value for %s: '%s' (expected %s)",
	    key->name, quote_value(quoted, value), expectation);
}

static int
set_string(char **field, const char *value)
{
	char *copy = NULL;

	if (value != NULL && (copy = strdup(value)) == NULL)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

/* "ADDRESS:PORT" or "ADDRESS:PORT proxy". 0 or -EINVAL. */
static int
parse_listen_with_options(const char *value, struct listen_address *out)
{
	char address[sizeof(out->text)];
	size_t length = strcspn(value, " \t");
	const char *rest = value + length;

	if (length >= sizeof(address))
		return -EINVAL;
	memcpy(address, value, length);
	address[length] = '\0';
	rest += strspn(rest, " \t");
	if (parse_listen_address(address, out) < 0)
		return -EINVAL;
	if (*rest == '\0')
		return 0;
	if (strcmp(rest, "proxy") != 0)
		return -EINVAL;
	out->proxy = 1;
	return 0;
}

static int
set_listen(struct config *config, const char *value, const char *listen_source,
    const struct config_key *key, const struct place *place, char *error)
{
	struct listen_address address;
	int first_from_source;
	unsigned i;

	first_from_source = config->listen_source == NULL ||
	    strcmp(config->listen_source, listen_source) != 0;
	if (is_none(value)) {
		if (first_from_source && set_string(&config->listen_source, listen_source) < 0)
			return report(error, place, -ENOMEM, "out of memory");
		config->listen_count = 0;
		return 0;
	}
	if (parse_listen_with_options(value, &address) < 0)
		return bad_value(key, value, place, error);
	if (!first_from_source) {
		if (config->listen_count >= CONFIG_MAX_LISTEN)
			return report(error, place, -EINVAL,
			    "too many listen addresses (at most %d)", CONFIG_MAX_LISTEN);
		for (i = 0; i < config->listen_count; i++)
			if (same_listen_address(&config->listen[i], &address))
				return report(error, place, -EINVAL,
				    "listen address %s given twice", address.text);
	} else {
		if (set_string(&config->listen_source, listen_source) < 0)
			return report(error, place, -ENOMEM, "out of memory");
		config->listen_count = 0;
	}
	config->listen[config->listen_count++] = address;
	return 0;
}

static void
free_lines(struct config_lines *lines)
{
	while (lines->count > 0) {
		free(lines->lines[--lines->count]);
		lines->lines[lines->count] = NULL;
	}
}

/*
 * Adds one KEY=VALUE line, stored without blanks around its first '=' so a
 * module reads "KEY=VALUE" whichever way it was written; none empties the list.
 */
static int
set_lines(struct config_lines *lines, const char *value, const struct config_key *key,
    const struct place *place, char *error)
{
	const char *equals = strchr(value, '='), *name_end, *rest;
	size_t name_length, i;
	char *line;

	if (is_none(value)) {
		free_lines(lines);
		return 0;
	}
	if (equals == NULL)
		return bad_value(key, value, place, error);
	for (name_end = equals; name_end > value && is_blank(name_end[-1]); name_end--)
		continue;
	name_length = (size_t)(name_end - value);
	for (i = 0; i < name_length; i++)
		if (is_blank(value[i]))
			break;
	if (name_length == 0 || i < name_length)
		return bad_value(key, value, place, error);
	if (lines->count >= CONFIG_MAX_SHELL_OPTIONS)
		return report(error, place, -EINVAL, "too many %s lines (at most %d)", key->name,
		    CONFIG_MAX_SHELL_OPTIONS);
	for (rest = equals + 1; is_blank(*rest); rest++)
		continue;
	if ((line = malloc(name_length + 1 + strlen(rest) + 1)) == NULL)
		return report(error, place, -ENOMEM, "out of memory");
	memcpy(line, value, name_length);
	line[name_length] = '=';
	strcpy(line + name_length + 1, rest);
	lines->lines[lines->count++] = line;
	return 0;
}

/* Keeps "FILE:LINE" (or the override, or the default) for messages about key's value. */
static int
record_place(struct config *config, const struct config_key *key, const struct place *place)
{
	char text[CONFIG_ERROR_SIZE];

	if (key->place_offset == 0)
		return 0;
	if (place->line > 0)
		snprintf(text, sizeof(text), "%s:%u", place->source, place->line);
	else
		snprintf(text, sizeof(text), "%s", place->source);
	return set_string((char **)((char *)config + key->place_offset), text);
}

/* Parses value for key and stores it; on error nothing changes. */
static int
set_key(struct config *config, const struct config_key *key, const char *value,
    const char *listen_source, const struct place *place, char *error)
{
	void *field = field_of(config, key);
	unsigned number, upper;
	uint64_t size;
	const char *dash, *digits_end;
	int flag;
	size_t i;

	if (strlen(value) > CONFIG_VALUE_MAX)
		return report(error, place, -EINVAL, "bad value for %s: longer than %d bytes",
		    key->name, CONFIG_VALUE_MAX);
	if (key->type == KEY_LISTEN)
		return set_listen(config, value, listen_source, key, place, error);
	if (has_control_characters(value))
		return report(error, place, -EINVAL,
		    "bad value for %s: control characters are not allowed", key->name);

	switch (key->type) {
	case KEY_BOOL:
		if (parse_bool(value, &flag) < 0)
			return bad_value(key, value, place, error);
		*(int *)field = flag;
		return 0;
	case KEY_UNSIGNED:
	case KEY_MILLISECONDS:
		digits_end = value + strlen(value);
		if (key->type == KEY_MILLISECONDS && digits_end - value > 2 &&
		    strcmp(digits_end - 2, "ms") == 0)
			digits_end -= 2;
		if (parse_whole_number(value, (size_t)(digits_end - value), key->maximum,
		    &number) < 0 || number < key->minimum)
			return bad_value(key, value, place, error);
		*(unsigned *)field = number;
		return 0;
	case KEY_STRING:
	case KEY_PATH:
	case KEY_ADDRESS:
		if (is_none(value)) {
			if (!key->optional)
				return bad_value(key, value, place, error);
			value = NULL;
		} else if (key->valid != NULL && !key->valid(value))
			return bad_value(key, value, place, error);
		else if (key->type == KEY_ADDRESS && !valid_ipv4_or_host_name(value))
			return bad_value(key, value, place, error);
		if (set_string((char **)field, value) < 0 ||
		    record_place(config, key, place) < 0)
			return report(error, place, -ENOMEM, "out of memory");
		return 0;
	case KEY_ENUM:
		for (i = 0; key->choices[i] != NULL; i++) {
			if (strcasecmp(value, key->choices[i]) == 0) {
				*(unsigned *)field = (unsigned)i;
				return 0;
			}
		}
		return bad_value(key, value, place, error);
	case KEY_PORT_RANGE:
		if (is_none(value) && key->optional) {
			number = upper = 0;
		} else {
			dash = strchr(value, '-');
			if (dash == NULL ||
			    parse_whole_number(value, (size_t)(dash - value), key->maximum,
			    &number) < 0 ||
			    parse_whole_number(dash + 1, strlen(dash + 1), key->maximum,
			    &upper) < 0 ||
			    number < key->minimum || upper < number)
				return bad_value(key, value, place, error);
		}
		*(unsigned *)field = number;
		*(unsigned *)((char *)config + key->second_offset) = upper;
		return 0;
	case KEY_SIZE:
		if (is_none(value) && key->optional) {
			*(uint64_t *)field = CONFIG_SIZE_UNSET;
			return 0;
		}
		if (config_parse_size(value, &size) < 0)
			return bad_value(key, value, place, error);
		*(uint64_t *)field = size;
		return 0;
	case KEY_LINES:
		return set_lines(field, value, key, place, error);
	case KEY_LISTEN:
		break;
	}
	return report(error, place, -EINVAL, "internal error: key %s has no type", key->name);
}

static int
set_by_name(struct config *config, const char *name, const char *value,
    const char *listen_source, const struct place *place, char *error)
{
	const struct config_key *key;
	char quoted[QUOTED_VALUE_SIZE];

	if (name == NULL || value == NULL)
		return report(error, place, -EINVAL, "missing key or value");
	if ((key = find_key(name)) == NULL) {
		size_t i;

		for (i = 0; i < sizeof(retired_keys) / sizeof(retired_keys[0]); i++)
			if (strcmp(retired_keys[i].name, name) == 0)
				return report(error, place, -EINVAL, "unknown key '%s': %s", name,
				    retired_keys[i].instead);
		return report(error, place, -EINVAL, "unknown key '%s'",
		    quote_value(quoted, name));
	}
	return set_key(config, key, value, listen_source, place, error);
}

int
config_init(struct config *config)
{
	char error[CONFIG_ERROR_SIZE];
	struct place place = { "built-in default", 0 };
	size_t i;

	memset(config, 0, sizeof(*config));
	for (i = 0; i < CONFIG_KEY_COUNT; i++) {
		if (set_key(config, &config_keys[i], config_keys[i].default_value,
		    DEFAULT_SOURCE, &place, error) < 0) {
			config_free(config);
			return -ENOMEM;
		}
	}
	return 0;
}

void
config_free(struct config *config)
{
	size_t i;

	explicit_bzero(&config->shared_state_uri, sizeof(config->shared_state_uri));

	for (i = 0; i < CONFIG_KEY_COUNT; i++) {
		switch (config_keys[i].type) {
		case KEY_STRING:
		case KEY_PATH:
		case KEY_ADDRESS:
			free(*(char **)field_of(config, &config_keys[i]));
			*(char **)field_of(config, &config_keys[i]) = NULL;
			break;
		case KEY_LINES:
			free_lines(field_of(config, &config_keys[i]));
			break;
		default:
			break;
		}
		if (config_keys[i].place_offset != 0) {
			free(*(char **)((char *)config + config_keys[i].place_offset));
			*(char **)((char *)config + config_keys[i].place_offset) = NULL;
		}
	}
	free(config->listen_source);
	config->listen_source = NULL;
	config->listen_count = 0;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Trims blanks at both ends in place; returns the new start. */
static char *
trim(char *text)
{
	size_t length;

	while (is_blank(*text))
		text++;
	length = strlen(text);
	while (length > 0 && is_blank(text[length - 1]))
		text[--length] = '\0';
	return text;
}

/* A value in double quotes keeps the blanks at its ends. */
static char *
unquote(char *value)
{
	size_t length = strlen(value);

	if (length >= 2 && value[0] == '"' && value[length - 1] == '"') {
		value[length - 1] = '\0';
		return value + 1;
	}
	return value;
}

static int load_file(struct config *config, const char *path, const char *listen_source,
    unsigned depth, char *error);

/*
 * include = PATH: another file read at this point, as if its lines stood
 * here. A relative PATH is taken from the including file's directory.
 */
static int
include_file(struct config *config, const char *value, const char *listen_source,
    const struct place *place, unsigned depth, char *error)
{
	char path[PATH_MAX], quoted[QUOTED_VALUE_SIZE];
	/* Relative to the including file; an -o override has none (line 0): the working directory. */
	const char *slash = place->line != 0 ? strrchr(place->source, '/') : NULL;
	int length;

	if (value[0] == '\0' || has_control_characters(value))
		return report(error, place, -EINVAL, "include needs a file name");
	if (depth >= CONFIG_INCLUDE_DEPTH_MAX)
		return report(error, place, -ELOOP,
		    "include '%s': nested more than %d deep (does a file include itself?)",
		    quote_value(quoted, value), CONFIG_INCLUDE_DEPTH_MAX);
	if (value[0] == '/' || slash == NULL)
		length = snprintf(path, sizeof(path), "%s", value);
	else
		length = snprintf(path, sizeof(path), "%.*s/%s",
		    (int)(slash - place->source), place->source, value);
	if (length < 0 || (size_t)length >= sizeof(path))
		return report(error, place, -ENAMETOOLONG, "include: path too long");
	/* Said here, so the message names the line that asked for the file. */
	if (access(path, R_OK) != 0)
		return report(error, place, -errno, "include '%s': %s", path, strerror(errno));
	return load_file(config, path, listen_source, depth + 1, error);
}

/* One "key = value" line (or comment, or blank): 0 or -errno. */
static int
parse_line(struct config *config, char *line, const char *listen_source,
    const struct place *place, unsigned depth, char *error)
{
	char *text, *equals, *key, *value, quoted[QUOTED_VALUE_SIZE];

	text = trim(line);
	if (text[0] == '\0' || text[0] == '#')
		return 0;
	if ((equals = strchr(text, '=')) == NULL)
		return report(error, place, -EINVAL, "missing '=' in '%s' (expected key = value)",
		    quote_value(quoted, text));
	*equals = '\0';
	key = trim(text);
	value = unquote(trim(equals + 1));
	if (key[0] == '\0')
		return report(error, place, -EINVAL, "missing key before '='");
	if (strcmp(key, "include") == 0)
		return include_file(config, value, listen_source, place, depth, error);
	return set_by_name(config, key, value, listen_source, place, error);
}

/* Reads path; listen lines count as coming from listen_source (the top file). */
static int
load_file(struct config *config, const char *path, const char *listen_source, unsigned depth,
    char *error)
{
	char line[CONFIG_LINE_MAX + 2];
	struct place place = { path, 0 };
	size_t length;
	FILE *file;
	int c, result = 0, saw_nul;

	if ((file = fopen(path, "re")) == NULL)
		return report(error, &place, -errno, "%s", strerror(errno));

	for (;;) {
		length = 0;
		saw_nul = 0;
		place.line++;
		while ((c = getc(file)) != EOF && c != '\n') {
			if (c == '\0')
				saw_nul = 1;
			if (length < CONFIG_LINE_MAX)
				line[length] = (char)c;
			length++;
		}
		if (ferror(file)) {
			place.line = 0;
			result = report(error, &place, -errno, "%s", strerror(errno));
			break;
		}
		if (c == EOF && length == 0)
			break;
		if (length > CONFIG_LINE_MAX) {
			result = report(error, &place, -EINVAL,
			    "line longer than %d bytes", CONFIG_LINE_MAX);
			break;
		}
		if (saw_nul) {
			result = report(error, &place, -EINVAL, "NUL byte in line");
			break;
		}
		line[length] = '\0';
		if ((result = parse_line(config, line, listen_source, &place, depth, error)) < 0)
			break;
		if (c == EOF)
			break;
	}
	fclose(file);
	return result;
}

int
config_load_file(struct config *config, const char *path, char error[CONFIG_ERROR_SIZE])
{
	/* Whatever set listen before, this file's first listen replaces it. */
	free(config->listen_source);
	config->listen_source = NULL;
	return load_file(config, path, path, 0, error);
}

int
config_apply_override(struct config *config, const char *assignment,
    char error[CONFIG_ERROR_SIZE])
{
	char line[CONFIG_LINE_MAX + 1], source[CONFIG_ERROR_SIZE / 2];
	char quoted[QUOTED_VALUE_SIZE];
	struct place place = { source, 0 };

	if (assignment == NULL)
		assignment = "";
	snprintf(source, sizeof(source), "-o %s", quote_value(quoted, assignment));
	if (strlen(assignment) > CONFIG_LINE_MAX)
		return report(error, &place, -EINVAL, "longer than %d bytes", CONFIG_LINE_MAX);
	strcpy(line, assignment);
	if (strchr(line, '=') == NULL)
		return report(error, &place, -EINVAL, "missing '=' (expected -o key=value)");
	if (trim(line)[0] == '#')
		return report(error, &place, -EINVAL, "unknown key '%s'",
		    quote_value(quoted, trim(line)));
	return parse_line(config, line, OVERRIDE_SOURCE, &place, 0, error);
}

/* The address PASV announces, looked up now: a host name follows DNS from one SIGHUP to the next. */
static int
resolve_pasv_address(struct config *config, char *error)
{
	struct addrinfo hints, *result;
	int status;

	memset(&config->pasv_announced, 0, sizeof(config->pasv_announced));
	if (config->pasv_address == NULL ||
	    inet_pton(AF_INET, config->pasv_address, &config->pasv_announced) == 1)
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	status = getaddrinfo(config->pasv_address, NULL, &hints, &result);
	if (status != 0)
		return report(error, NULL, -EHOSTUNREACH, "pasv_address %s: cannot resolve it to "
		    "an IPv4 address: %s", config->pasv_address, gai_strerror(status));
	config->pasv_announced = ((struct sockaddr_in *)result->ai_addr)->sin_addr;
	freeaddrinfo(result);
	return 0;
}

/*
 * The Redis of shared_state, looked up now like pasv_address; but a name
 * that does not resolve (DNS down during a restart) is no error: the
 * instance starts with its own limits and the monitor tries again.
 */
static int
resolve_shared_state(struct config *config, char *error)
{
	char message[CONFIG_ERROR_SIZE];

	explicit_bzero(&config->shared_state_uri, sizeof(config->shared_state_uri));
	if (config->shared_state == NULL)
		return 0;
	if (shared_state_uri_parse(config->shared_state, &config->shared_state_uri, message,
	    sizeof(message)) != 0)
		return report(error, NULL, -EINVAL, "shared_state: %s", message);
	if (shared_state_uri_resolve(&config->shared_state_uri, message, sizeof(message)) != 0)
		config->shared_state_uri.address[0] = '\0';
	return 0;
}

/* 1 when some listener expects a PROXY header. */
int
config_expects_proxy(const struct config *config)
{
	unsigned i;

	if (config->proxy_protocol)
		return 1;
	for (i = 0; i < config->listen_count; i++)
		if (config->listen[i].proxy)
			return 1;
	return 0;
}

/* PROXY headers need someone to believe them from; parses proxy_trusted. */
static int
validate_proxy(struct config *config, char *error)
{
	char word[64];

	memset(&config->proxy_networks, 0, sizeof(config->proxy_networks));
	if (config->proxy_trusted != NULL &&
	    proxy_trusted_parse(config->proxy_trusted, &config->proxy_networks, word,
	    sizeof(word)) < 0)
		return report(error, NULL, -EINVAL, "proxy_trusted: '%s' is not an address "
		    "or network (such as 10.0.0.0/8 or fd00::/8)", word);
	if (config_expects_proxy(config) && config->proxy_networks.count == 0)
		return report(error, NULL, -EINVAL, "%s needs proxy_trusted (the addresses of "
		    "the balancers whose PROXY headers are believed)",
		    config->proxy_protocol ? "proxy_protocol = yes" : "listen ... proxy");
	return 0;
}

int
config_validate(struct config *config, char error[CONFIG_ERROR_SIZE])
{
	struct stat status;
	int fd, result;

	if (config->anonymous) {
		if (config->anonymous_root == NULL)
			return report(error, NULL, -EINVAL,
			    "anonymous = yes needs anonymous_root to be set");
		if (stat(config->anonymous_root, &status) < 0)
			return report(error, NULL, -errno,
			    "anonymous_root '%s': %s (anonymous = yes needs an existing "
			    "directory)", config->anonymous_root, strerror(errno));
		if (!S_ISDIR(status.st_mode))
			return report(error, NULL, -ENOTDIR,
			    "anonymous_root '%s' is not a directory", config->anonymous_root);
	}
	if (config->passwd_file != NULL) {
		if ((fd = open(config->passwd_file, O_RDONLY | O_CLOEXEC)) < 0)
			return report(error, NULL, -errno, "passwd_file '%s': %s",
			    config->passwd_file, strerror(errno));
		close(fd);
	}
	if ((result = validate_proxy(config, error)) != 0)
		return result;
	if ((result = resolve_pasv_address(config, error)) != 0)
		return result;
	if ((result = resolve_shared_state(config, error)) != 0)
		return result;
	if (config->system_users && config->passwd_file != NULL)
		return report(error, NULL, -EINVAL,
		    "system_users and passwd_file exclude each other (choose one source of users)");
	if (config->passwd_db != NULL && (config->system_users || config->passwd_file != NULL))
		return report(error, NULL, -EINVAL,
		    "passwd_db and %s exclude each other (choose one source of users)",
		    config->system_users ? "system_users" : "passwd_file");
	if (config->login == LOGIN_SHELL && (config->system_users || config->passwd_file != NULL ||
	    config->passwd_db != NULL))
		return report(error, NULL, -EINVAL,
		    "login = shell lets the shell module check passwords: it excludes %s",
		    config->system_users ? "system_users" :
		    config->passwd_file != NULL ? "passwd_file" : "passwd_db");
	if (config->system_users && config->anonymous && config->user == NULL)
		return report(error, NULL, -EINVAL,
		    "system_users with anonymous = yes needs user (the account guest "
		    "sessions run as)");
	if (config->system_users && config->chroot != NULL)
		return report(error, NULL, -EINVAL,
		    "system_users cannot be combined with chroot (PAM and the account "
		    "database live outside it; each user is confined to their home)");
	if (config->home_root == NULL)
		return report(error, NULL, -EINVAL, "home_root must be set");
	if (config->shell == NULL)
		return report(error, NULL, -EINVAL, "shell must be set");
	if ((config->tls_cert == NULL) != (config->tls_key == NULL))
		return report(error, NULL, -EINVAL,
		    "%s is set but %s is not (set both tls_cert and tls_key, or neither)",
		    config->tls_cert != NULL ? "tls_cert" : "tls_key",
		    config->tls_cert != NULL ? "tls_key" : "tls_cert");
	if ((unsigned)config->tls > TLS_IMPLICIT)
		return report(error, NULL, -EINVAL, "tls has an unknown mode");
	if (config->tls == TLS_IMPLICIT && config->listen_implicit == NULL)
		return report(error, NULL, -EINVAL, "tls = implicit needs listen_implicit");
	if (config->tls != TLS_OFF && config->tls_cert == NULL)
		return report(error, NULL, -EINVAL, "tls = %s needs tls_cert and tls_key",
		    tls_mode_names[config->tls]);
	if (config->pasv_port_min != 0 || config->pasv_port_max != 0) {
		if (config->pasv_port_min < 1024 || config->pasv_port_max > 65535 ||
		    config->pasv_port_min > config->pasv_port_max)
			return report(error, NULL, -EINVAL,
			    "pasv_ports %u-%u is not a range within 1024-65535",
			    config->pasv_port_min, config->pasv_port_max);
	}
	if (config->log == NULL || !log_destination_valid(config->log))
		return report(error, NULL, -EINVAL, "log must be stderr, syslog or "
		    "syslog:FACILITY");
	if (config->listen_count == 0)
		return report(error, NULL, -EDESTADDRREQ,
		    "no listen address (set listen = ADDRESS:PORT)");
	return 0;
}

/* Quotes a value that would otherwise lose blanks or quotes at its ends when read back. */
static void
print_text(FILE *out, const char *name, const char *value)
{
	size_t length;

	if (value == NULL) {
		fprintf(out, "%s = none\n", name);
		return;
	}
	length = strlen(value);
	if (length > 0 && (is_blank(value[0]) || is_blank(value[length - 1]) ||
	    (value[0] == '"' && value[length - 1] == '"')))
		fprintf(out, "%s = \"%s\"\n", name, value);
	else
		fprintf(out, "%s = %s\n", name, value);
}

/*
 * A URI with its passwords masked: the one of scheme://user:PASSWORD@host and
 * any password=VALUE parameter. The printed file then logs in no one, but
 * it reads back, and the configuration can be shown without giving them away.
 */
static void
print_masked_uri(FILE *out, const char *name, const char *value)
{
	char masked[CONFIG_VALUE_MAX + 16];
	const char *authority, *end, *at = NULL, *colon, *p;
	size_t length = 0;

	authority = strstr(value, "://");
	authority = authority != NULL ? authority + 3 : value;
	end = authority + strcspn(authority, "/?");
	for (p = authority; p < end; p++)
		if (*p == '@')
			at = p;
	colon = at != NULL ? memchr(authority, ':', (size_t)(at - authority)) : NULL;
	if (colon != NULL && colon + 1 == at)
		colon = NULL;	/* an empty password: nothing to hide */
	for (p = value; *p != '\0' && length + 9 < sizeof(masked); p++) {
		if (colon != NULL && p == colon + 1) {
			memcpy(masked + length, "********", 8);
			length += 8;
			p = at - 1;
			continue;
		}
		if ((p == value || p[-1] == '?' || p[-1] == '&') &&
		    strncmp(p, "password=", 9) == 0) {
			memcpy(masked + length, "password=********", 17);
			length += 17;
			p += 8 + strcspn(p + 9, "&");
			continue;
		}
		masked[length++] = *p;
	}
	masked[length] = '\0';
	print_text(out, name, masked);
	explicit_bzero(masked, sizeof(masked));
}

/* The largest suffix that says the size exactly: 1048576 prints as 1M. */
static void
print_size(FILE *out, const char *name, uint64_t size)
{
	static const char suffixes[] = "KMG";
	size_t i;
	int used = -1;

	if (size == CONFIG_SIZE_UNSET) {
		fprintf(out, "%s = none\n", name);
		return;
	}
	for (i = 0; size != 0 && i < sizeof(suffixes) - 1 && size % SIZE_UNIT == 0; i++) {
		size /= SIZE_UNIT;
		used = (int)i;
	}
	if (used < 0)
		fprintf(out, "%s = %llu\n", name, (unsigned long long)size);
	else
		fprintf(out, "%s = %llu%c\n", name, (unsigned long long)size, suffixes[used]);
}

/* One line per KEY=VALUE, none for an empty list: read back, each means the same. */
static void
print_lines(FILE *out, const char *name, const struct config_lines *lines)
{
	unsigned i;

	if (lines->count == 0)
		fprintf(out, "%s = none\n", name);
	for (i = 0; i < lines->count && i < CONFIG_MAX_SHELL_OPTIONS; i++)
		print_text(out, name, lines->lines[i]);
}

void
config_print(const struct config *config, FILE *out)
{
	const struct config_key *key;
	const void *field;
	unsigned mode, i;
	size_t k;

	for (k = 0; k < CONFIG_KEY_COUNT; k++) {
		key = &config_keys[k];
		field = const_field_of(config, key);
		fprintf(out, "# %s\n", key->description);
		switch (key->type) {
		case KEY_BOOL:
			fprintf(out, "%s = %s\n", key->name, *(const int *)field ? "yes" : "no");
			break;
		case KEY_UNSIGNED:
		case KEY_MILLISECONDS:
			fprintf(out, "%s = %u\n", key->name, *(const unsigned *)field);
			break;
		case KEY_STRING:
		case KEY_PATH:
		case KEY_ADDRESS:
			if (key->holds_password && *(const char *const *)field != NULL)
				print_masked_uri(out, key->name, *(const char *const *)field);
			else
				print_text(out, key->name, *(const char *const *)field);
			break;
		case KEY_ENUM:
			mode = *(const unsigned *)field;
			for (i = 0; key->choices[i] != NULL && i < mode; i++)
				continue;
			fprintf(out, "%s = %s\n", key->name,
			    key->choices[i] != NULL ? key->choices[i] : "invalid");
			break;
		case KEY_PORT_RANGE:
			if (*(const unsigned *)field == 0 &&
			    *(const unsigned *)((const char *)config + key->second_offset) == 0)
				fprintf(out, "%s = none\n", key->name);
			else
				fprintf(out, "%s = %u-%u\n", key->name, *(const unsigned *)field,
				    *(const unsigned *)((const char *)config +
				    key->second_offset));
			break;
		case KEY_SIZE:
			print_size(out, key->name, *(const uint64_t *)field);
			break;
		case KEY_LISTEN:
			if (config->listen_count == 0)
				fprintf(out, "%s = none\n", key->name);
			for (i = 0; i < config->listen_count && i < CONFIG_MAX_LISTEN; i++)
				fprintf(out, "%s = %s%s\n", key->name, config->listen[i].text,
				    config->listen[i].proxy ? " proxy" : "");
			break;
		case KEY_LINES:
			print_lines(out, key->name, field);
			break;
		}
	}
}
