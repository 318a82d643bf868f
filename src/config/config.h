/*
 * config: every setting ftpd has, its default, and the parser for ftpd.conf and -o overrides.
 * Unknown keys and bad values are errors that name the file and line.
 */
#ifndef FTPD_CONFIG_H
#define FTPD_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "proxy/trusted.h"
#include "shared_state/uri.h"

#define CONFIG_MAX_LISTEN 16
#define CONFIG_MAX_WORKERS 64
/* shell_option and anonymous_shell_option lines each key may hold. */
#define CONFIG_MAX_SHELL_OPTIONS 64
#define CONFIG_ERROR_SIZE 512
/* A size key set to none (anonymous_max_rate_down: follow max_rate_down). */
#define CONFIG_SIZE_UNSET UINT64_MAX

/*
 * The longest value a key takes. Config lines are at most 4096 bytes, and
 * config_print's "key = \"value\"" of any key must still fit in one, or
 * ftpd -t would print a file that ftpd refuses.
 */
#define CONFIG_VALUE_MAX 4032

enum tls_mode { TLS_OFF, TLS_EXPLICIT, TLS_REQUIRED, TLS_IMPLICIT };
/* Who checks passwords: ftpd (passwd_file, passwd_db, system_users) or the shell module. */
enum login_source { LOGIN_FTPD, LOGIN_SHELL };

struct listen_address {
	struct sockaddr_storage address;
	socklen_t length;
	char text[64];			/* as written: "127.0.0.1:2121", "[::1]:21" */
	int proxy;			/* "... proxy": a PROXY header comes first */
};

/*
 * The KEY=VALUE lines of a repeatable shell option key, in the order given.
 * Until the shell ABI has a field for them, a module gets them joined by '\n'.
 */
struct config_lines {
	char *lines[CONFIG_MAX_SHELL_OPTIONS];
	unsigned count;
};

struct config {
	struct listen_address listen[CONFIG_MAX_LISTEN];
	unsigned listen_count;

	int anonymous;			/* allow anonymous/ftp logins */
	char *anonymous_root;
	char *passwd_file;		/* NULL: no password logins */
	/* postgresql:// URI of the users' database (libpq's syntax); NULL: none */
	char *passwd_db;
	char *home_root;		/* homes of password users without their own */
	int system_users;
	enum login_source login;	/* shell: the module's authenticate checks passwords */
	/* Shells: "fs", "anon", a NAME found as shell_dir/NAME.so, or a module's path. */
	char *shell;			/* for password users */
	struct config_lines shell_options;	/* shell_option lines, for shell */
	char *anonymous_shell;		/* for guests, always read-only */
	struct config_lines anonymous_shell_options;	/* anonymous_shell_option lines */
	char *shell_dir;		/* where a shell NAME is looked for */
	/* Where shell and anonymous_shell were set, for messages: "FILE:LINE", "-o KEY=VALUE"... */
	char *shell_place;
	char *anonymous_shell_place;

	unsigned pasv_port_min;		/* 0: kernel-chosen */
	unsigned pasv_port_max;
	char *pasv_address;		/* NULL: the control connection's local address */
	struct in_addr pasv_announced;	/* pasv_address, resolved by config_validate */

	unsigned max_clients;		/* 0: unlimited */
	unsigned max_clients_per_ip;	/* 0: unlimited */
	unsigned max_prelogin_per_ip;	/* connections not logged in yet; 0: unlimited */
	unsigned max_sessions_per_user;	/* logged-in sessions, anonymous excepted; 0: unlimited */
	unsigned idle_timeout;		/* seconds without a complete command */
	unsigned login_timeout;		/* seconds from connecting to logged in */
	unsigned tls_handshake_timeout;	/* seconds */
	unsigned data_timeout;		/* seconds */
	unsigned max_login_failures;	/* failures before the connection is closed */
	unsigned login_failure_delay_ms;
	unsigned ban_after_failures;	/* failures from one address that ban it; 0: never */
	unsigned ban_time;		/* seconds */
	char *shared_state;		/* redis:// URI; NULL: every limit is this instance's */
	struct shared_state_uri shared_state_uri;	/* shared_state, resolved by config_validate */
	unsigned shared_state_ttl;	/* seconds a vanished instance's counts outlive it */

	/* Sizes in bytes; the config's K, M and G are 1024, 1024^2 and 1024^3. */
	uint64_t max_rate_down;		/* bytes per second a session downloads; 0: unlimited */
	uint64_t max_rate_up;		/* bytes per second a session uploads; 0: unlimited */
	uint64_t anonymous_max_rate_down; /* for guests; CONFIG_SIZE_UNSET: max_rate_down */
	int keep_partial_uploads;	/* a cut-off upload of a new file keeps what arrived */
	int upload_sync;		/* fsync an upload before its 226 */
	uint64_t quota_bytes;		/* bytes of files a user's home may hold; 0: no limit */
	unsigned quota_files;		/* entries a user's home may hold; 0: no limit */

	char *tls_cert;
	char *tls_key;
	enum tls_mode tls;
	char *tls_ciphers;		/* TLS 1.2 cipher list; NULL: OpenSSL's defaults */
	char *tls_min_protocol;		/* "TLSv1.2" or "TLSv1.3" */
	char *tls_anonymous;		/* "required" or "optional" under tls = required */
	int tls_require_reuse;		/* data connections must resume the control session */
	char *listen_implicit;		/* address for implicit TLS; NULL: none */

	char *user;			/* drop privileges to this user; NULL: stay */
	char *chroot;
	unsigned workers;
	int proxy_protocol;		/* every listener: a PROXY header comes first */
	char *proxy_trusted;		/* the networks PROXY headers are taken from */
	struct proxy_trusted proxy_networks;	/* proxy_trusted, parsed by config_validate */
	unsigned proxy_timeout;		/* seconds the PROXY header may take */
	char *log;			/* "stderr", "syslog", "syslog:FACILITY" */
	unsigned log_level;		/* enum log_level */
	char *xferlog;
	char *pid_file;			/* daemon mode; NULL: none */
	unsigned shutdown_grace;	/* seconds transfers may finish after SIGTERM */
	char *banner;			/* text of the 220 greeting */

	char *listen_source;		/* private to config.c: the source that set listen last */
};

/* Fills every key with its default. 0 or -ENOMEM. */
int config_init(struct config *config);
void config_free(struct config *config);

/*
 * Reads KEY = VALUE lines from path into config. 0, or -errno with a message
 * "PATH:LINE: what is wrong" (or "PATH: strerror") in error.
 */
int config_load_file(struct config *config, const char *path, char error[CONFIG_ERROR_SIZE]);

/*
 * Sets one key from an override "KEY=VALUE" (ftpd -o). Same errors, with the
 * message naming the override.
 */
int config_apply_override(struct config *config, const char *assignment,
    char error[CONFIG_ERROR_SIZE]);

/*
 * Checks what can only be checked as a whole (anonymous_root exists...),
 * and parses what is used parsed (proxy_trusted into proxy_networks).
 */
int config_validate(struct config *config, char error[CONFIG_ERROR_SIZE]);

/* 1 when some listener expects a PROXY header (proxy_protocol, or listen ... proxy). */
int config_expects_proxy(const struct config *config);

/* A size as the config writes it: digits and an optional K, M or G (1024s). 0 or -EINVAL. */
int config_parse_size(const char *text, uint64_t *out);

/* Parses "ADDRESS:PORT" as the listen key does. 0 or -EINVAL. */
int config_parse_listen_address(const char *value, struct listen_address *out);

/* Writes the effective configuration as a valid ftpd.conf. */
void config_print(const struct config *config, FILE *out);

#endif
