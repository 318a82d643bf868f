/*
 * test_config: the config part (defaults, every key type, ftpd.conf and -o parsing,
 * validation, print/load round trip) and the escaping of log.c, against real files.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "log/log.h"
#include "util/attributes.h"

/* A scratch directory per test, removed by remove_scratch(). */
static char scratch[64];

static void
make_scratch(void)
{
	strcpy(scratch, "/tmp/ftpd-test-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(scratch));
}

static int
remove_entry(const char *path, const struct stat *status UNUSED, int type UNUSED, struct FTW *walk UNUSED)
{
	return remove(path);
}

static void
remove_scratch(void)
{
	if (scratch[0] != '\0')
		nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	scratch[0] = '\0';
}

/* scratch/name, in a static buffer: valid until the next call. */
static const char *
scratch_path(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", scratch, name);
	return path;
}

static const char *
write_scratch_file(const char *name, const char *content, size_t length)
{
	const char *path = scratch_path(name);
	FILE *file = fopen(path, "w");

	ck_assert_ptr_nonnull(file);
	ck_assert_uint_eq(fwrite(content, 1, length, file), length);
	ck_assert_int_eq(fclose(file), 0);
	return path;
}

/* config_print's output, malloc'd. */
static char *
printed(const struct config *config)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	ck_assert_ptr_nonnull(out);
	config_print(config, out);
	ck_assert_int_eq(fclose(out), 0);
	return text;
}

/* Whether config_print writes exactly this line. */
static int
prints_line(const struct config *config, const char *line)
{
	char *text = printed(config), *wanted;
	int found;

	ck_assert_int_ge(asprintf(&wanted, "\n%s\n", line), 0);
	found = strstr(text, wanted) != NULL;
	free(wanted);
	free(text);
	return found;
}

START_TEST(test_defaults)
{
	struct config config;
	const struct sockaddr_in *ipv4;

	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_uint_eq(config.listen_count, 1);
	ck_assert_str_eq(config.listen[0].text, "127.0.0.1:2121");
	ipv4 = (const struct sockaddr_in *)&config.listen[0].address;
	ck_assert_int_eq(ipv4->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(ipv4->sin_port), 2121);
	ck_assert_uint_eq(ntohl(ipv4->sin_addr.s_addr), INADDR_LOOPBACK);
	ck_assert_uint_eq(config.listen[0].length, sizeof(struct sockaddr_in));
	ck_assert_int_eq(config.anonymous, 1);
	ck_assert_str_eq(config.anonymous_root, "/srv/ftp");
	ck_assert_ptr_null(config.passwd_file);
	ck_assert_str_eq(config.home_root, "/home");
	ck_assert_int_eq(config.system_users, 0);
	ck_assert_str_eq(config.shell, "fs");
	ck_assert_uint_eq(config.shell_options.count, 0);
	ck_assert_str_eq(config.anonymous_shell, "anon");
	ck_assert_uint_eq(config.anonymous_shell_options.count, 0);
	ck_assert_ptr_nonnull(config.shell_dir);
	ck_assert_str_eq(config.shell_place, "built-in default");
	ck_assert_uint_eq(config.pasv_port_min, 0);
	ck_assert_uint_eq(config.pasv_port_max, 0);
	ck_assert_ptr_null(config.pasv_address);
	ck_assert_uint_eq(config.max_clients, 512);
	/* Like vsftpd and proftpd: an office behind NAT is not refused by default. */
	ck_assert_uint_eq(config.max_clients_per_ip, 0);
	ck_assert_uint_eq(config.max_prelogin_per_ip, 16);
	ck_assert_uint_eq(config.max_sessions_per_user, 0);
	ck_assert_uint_eq(config.idle_timeout, 600);
	ck_assert_uint_eq(config.login_timeout, 60);
	ck_assert_uint_eq(config.tls_handshake_timeout, 10);
	ck_assert_uint_eq(config.data_timeout, 30);
	ck_assert_uint_eq(config.max_login_failures, 3);
	ck_assert_uint_eq(config.login_failure_delay_ms, 1000);
	ck_assert_uint_eq(config.ban_after_failures, 10);
	ck_assert_uint_eq(config.ban_time, 600);
	ck_assert_uint_eq(config.max_rate_down, 0);
	ck_assert_uint_eq(config.max_rate_up, 0);
	ck_assert_uint_eq(config.anonymous_max_rate_down, CONFIG_SIZE_UNSET);
	ck_assert_int_eq(config.keep_partial_uploads, 0);
	ck_assert_uint_eq(config.quota_bytes, 0);
	ck_assert_uint_eq(config.quota_files, 0);
	ck_assert_ptr_null(config.tls_cert);
	ck_assert_ptr_null(config.tls_key);
	ck_assert_int_eq(config.tls, TLS_OFF);
	ck_assert_str_eq(config.user, "ftpd");
	ck_assert_ptr_null(config.pid_file);
	ck_assert_uint_eq(config.shutdown_grace, 30);
	ck_assert_ptr_null(config.chroot);
	ck_assert_uint_eq(config.workers, 0);	/* one per CPU */
	ck_assert_int_eq(config.proxy_protocol, 0);
	ck_assert_str_eq(config.log, "syslog");
	ck_assert_ptr_null(config.xferlog);
	ck_assert_str_eq(config.banner, "ftpd ready.");
	config_free(&config);
}
END_TEST

START_TEST(test_init_on_garbage_and_double_free)
{
	struct config config;

	memset(&config, 0xa5, sizeof(config));
	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_str_eq(config.banner, "ftpd ready.");
	config_free(&config);
	ck_assert_ptr_null(config.banner);
	ck_assert_ptr_null(config.anonymous_root);
	config_free(&config);
}
END_TEST

/* Sets key the way ftpd -o key=value does: errors then start "-o key=value: ". */
static int
set_value(struct config *config, const char *key, const char *value,
    char error[CONFIG_ERROR_SIZE])
{
	char assignment[1024];

	snprintf(assignment, sizeof(assignment), "%s=%s", key, value);
	return config_apply_override(config, assignment, error);
}

/* A value a key accepts, and the line config_print then writes for it. */
static const struct {
	const char *key;
	const char *value;
	const char *printed_line;
} good_values[] = {
	{ "anonymous", "no", "anonymous = no" },
	{ "anonymous", "YES", "anonymous = yes" },
	{ "anonymous", "false", "anonymous = no" },
	{ "system_users", "true", "system_users = yes" },
	{ "system_users", "on", "system_users = yes" },
	{ "proxy_protocol", "1", "proxy_protocol = yes" },
	{ "proxy_protocol", "off", "proxy_protocol = no" },
	{ "proxy_protocol", "0", "proxy_protocol = no" },
	{ "max_clients", "0", "max_clients = 0" },
	{ "max_clients", "100000", "max_clients = 100000" },
	{ "max_clients", "0007", "max_clients = 7" },
	{ "max_clients_per_ip", "1", "max_clients_per_ip = 1" },
	{ "idle_timeout", "1", "idle_timeout = 1" },
	{ "idle_timeout", "86400", "idle_timeout = 86400" },
	{ "data_timeout", "3600", "data_timeout = 3600" },
	{ "max_login_failures", "1", "max_login_failures = 1" },
	{ "max_login_failures", "100", "max_login_failures = 100" },
	{ "login_failure_delay", "0", "login_failure_delay = 0" },
	{ "login_failure_delay", "60000", "login_failure_delay = 60000" },
	{ "login_failure_delay", "250ms", "login_failure_delay = 250" },
	{ "workers", "64", "workers = 64" },
	/* passwords in URIs are masked: ftpd -t may be shown to anyone */
	{ "shared_state", "redis://:hunter2@127.0.0.1:6380/2",
	  "shared_state = redis://:********@127.0.0.1:6380/2" },
	{ "shared_state", "redis://[::1]", "shared_state = redis://[::1]" },
	{ "shared_state_ttl", "3", "shared_state_ttl = 3" },
	{ "passwd_db", "postgresql://ftpd:pw@db/ftp?sslmode=require&password=x",
	  "passwd_db = postgresql://ftpd:********@db/ftp?sslmode=require&password=********" },
	/* sizes: K, M and G are powers of 1024; printed with the largest exact one */
	{ "max_rate_down", "0", "max_rate_down = 0" },
	{ "max_rate_down", "1M", "max_rate_down = 1M" },
	{ "max_rate_down", "1048576", "max_rate_down = 1M" },
	{ "max_rate_down", "1536k", "max_rate_down = 1536K" },
	{ "max_rate_down", "1000000", "max_rate_down = 1000000" },
	{ "max_rate_up", "2048M", "max_rate_up = 2G" },
	{ "max_rate_up", "1023", "max_rate_up = 1023" },
	{ "max_rate_up", "1048576G", "max_rate_up = 1048576G" },
	{ "anonymous_max_rate_down", "none", "anonymous_max_rate_down = none" },
	{ "anonymous_max_rate_down", "0", "anonymous_max_rate_down = 0" },
	{ "anonymous_max_rate_down", "64K", "anonymous_max_rate_down = 64K" },
	{ "keep_partial_uploads", "yes", "keep_partial_uploads = yes" },
	{ "quota_bytes", "10G", "quota_bytes = 10G" },
	{ "quota_bytes", "1500", "quota_bytes = 1500" },
	{ "quota_files", "1000000000", "quota_files = 1000000000" },
	{ "anonymous_root", "/srv/with space", "anonymous_root = /srv/with space" },
	{ "anonymous_root", "relative/dir", "anonymous_root = relative/dir" },
	{ "passwd_file", "/etc/ftpd.passwd", "passwd_file = /etc/ftpd.passwd" },
	{ "passwd_file", "none", "passwd_file = none" },
	{ "passwd_file", "", "passwd_file = none" },
	{ "home_root", "/srv/homes", "home_root = /srv/homes" },
	{ "shell", "/usr/lib/ftpd/custom.so", "shell = /usr/lib/ftpd/custom.so" },
	{ "shell", "custom", "shell = custom" },
	{ "shell", "./custom.so", "shell = ./custom.so" },
	{ "shell_option", "quota=5,tag#1", "shell_option = quota=5,tag#1" },
	{ "shell_option", "greeting = hi there", "shell_option = greeting=hi there" },
	{ "shell_option", "empty=", "shell_option = empty=" },
	{ "shell_option", "none", "shell_option = none" },
	{ "anonymous_shell", "readonly-s3", "anonymous_shell = readonly-s3" },
	{ "anonymous_shell_option", "bucket=pub", "anonymous_shell_option = bucket=pub" },
	{ "shell_dir", "/opt/ftpd shells", "shell_dir = /opt/ftpd shells" },
	{ "pasv_ports", "1024-65535", "pasv_ports = 1024-65535" },
	{ "pasv_ports", "50000-50000", "pasv_ports = 50000-50000" },
	{ "pasv_ports", "none", "pasv_ports = none" },
	{ "pasv_address", "192.0.2.1", "pasv_address = 192.0.2.1" },
	{ "pasv_address", "ftp-1.Example.org", "pasv_address = ftp-1.Example.org" },
	{ "pasv_address", "none", "pasv_address = none" },
	{ "tls_cert", "/etc/ssl/ftpd.pem", "tls_cert = /etc/ssl/ftpd.pem" },
	{ "tls_key", "/etc/ssl/ftpd.key", "tls_key = /etc/ssl/ftpd.key" },
	{ "tls", "explicit", "tls = explicit" },
	{ "tls", "required", "tls = required" },
	{ "tls", "implicit", "tls = implicit" },
	{ "tls", "OFF", "tls = off" },
	{ "user", "ftp", "user = ftp" },
	{ "chroot", "/var/empty", "chroot = /var/empty" },
	{ "log", "stderr", "log = stderr" },
	{ "log", "syslog", "log = syslog" },
	{ "log", "syslog:local7", "log = syslog:local7" },
	{ "log", "syslog:authpriv", "log = syslog:authpriv" },
	{ "log", "syslog:ftp", "log = syslog:ftp" },
	{ "xferlog", "/var/log/xferlog", "xferlog = /var/log/xferlog" },
	{ "banner", "Welcome # to ftp", "banner = Welcome # to ftp" },
	/* quoted as in a file, to keep what trimming would drop */
	{ "banner", "\"  padded\t\"", "banner = \"  padded\t\"" },
	{ "banner", "\"\"quoted\"\"", "banner = \"\"quoted\"\"" },
	{ "listen", "[::1]:2121", "listen = [::1]:2121" },
	{ "listen", "*:21", "listen = *:21" },
	{ "listen", "[::]:21", "listen = [::]:21" },
	{ "listen", "0.0.0.0:65535", "listen = 0.0.0.0:65535" },
	{ "listen", "127.0.0.1:21   proxy", "listen = 127.0.0.1:21 proxy" },
	{ "listen", "[fe80::1%1]:21", "listen = [fe80::1%1]:21" },
	{ "listen", "none", "listen = none" },
};

START_TEST(test_good_value)
{
	struct config config;
	char error[CONFIG_ERROR_SIZE] = "";

	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_msg(set_value(&config, good_values[_i].key, good_values[_i].value, error) == 0, "%s = '%s' refused: %s", good_values[_i].key,
	    good_values[_i].value, error);
	ck_assert_msg(prints_line(&config, good_values[_i].printed_line),
	    "config_print lacks '%s'", good_values[_i].printed_line);
	config_free(&config);
}
END_TEST

/* A value a key refuses, and what its error says after "-o KEY=VALUE: ". */
static const struct {
	const char *key;
	const char *value;
	const char *message;
} bad_values[] = {
	{ "anonymous", "maybe", "bad value for anonymous: 'maybe' (expected yes or no)" },
	{ "anonymous", "", "bad value for anonymous: '' (expected yes or no)" },
	{ "anonymous", "yes please", "bad value for anonymous: 'yes please'" },
	{ "max_clients", "abc",
	  "bad value for max_clients: 'abc' (expected a whole number from 0 to 100000)" },
	{ "max_clients", "100001", "bad value for max_clients: '100001' (expected a whole "
	  "number from 0 to 100000)" },
	{ "max_clients", "-1", "bad value for max_clients: '-1'" },
	{ "max_clients", "+5", "bad value for max_clients: '+5'" },
	{ "max_clients", "5 5", "bad value for max_clients: '5 5'" },
	{ "max_clients", "1e3", "bad value for max_clients: '1e3'" },
	{ "max_clients", "99999999999999999999999999", "bad value for max_clients: '9999" },
	{ "max_clients", "", "bad value for max_clients: ''" },
	{ "idle_timeout", "0",
	  "bad value for idle_timeout: '0' (expected a whole number from 1 to 86400)" },
	{ "idle_timeout", "86401", "bad value for idle_timeout: '86401'" },
	{ "data_timeout", "3601",
	  "bad value for data_timeout: '3601' (expected a whole number from 1 to 3600)" },
	{ "max_login_failures", "0",
	  "bad value for max_login_failures: '0' (expected a whole number from 1 to 100)" },
	{ "max_login_failures", "101", "bad value for max_login_failures: '101'" },
	{ "login_failure_delay", "60001",
	  "bad value for login_failure_delay: '60001' (expected a whole number of "
	  "milliseconds from 0 to 60000)" },
	{ "login_failure_delay", "1s", "bad value for login_failure_delay: '1s'" },
	{ "login_failure_delay", "ms", "bad value for login_failure_delay: 'ms'" },
	{ "workers", "-1", "bad value for workers: '-1' (expected a whole number from 0 to 64)" },
	{ "workers", "65", "bad value for workers: '65'" },
	{ "max_rate_down", "1T",
	  "bad value for max_rate_down: '1T' (expected a number of bytes, optionally followed "
	  "by K, M or G (1024, 1048576 or 1073741824 bytes), at most 1048576G)" },
	{ "max_rate_down", "none", "bad value for max_rate_down: 'none'" },
	{ "max_rate_down", "M", "bad value for max_rate_down: 'M'" },
	{ "max_rate_down", "1.5M", "bad value for max_rate_down: '1.5M'" },
	{ "max_rate_down", "1 M", "bad value for max_rate_down: '1 M'" },
	{ "max_rate_down", "1MB", "bad value for max_rate_down: '1MB'" },
	{ "max_rate_down", "-1", "bad value for max_rate_down: '-1'" },
	{ "max_rate_up", "1048577G", "bad value for max_rate_up: '1048577G'" },
	{ "max_rate_up", "99999999999999999999999", "bad value for max_rate_up" },
	{ "anonymous_max_rate_down", "fast",
	  "bad value for anonymous_max_rate_down: 'fast' (expected a number of bytes, "
	  "optionally followed by K, M or G (1024, 1048576 or 1073741824 bytes), at most "
	  "1048576G, or none)" },
	{ "quota_bytes", "-5", "bad value for quota_bytes: '-5'" },
	{ "quota_bytes", "5 G", "bad value for quota_bytes: '5 G'" },
	{ "quota_files", "1000000001",
	  "bad value for quota_files: '1000000001' (expected a whole number from 0 to "
	  "1000000000)" },
	{ "quota_files", "10K", "bad value for quota_files: '10K'" },
	{ "anonymous_root", "none", "bad value for anonymous_root: 'none' (expected a path" },
	{ "anonymous_root", "", "bad value for anonymous_root: ''" },
	{ "home_root", "none", "bad value for home_root: 'none'" },
	{ "shell", "", "bad value for shell: ''" },
	{ "banner", "none", "bad value for banner: 'none'" },
	{ "banner", "two\r\n331 lines", "bad value for banner: control characters" },
	{ "banner", "escape \x1b[2J",
	  "bad value for banner: control characters are not allowed" },
	{ "xferlog", "/var/log/x\nfer", "bad value for xferlog: control characters" },
	{ "pasv_ports", "1023-2000",
	  "bad value for pasv_ports: '1023-2000' (expected MIN-MAX with ports from 1024 to "
	  "65535 and MIN <= MAX, or none)" },
	{ "pasv_ports", "2000-1999", "bad value for pasv_ports: '2000-1999'" },
	{ "pasv_ports", "1024-65536", "bad value for pasv_ports: '1024-65536'" },
	{ "pasv_ports", "1024", "bad value for pasv_ports: '1024'" },
	{ "pasv_ports", "1024-", "bad value for pasv_ports: '1024-'" },
	{ "pasv_ports", "-1024", "bad value for pasv_ports: '-1024'" },
	{ "pasv_ports", "0-0", "bad value for pasv_ports: '0-0'" },
	{ "pasv_ports", "a-b", "bad value for pasv_ports: 'a-b'" },
	{ "pasv_ports", "2000 - 3000", "bad value for pasv_ports" },
	{ "pasv_address", "::1",
	  "bad value for pasv_address: '::1' (expected a numeric IPv4 address or a host name, "
	  "or none)" },
	{ "pasv_address", "-ftp.example.org", "bad value for pasv_address" },
	{ "pasv_address", "ftp-.example.org", "bad value for pasv_address" },
	{ "pasv_address", "ftp..example.org", "bad value for pasv_address" },
	{ "pasv_address", "ftp.example.org.", "bad value for pasv_address" },
	{ "pasv_address", "ftp_1.example.org", "bad value for pasv_address" },
	{ "pasv_address", "256.1.1.1", "bad value for pasv_address" },
	{ "pasv_address", "127.1", "bad value for pasv_address" },
	{ "pasv_address", "ftp example.org", "bad value for pasv_address" },
	{ "tls", "on",
	  "bad value for tls: 'on' (expected one of off, explicit, required, implicit)" },
	{ "tls", "", "bad value for tls: ''" },
	{ "log", "file",
	  "bad value for log: 'file' (expected stderr, syslog or syslog:FACILITY" },
	{ "log", "syslog:", "bad value for log: 'syslog:'" },
	{ "log", "syslog:mail", "bad value for log: 'syslog:mail'" },
	{ "log", "syslog:local8", "bad value for log: 'syslog:local8'" },
	{ "log", "none", "bad value for log: 'none'" },
	{ "listen", "localhost:21",
	  "bad value for listen: 'localhost:21' (expected ADDRESS:PORT" },
	{ "listen", "127.0.0.1", "bad value for listen: '127.0.0.1'" },
	{ "listen", "127.0.0.1:0", "bad value for listen: '127.0.0.1:0'" },
	{ "listen", "127.0.0.1:65536", "bad value for listen: '127.0.0.1:65536'" },
	{ "listen", "127.0.0.1:ftp", "bad value for listen: '127.0.0.1:ftp'" },
	{ "listen", "127.1:21", "bad value for listen: '127.1:21'" },
	{ "listen", "::1:21", "bad value for listen: '::1:21'" },
	{ "listen", "[::1]", "bad value for listen: '[::1]'" },
	{ "listen", "[::1]21", "bad value for listen: '[::1]21'" },
	{ "listen", "[::1:21", "bad value for listen: '[::1:21'" },
	{ "listen", "[]:21", "bad value for listen: '[]:21'" },
	{ "listen", "[127.0.0.1]:21", "bad value for listen: '[127.0.0.1]:21'" },
	{ "listen", "127.0.0.1:21 proxy tls", "bad value for listen: '127.0.0.1:21 proxy tls'" },
	{ "listen", "127.0.0.1:21 proxi", "bad value for listen: '127.0.0.1:21 proxi'" },
	{ "proxy_trusted", "10.0.0.1/8", "bad value for proxy_trusted" },
	{ "proxy_trusted", "balancer.example", "bad value for proxy_trusted" },
	{ "proxy_timeout", "0", "bad value for proxy_timeout" },
	{ "shared_state", "redis://cache:0", "bad value for shared_state" },
	{ "shared_state", "rediss://cache", "bad value for shared_state" },
	{ "shared_state_ttl", "2", "bad value for shared_state_ttl" },
	{ "listen", "[::1]:-21", "bad value for listen: '[::1]:-21'" },
	{ "listen", "[1111:2222:3333:4444:5555:6666:7777:8888]:21%padding-that-is-too-long",
	  "bad value for listen" },
	{ "nonsense", "1", "unknown key 'nonsense'" },
	{ "Anonymous", "yes", "unknown key 'Anonymous'" },
	{ "", "yes", "missing key before '='" },
	{ "shell", ".hidden", "bad value for shell: '.hidden' (expected fs, anon, the NAME of "
	  "a module in shell_dir (a file name not starting with '.') or a module's path "
	  "(containing '/'))" },
	{ "shell", "none", "bad value for shell: 'none'" },
	{ "anonymous_shell", "..", "bad value for anonymous_shell: '..'" },
	{ "shell_dir", "none", "bad value for shell_dir: 'none'" },
	{ "shell_option", "novalue", "bad value for shell_option: 'novalue' (expected KEY=VALUE "
	  "with a KEY that is not empty and has no blanks, or none to forget the lines before)" },
	{ "shell_option", "=value", "bad value for shell_option: '=value'" },
	{ "shell_option", " = value", "bad value for shell_option: '= value'" },
	{ "shell_option", "two words=value", "bad value for shell_option: 'two words=value'" },
	{ "anonymous_shell_option", "x", "bad value for anonymous_shell_option: 'x'" },
	{ "shell_options", "a=1", "unknown key 'shell_options': write each option on a line "
	  "of its own as shell_option = KEY=VALUE" },
};

START_TEST(test_bad_value)
{
	struct config config;
	char error[CONFIG_ERROR_SIZE] = "", expected[CONFIG_ERROR_SIZE];
	char *before, *after;

	ck_assert_int_eq(config_init(&config), 0);
	before = printed(&config);
	ck_assert_int_eq(set_value(&config, bad_values[_i].key, bad_values[_i].value, error),
	    -EINVAL);
	/* The source part shows the value escaped, so look for what follows it. */
	snprintf(expected, sizeof(expected), ": %s", bad_values[_i].message);
	ck_assert_msg(strncmp(error, "-o ", 3) == 0 && strstr(error, expected) != NULL,
	    "error '%s' does not name the override and say '%s'", error, expected);
	after = printed(&config);
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	config_free(&config);
}
END_TEST

START_TEST(test_listen_address_parsing)
{
	struct config config;
	char error[CONFIG_ERROR_SIZE];
	const struct sockaddr_in6 *ipv6;
	const struct sockaddr_in *ipv4;
	struct in6_addr loopback6 = IN6ADDR_LOOPBACK_INIT, any6 = IN6ADDR_ANY_INIT;

	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_int_eq(set_value(&config, "listen", "[::1]:2121", error), 0);
	ck_assert_int_eq(set_value(&config, "listen", "[::]:21", error), 0);
	ck_assert_int_eq(set_value(&config, "listen", "*:990", error), 0);
	ck_assert_uint_eq(config.listen_count, 3);

	ipv6 = (const struct sockaddr_in6 *)&config.listen[0].address;
	ck_assert_int_eq(ipv6->sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(ipv6->sin6_port), 2121);
	ck_assert(memcmp(&ipv6->sin6_addr, &loopback6, sizeof(loopback6)) == 0);
	ck_assert_uint_eq(config.listen[0].length, sizeof(struct sockaddr_in6));
	ck_assert_str_eq(config.listen[0].text, "[::1]:2121");

	ipv6 = (const struct sockaddr_in6 *)&config.listen[1].address;
	ck_assert_int_eq(ipv6->sin6_family, AF_INET6);
	ck_assert_uint_eq(ntohs(ipv6->sin6_port), 21);
	ck_assert(memcmp(&ipv6->sin6_addr, &any6, sizeof(any6)) == 0);

	ipv4 = (const struct sockaddr_in *)&config.listen[2].address;
	ck_assert_int_eq(ipv4->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(ipv4->sin_port), 990);
	ck_assert_uint_eq(ntohl(ipv4->sin_addr.s_addr), INADDR_ANY);
	ck_assert_uint_eq(config.listen[2].length, sizeof(struct sockaddr_in));
	config_free(&config);
}
END_TEST

START_TEST(test_file_parsing)
{
	static const char content[] =
	    "# ftpd.conf for the test\n"
	    "   # an indented comment\n"
	    "\n"
	    "\t\n"
	    "anonymous=no\n"
	    "  max_clients   =   17   \n"
	    "banner = \"  spaced banner  \"\n"
	    "shell_option = tag=a#b # not a comment\n"
	    "pasv_ports = 50000-50010\r\n"
	    "login_failure_delay = 250ms\n"
	    "listen = [::1]:2121\n"
	    "listen = *:21\n"
	    "user = \"\"\n"
	    "tls_cert = /x/cert.pem";	/* no newline at the end */
	struct config config;
	char error[CONFIG_ERROR_SIZE] = "";
	const char *path;

	make_scratch();
	path = write_scratch_file("ftpd.conf", content, strlen(content));
	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_msg(config_load_file(&config, path, error) == 0, "%s", error);
	ck_assert_int_eq(config.anonymous, 0);
	ck_assert_uint_eq(config.max_clients, 17);
	ck_assert_str_eq(config.banner, "  spaced banner  ");
	ck_assert_uint_eq(config.shell_options.count, 1);
	ck_assert_str_eq(config.shell_options.lines[0], "tag=a#b # not a comment");
	ck_assert_uint_eq(config.pasv_port_min, 50000);
	ck_assert_uint_eq(config.pasv_port_max, 50010);
	ck_assert_uint_eq(config.login_failure_delay_ms, 250);
	ck_assert_uint_eq(config.listen_count, 2);
	ck_assert_str_eq(config.listen[0].text, "[::1]:2121");
	ck_assert_str_eq(config.listen[1].text, "*:21");
	ck_assert_ptr_null(config.user);
	ck_assert_str_eq(config.tls_cert, "/x/cert.pem");
	/* Keys the file does not name keep their defaults. */
	ck_assert_uint_eq(config.idle_timeout, 600);
	ck_assert_uint_eq(config.login_timeout, 60);
	ck_assert_uint_eq(config.tls_handshake_timeout, 10);
	ck_assert_str_eq(config.shell, "fs");
	config_free(&config);
	remove_scratch();
}
END_TEST

START_TEST(test_file_without_listen_keeps_default)
{
	static const char content[] = "anonymous = no\n";
	struct config config;
	char error[CONFIG_ERROR_SIZE] = "";
	const char *path;

	make_scratch();
	path = write_scratch_file("ftpd.conf", content, strlen(content));
	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_msg(config_load_file(&config, path, error) == 0, "%s", error);
	ck_assert_uint_eq(config.listen_count, 1);
	ck_assert_str_eq(config.listen[0].text, "127.0.0.1:2121");
	config_free(&config);
	remove_scratch();
}
END_TEST

START_TEST(test_longest_line_accepted)
{
	char line[4097];
	struct config config;
	char error[CONFIG_ERROR_SIZE] = "";
	const char *path;

	/* Exactly 4096 bytes before the newline: the longest value, then blanks. */
	memset(line, ' ', sizeof(line) - 1);
	memcpy(line, "banner = ", 9);
	memset(line + 9, 'a', CONFIG_VALUE_MAX);
	line[4096] = '\n';
	make_scratch();
	path = write_scratch_file("ftpd.conf", line, sizeof(line));
	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_msg(config_load_file(&config, path, error) == 0, "%s", error);
	ck_assert_uint_eq(strlen(config.banner), CONFIG_VALUE_MAX);
	config_free(&config);
	remove_scratch();
}
END_TEST

/* A file config_load_file refuses, and its error after "PATH:". */
static const struct {
	const char *content;
	size_t length;		/* 0: strlen(content) */
	const char *message;
} bad_files[] = {
	{ "anonymous = yes\nfoo = bar\n", 0, "2: unknown key 'foo'" },
	{ "\n\nmax_clients = abc\n", 0,
	  "3: bad value for max_clients: 'abc' (expected a whole number from 0 to 100000)" },
	{ "# comment\nanonymous yes\n", 0, "2: missing '=' in 'anonymous yes'" },
	{ "  = yes\n", 0, "1: missing key before '='" },
	{ "anonymous = y\0es\n", 17, "1: NUL byte in line" },
	{ "listen = 127.0.0.1:21\nlisten = 127.0.0.1:21\n", 0,
	  "2: listen address 127.0.0.1:21 given twice" },
	{ "tls = explicit\r\ntls = sometimes\r\n", 0, "2: bad value for tls: 'sometimes'" },
	{ "#!\n[section]\n", 0, "2: missing '=' in '[section]'" },
};

START_TEST(test_bad_file)
{
	struct config config;
	char error[CONFIG_ERROR_SIZE] = "", expected[CONFIG_ERROR_SIZE];
	size_t length = bad_files[_i].length;
	const char *path;

	if (length == 0)
		length = strlen(bad_files[_i].content);
	make_scratch();
	path = write_scratch_file("bad.conf", bad_files[_i].content, length);
	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_int_eq(config_load_file(&config, path, error), -EINVAL);
	snprintf(expected, sizeof(expected), "%s:%s", path, bad_files[_i].message);
	ck_assert_msg(strncmp(error, expected, strlen(expected)) == 0,
	    "error '%s' does not start with '%s'", error, expected);
	config_free(&config);
	remove_scratch();
}
END_TEST

/* write_scratch_file of a string; the path is copied to a buffer of its own. */
static const char *
write_text(const char *name, const char *content)
{
	static char paths[4][256];
	static unsigned next;
	char *copy = paths[next++ % 4];

	snprintf(copy, sizeof(paths[0]), "%s", write_scratch_file(name, content,
	    strlen(content)));
	return copy;
}

START_TEST(test_include_reads_another_file_in_place)
{
	struct config config;
	char error[CONFIG_ERROR_SIZE] = "";
	const char *path;

	make_scratch();
	write_text("extra.conf", "banner = from extra\nlisten = 127.0.0.1:2001\n");
	path = write_text("main.conf", "banner = from main\nlisten = 127.0.0.1:2000\n"
	    "include = extra.conf\nmax_clients = 7\n");
	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_msg(config_load_file(&config, path, error) == 0, "%s", error);
	/* Its lines stand where the include is: later lines win, listen accumulates. */
	ck_assert_str_eq(config.banner, "from extra");
	ck_assert_uint_eq(config.max_clients, 7);
	ck_assert_uint_eq(config.listen_count, 2);
	ck_assert_str_eq(config.listen[1].text, "127.0.0.1:2001");
	config_free(&config);
	remove_scratch();
}
END_TEST

START_TEST(test_include_override_is_relative_to_the_working_directory)
{
	struct config config;
	char error[CONFIG_ERROR_SIZE] = "", previous[4096];

	make_scratch();
	write_text("extra.conf", "banner = from an override's include\n");
	ck_assert_ptr_nonnull(getcwd(previous, sizeof(previous)));
	ck_assert_int_eq(chdir(scratch_path("")), 0);
	ck_assert_int_eq(config_init(&config), 0);
	/* "-o include=./extra.conf" names a file as a shell would: from where ftpd runs. */
	ck_assert_msg(config_apply_override(&config, "include=./extra.conf", error) == 0, "%s",
	    error);
	ck_assert_str_eq(config.banner, "from an override's include");
	config_free(&config);
	ck_assert_int_eq(chdir(previous), 0);
	remove_scratch();
}
END_TEST

START_TEST(test_include_errors_name_the_right_file)
{
	struct config config;
	char error[CONFIG_ERROR_SIZE] = "", expected[CONFIG_ERROR_SIZE];
	const char *path, *extra;

	make_scratch();
	extra = write_text("extra.conf", "\nfoo = bar\n");
	path = write_text("main.conf", "include = extra.conf\n");
	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_int_eq(config_load_file(&config, path, error), -EINVAL);
	snprintf(expected, sizeof(expected), "%s:2: unknown key 'foo'", extra);
	ck_assert_msg(strncmp(error, expected, strlen(expected)) == 0, "error '%s'", error);
	config_free(&config);

	path = write_text("missing.conf", "anonymous = no\ninclude = nowhere.conf\n");
	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_int_eq(config_load_file(&config, path, error), -ENOENT);
	snprintf(expected, sizeof(expected), "%s:2: include '%s': No such file", path,
	    scratch_path("nowhere.conf"));
	ck_assert_msg(strncmp(error, expected, strlen(expected)) == 0, "error '%s'", error);
	config_free(&config);

	path = write_text("loop.conf", "include = loop.conf\n");
	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_int_eq(config_load_file(&config, path, error), -ELOOP);
	ck_assert_msg(strstr(error, "nested more than 8 deep") != NULL, "error '%s'", error);
	config_free(&config);
	remove_scratch();
}
END_TEST

START_TEST(test_overlong_line)
{
	char content[5000 + 32];
	struct config config;
	char error[CONFIG_ERROR_SIZE] = "", expected[CONFIG_ERROR_SIZE];
	const char *path;

	strcpy(content, "anonymous = no\nbanner = ");
	memset(content + strlen(content), 'x', 5000);
	content[sizeof(content) - 1] = '\0';
	make_scratch();
	path = write_scratch_file("long.conf", content, strlen(content));
	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_int_eq(config_load_file(&config, path, error), -EINVAL);
	snprintf(expected, sizeof(expected), "%s:2: line longer than 4096 bytes", path);
	ck_assert_str_eq(error, expected);
	config_free(&config);
	remove_scratch();
}
END_TEST

START_TEST(test_unreadable_file)
{
	struct config config;
	char error[CONFIG_ERROR_SIZE] = "", expected[CONFIG_ERROR_SIZE];
	const char *path;

	make_scratch();
	ck_assert_int_eq(config_init(&config), 0);
	path = scratch_path("missing.conf");
	ck_assert_int_eq(config_load_file(&config, path, error), -ENOENT);
	snprintf(expected, sizeof(expected), "%s: No such file or directory", path);
	ck_assert_str_eq(error, expected);

	ck_assert_int_eq(config_load_file(&config, scratch, error), -EISDIR);
	snprintf(expected, sizeof(expected), "%s: Is a directory", scratch);
	ck_assert_str_eq(error, expected);
	config_free(&config);
	remove_scratch();
}
END_TEST

START_TEST(test_listen_sources)
{
	static const char first[] = "listen = 10.0.0.1:21\nlisten = 10.0.0.2:21\n";
	static const char second[] = "listen = [::1]:21\n";
	struct config config;
	char error[CONFIG_ERROR_SIZE] = "";
	char first_path[256], second_path[256];

	make_scratch();
	snprintf(first_path, sizeof(first_path), "%s",
	    write_scratch_file("first.conf", first, strlen(first)));
	snprintf(second_path, sizeof(second_path), "%s",
	    write_scratch_file("second.conf", second, strlen(second)));
	ck_assert_int_eq(config_init(&config), 0);

	/* The file's first listen replaces the default, the second adds. */
	ck_assert_msg(config_load_file(&config, first_path, error) == 0, "%s", error);
	ck_assert_uint_eq(config.listen_count, 2);
	ck_assert_str_eq(config.listen[0].text, "10.0.0.1:21");
	ck_assert_str_eq(config.listen[1].text, "10.0.0.2:21");

	/* The overrides are one source: the first replaces the file's, the rest add. */
	ck_assert_int_eq(config_apply_override(&config, "listen=10.0.0.3:21", error), 0);
	ck_assert_uint_eq(config.listen_count, 1);
	ck_assert_str_eq(config.listen[0].text, "10.0.0.3:21");
	ck_assert_int_eq(config_apply_override(&config, "listen = [::]:2121", error), 0);
	ck_assert_uint_eq(config.listen_count, 2);
	ck_assert_str_eq(config.listen[1].text, "[::]:2121");
	ck_assert_int_eq(config_apply_override(&config, "anonymous=no", error), 0);
	ck_assert_int_eq(config_apply_override(&config, "listen=10.0.0.4:21", error), 0);
	ck_assert_uint_eq(config.listen_count, 3);

	/* A bad address changes nothing. */
	ck_assert_int_eq(config_apply_override(&config, "listen=nowhere:21", error), -EINVAL);
	ck_assert_uint_eq(config.listen_count, 3);

	/* Another file is another source; so is the same file loaded again. */
	ck_assert_msg(config_load_file(&config, second_path, error) == 0, "%s", error);
	ck_assert_uint_eq(config.listen_count, 1);
	ck_assert_str_eq(config.listen[0].text, "[::1]:21");
	ck_assert_msg(config_load_file(&config, first_path, error) == 0, "%s", error);
	ck_assert_uint_eq(config.listen_count, 2);
	ck_assert_msg(config_load_file(&config, first_path, error) == 0, "%s", error);
	ck_assert_uint_eq(config.listen_count, 2);

	/* "none" empties the list, and later ones from the same source add to it. */
	ck_assert_int_eq(config_apply_override(&config, "listen=none", error), 0);
	ck_assert_uint_eq(config.listen_count, 0);
	ck_assert_int_eq(config_apply_override(&config, "listen=127.0.0.1:21", error), 0);
	ck_assert_uint_eq(config.listen_count, 1);
	config_free(&config);
	remove_scratch();
}
END_TEST

START_TEST(test_listen_limit)
{
	char content[CONFIG_MAX_LISTEN * 32 + 64], expected[CONFIG_ERROR_SIZE];
	char error[CONFIG_ERROR_SIZE] = "";
	struct config config;
	size_t used = 0;
	const char *path;
	int i;

	for (i = 0; i < CONFIG_MAX_LISTEN; i++)
		used += (size_t)snprintf(content + used, sizeof(content) - used,
		    "listen = 127.0.0.1:%d\n", 2000 + i);
	make_scratch();
	path = write_scratch_file("full.conf", content, used);
	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_msg(config_load_file(&config, path, error) == 0, "%s", error);
	ck_assert_uint_eq(config.listen_count, CONFIG_MAX_LISTEN);

	used += (size_t)snprintf(content + used, sizeof(content) - used,
	    "listen = 127.0.0.1:3000\n");
	path = write_scratch_file("overfull.conf", content, used);
	ck_assert_int_eq(config_load_file(&config, path, error), -EINVAL);
	snprintf(expected, sizeof(expected), "%s:%d: too many listen addresses (at most %d)",
	    path, CONFIG_MAX_LISTEN + 1, CONFIG_MAX_LISTEN);
	ck_assert_str_eq(error, expected);
	ck_assert_uint_eq(config.listen_count, CONFIG_MAX_LISTEN);
	config_free(&config);
	remove_scratch();
}
END_TEST

/* An override, and the exact error (NULL: accepted). */
static const struct {
	const char *assignment;
	const char *error;
} overrides[] = {
	{ "max_clients=abc",
	  "-o max_clients=abc: bad value for max_clients: 'abc' (expected a whole number "
	  "from 0 to 100000)" },
	{ "nosuchkey=1", "-o nosuchkey=1: unknown key 'nosuchkey'" },
	{ "anonymous", "-o anonymous: missing '=' (expected -o key=value)" },
	{ "", "-o : missing '=' (expected -o key=value)" },
	{ "=yes", "-o =yes: missing key before '='" },
	{ "#anonymous=no", "-o #anonymous=no: unknown key '#anonymous=no'" },
	{ "banner=a\nb", "-o banner=a\\x0ab: bad value for banner: control characters are "
	  "not allowed" },
	{ " max_clients = 5 ", NULL },
	{ "banner=a=b", NULL },
	{ "banner=\" x \"", NULL },
};

START_TEST(test_override)
{
	struct config config;
	char error[CONFIG_ERROR_SIZE] = "";
	int result;

	ck_assert_int_eq(config_init(&config), 0);
	result = config_apply_override(&config, overrides[_i].assignment, error);
	if (overrides[_i].error == NULL)
		ck_assert_msg(result == 0, "refused: %s", error);
	else {
		ck_assert_int_eq(result, -EINVAL);
		ck_assert_str_eq(error, overrides[_i].error);
	}
	config_free(&config);
}
END_TEST

START_TEST(test_override_values)
{
	struct config config;
	char error[CONFIG_ERROR_SIZE] = "";

	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_int_eq(config_apply_override(&config, " max_clients = 5 ", error), 0);
	ck_assert_uint_eq(config.max_clients, 5);
	ck_assert_int_eq(config_apply_override(&config, "banner=a=b", error), 0);
	ck_assert_str_eq(config.banner, "a=b");
	ck_assert_int_eq(config_apply_override(&config, "banner=\" x \"", error), 0);
	ck_assert_str_eq(config.banner, " x ");
	ck_assert_int_eq(config_apply_override(&config, "xferlog=none", error), 0);
	ck_assert_ptr_null(config.xferlog);
	config_free(&config);
}
END_TEST

static void
assert_validate_fails(struct config *config, int expected_result, const char *fragment)
{
	char error[CONFIG_ERROR_SIZE] = "";

	ck_assert_int_eq(config_validate(config, error), expected_result);
	ck_assert_msg(strstr(error, fragment) != NULL, "error '%s' lacks '%s'", error,
	    fragment);
}

static void
set_or_fail(struct config *config, const char *key, const char *value)
{
	char error[CONFIG_ERROR_SIZE] = "";

	ck_assert_msg(set_value(config, key, value, error) == 0, "%s", error);
}

START_TEST(test_validate)
{
	struct config config;
	char error[CONFIG_ERROR_SIZE] = "", root[256], file[256];
	const char *path;

	make_scratch();
	snprintf(root, sizeof(root), "%s", scratch);
	path = write_scratch_file("plain-file", "x", 1);
	snprintf(file, sizeof(file), "%s", path);
	ck_assert_int_eq(config_init(&config), 0);
	set_or_fail(&config, "anonymous_root", root);
	ck_assert_msg(config_validate(&config, error) == 0, "%s", error);

	set_or_fail(&config, "anonymous_root", scratch_path("missing"));
	assert_validate_fails(&config, -ENOENT, "anonymous_root");
	assert_validate_fails(&config, -ENOENT, "No such file or directory");
	set_or_fail(&config, "anonymous_root", file);
	assert_validate_fails(&config, -ENOTDIR, "is not a directory");
	/* Without anonymous logins the root does not matter. */
	set_or_fail(&config, "anonymous", "no");
	ck_assert_msg(config_validate(&config, error) == 0, "%s", error);
	set_or_fail(&config, "anonymous", "yes");
	set_or_fail(&config, "anonymous_root", root);

	set_or_fail(&config, "passwd_file", scratch_path("no-passwd"));
	assert_validate_fails(&config, -ENOENT, "passwd_file");
	set_or_fail(&config, "passwd_file", file);
	ck_assert_msg(config_validate(&config, error) == 0, "%s", error);

	set_or_fail(&config, "tls_cert", file);
	assert_validate_fails(&config, -EINVAL, "tls_cert is set but tls_key is not");
	set_or_fail(&config, "tls_cert", "none");
	set_or_fail(&config, "tls_key", file);
	assert_validate_fails(&config, -EINVAL, "tls_key is set but tls_cert is not");
	set_or_fail(&config, "tls_key", "none");
	set_or_fail(&config, "tls", "explicit");
	assert_validate_fails(&config, -EINVAL, "tls = explicit needs tls_cert and tls_key");
	set_or_fail(&config, "tls_cert", file);
	set_or_fail(&config, "tls_key", file);
	ck_assert_msg(config_validate(&config, error) == 0, "%s", error);

	/* A pasv_address host name is resolved, a numeric one taken as it is. */
	set_or_fail(&config, "pasv_address", "localhost");
	ck_assert_msg(config_validate(&config, error) == 0, "%s", error);
	ck_assert_uint_eq(ntohl(config.pasv_announced.s_addr), 0x7f000001);
	set_or_fail(&config, "pasv_address", "192.0.2.9");
	ck_assert_msg(config_validate(&config, error) == 0, "%s", error);
	ck_assert_uint_eq(ntohl(config.pasv_announced.s_addr), 0xc0000209);
	set_or_fail(&config, "pasv_address", "no-such-host.invalid");
	assert_validate_fails(&config, -EHOSTUNREACH, "pasv_address no-such-host.invalid: cannot "
	    "resolve it");
	set_or_fail(&config, "pasv_address", "none");

	/* PROXY headers need balancers to believe them from; proxy_trusted is parsed. */
	set_or_fail(&config, "proxy_protocol", "yes");
	assert_validate_fails(&config, -EINVAL, "proxy_protocol = yes needs proxy_trusted");
	set_or_fail(&config, "proxy_trusted", "10.0.0.0/8 fd00::/8");
	ck_assert_msg(config_validate(&config, error) == 0, "%s", error);
	ck_assert_uint_eq(config.proxy_networks.count, 2);
	ck_assert_int_eq(config_expects_proxy(&config), 1);
	set_or_fail(&config, "proxy_protocol", "no");
	ck_assert_int_eq(config_expects_proxy(&config), 0);
	set_or_fail(&config, "listen", "none");
	set_or_fail(&config, "listen", "127.0.0.1:2121 proxy");
	ck_assert_int_eq(config_expects_proxy(&config), 1);
	ck_assert_int_eq(config.listen[0].proxy, 1);
	set_or_fail(&config, "proxy_trusted", "none");
	assert_validate_fails(&config, -EINVAL, "listen ... proxy needs proxy_trusted");
	set_or_fail(&config, "listen", "none");
	set_or_fail(&config, "listen", "127.0.0.1:2121");
	ck_assert_int_eq(config.listen[0].proxy, 0);
	set_or_fail(&config, "workers", "4");
	ck_assert_int_eq(config_validate(&config, error), 0);
	set_or_fail(&config, "workers", "0");

	/* system_users excludes passwd_file and chroot, and guests need a user to run as. */
	set_or_fail(&config, "system_users", "yes");
	assert_validate_fails(&config, -EINVAL, "exclude each other");
	set_or_fail(&config, "passwd_file", "none");
	set_or_fail(&config, "chroot", "/var/empty");
	assert_validate_fails(&config, -EINVAL, "chroot");
	set_or_fail(&config, "chroot", "none");
	set_or_fail(&config, "user", "none");
	assert_validate_fails(&config, -EINVAL, "needs user");
	set_or_fail(&config, "user", "nobody");
	ck_assert_msg(config_validate(&config, error) == 0, "%s", error);
	set_or_fail(&config, "system_users", "no");
	set_or_fail(&config, "passwd_file", file);

	/* Fields set directly, bypassing the parser, are still checked. */
	config.pasv_port_min = 3000;
	config.pasv_port_max = 2000;
	assert_validate_fails(&config, -EINVAL, "pasv_ports 3000-2000");
	config.pasv_port_min = 80;
	config.pasv_port_max = 2000;
	assert_validate_fails(&config, -EINVAL, "pasv_ports");
	config.pasv_port_min = config.pasv_port_max = 0;

	/* A distinct result, so an inetd-mode caller can tell this one apart. */
	set_or_fail(&config, "listen", "none");
	assert_validate_fails(&config, -EDESTADDRREQ, "no listen address");
	config_free(&config);
	remove_scratch();
}
END_TEST

static void
assert_round_trip(const struct config *config)
{
	struct config loaded;
	char error[CONFIG_ERROR_SIZE] = "";
	char *text = printed(config), *again;
	const char *path = write_scratch_file("printed.conf", text, strlen(text));
	unsigned i;

	ck_assert_int_eq(config_init(&loaded), 0);
	ck_assert_msg(config_load_file(&loaded, path, error) == 0, "%s\n%s", error, text);
	again = printed(&loaded);
	ck_assert_str_eq(text, again);
	ck_assert_uint_eq(loaded.listen_count, config->listen_count);
	for (i = 0; i < loaded.listen_count; i++) {
		ck_assert_uint_eq(loaded.listen[i].length, config->listen[i].length);
		ck_assert(memcmp(&loaded.listen[i].address, &config->listen[i].address,
		    loaded.listen[i].length) == 0);
	}
	free(text);
	free(again);
	config_free(&loaded);
}

START_TEST(test_print_round_trip)
{
	static const char *const settings[][2] = {
		{ "listen", "[::1]:2121" }, { "listen", "*:21" },
		{ "listen", "192.0.2.7:990" }, { "anonymous", "no" },
		{ "anonymous_root", "/srv/ftp root" }, { "passwd_file", "/etc/ftpd.passwd" },
		{ "home_root", "/srv/homes" }, { "system_users", "yes" },
		{ "shell", "custom" }, { "shell_option", "a=1 #2" },
		{ "shell_option", "b = \" 2 \"" }, { "shell_option", "\"c= 3 \"" },
		{ "anonymous_shell", "/opt/guest.so" }, { "anonymous_shell_option", "d=4" },
		{ "shell_dir", "/opt/shells" },
		{ "pasv_ports", "40000-40100" }, { "pasv_address", "203.0.113.9" },
		{ "max_clients", "0" }, { "max_clients_per_ip", "4" },
		{ "idle_timeout", "86400" }, { "data_timeout", "5" },
		{ "max_login_failures", "9" }, { "login_failure_delay", "0" },
		{ "max_rate_down", "3K" }, { "max_rate_up", "12345" },
		{ "anonymous_max_rate_down", "0" }, { "keep_partial_uploads", "on" },
		{ "quota_bytes", "7M" }, { "quota_files", "12" },
		{ "tls_cert", "/c.pem" }, { "tls_key", "/k.pem" }, { "tls", "implicit" },
		{ "user", "ftp" }, { "chroot", "/var/empty" }, { "workers", "8" },
		{ "proxy_protocol", "yes" }, { "proxy_trusted", "10.0.0.0/8, 192.168.1.7" },
		{ "proxy_timeout", "9" }, { "log", "syslog:local3" },
		{ "xferlog", "/var/log/xferlog" }, { "banner", "\" \"hi\" # there \"" },
	};
	struct config config;
	char *text;
	size_t i;

	make_scratch();
	ck_assert_int_eq(config_init(&config), 0);
	assert_round_trip(&config);

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		set_or_fail(&config, settings[i][0], settings[i][1]);
	assert_round_trip(&config);

	/* Every key appears, in table order, listen once per address. */
	text = printed(&config);
	ck_assert_ptr_nonnull(strstr(text, "listen = [::1]:2121\nlisten = *:21\n"
	    "listen = 192.0.2.7:990\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nbanner = \" \"hi\" # there \"\n"));
	ck_assert(strstr(text, "\nanonymous = no\n") < strstr(text, "\nbanner = "));
	free(text);

	set_or_fail(&config, "listen", "none");
	assert_round_trip(&config);
	config_free(&config);
	remove_scratch();
}
END_TEST

/* Sets key to a value of any length, as -o does. */
static int
set_long_value(struct config *config, const char *key, const char *value,
    char error[CONFIG_ERROR_SIZE])
{
	char *assignment;
	int result;

	ck_assert_int_ge(asprintf(&assignment, "%s=%s", key, value), 0);
	result = config_apply_override(config, assignment, error);
	free(assignment);
	return result;
}

/*
 * Found by the config fuzz target: a value that filled its line printed
 * longer than a line may be ("key = value" has two more blanks than
 * "key=value"), so ftpd -t wrote a file ftpd refused.
 */
START_TEST(test_longest_value_prints_back)
{
	char value[CONFIG_VALUE_MAX + 4], error[CONFIG_ERROR_SIZE] = "";
	struct config config;

	memset(value, 'b', CONFIG_VALUE_MAX + 1);
	value[CONFIG_VALUE_MAX + 1] = '\0';
	make_scratch();
	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_int_eq(set_long_value(&config, "banner", value, error), -EINVAL);
	ck_assert_msg(strstr(error, ": bad value for banner: longer than 4032 bytes") != NULL,
	    "error '%s'", error);
	/* The longest value taken, with blanks at its ends that config_print must quote. */
	memset(value, 'b', CONFIG_VALUE_MAX + 2);
	memcpy(value, "\" ", 2);
	memcpy(value + CONFIG_VALUE_MAX, " \"", 2);
	value[CONFIG_VALUE_MAX + 2] = '\0';
	ck_assert_msg(set_long_value(&config, "banner", value, error) == 0, "%s", error);
	ck_assert_uint_eq(strlen(config.banner), CONFIG_VALUE_MAX);
	ck_assert_msg(set_long_value(&config, "anonymous_root", value, error) == 0, "%s",
	    error);
	assert_round_trip(&config);
	config_free(&config);
	remove_scratch();
}
END_TEST

/* What log_escape makes of a message. */
static const struct {
	const char *in;
	const char *out;
} escapes[] = {
	{ "plain text", "plain text" },
	{ "user\r\nftpd[1]: error: forged", "user\\x0d\\x0aftpd[1]: error: forged" },
	{ "\x1b[31mred", "\\x1b[31mred" },
	{ "back\\slash", "back\\\\slash" },
	{ "del\x7f", "del\\x7f" },
	{ "tab\there", "tab\\x09here" },
	{ "caf\xc3\xa9", "caf\xc3\xa9" },
	{ "", "" },
	{ NULL, "(null)" },
};

START_TEST(test_log_escape)
{
	char out[128];

	ck_assert_uint_eq(log_escape(out, sizeof(out), escapes[_i].in),
	    strlen(escapes[_i].out));
	ck_assert_str_eq(out, escapes[_i].out);
}
END_TEST

START_TEST(test_log_escape_truncates_whole_escapes)
{
	char out[8];

	memset(out, '#', sizeof(out));
	/* "ab\x0acd" needs 8 bytes of text; the escape does not fit after "ab". */
	ck_assert_uint_eq(log_escape(out, 6, "ab\ncd"), 8);
	ck_assert_str_eq(out, "ab");
	ck_assert_uint_eq(log_escape(out, 7, "ab\ncd"), 8);
	ck_assert_str_eq(out, "ab\\x0a");
	ck_assert_uint_eq(log_escape(out, 1, "abc"), 3);
	ck_assert_str_eq(out, "");
	out[0] = '#';
	ck_assert_uint_eq(log_escape(out, 0, "abc"), 3);
	ck_assert_int_eq(out[0], '#');
}
END_TEST

static const struct {
	const char *destination;
	int valid;
} destinations[] = {
	{ "stderr", 1 }, { "syslog", 1 }, { "syslog:ftp", 1 }, { "syslog:daemon", 1 },
	{ "syslog:auth", 1 }, { "syslog:authpriv", 1 }, { "syslog:local0", 1 },
	{ "syslog:local7", 1 }, { "syslog:", 0 }, { "syslog:local8", 0 },
	{ "syslog:mail", 0 }, { "stdout", 0 }, { "", 0 }, { NULL, 0 },
};

START_TEST(test_log_destination)
{
	ck_assert_int_eq(log_destination_valid(destinations[_i].destination),
	    destinations[_i].valid);
	if (destinations[_i].valid) {
		ck_assert_int_eq(log_open(destinations[_i].destination, LOG_LEVEL_DEBUG), 0);
		if (strncmp(destinations[_i].destination, "syslog", 6) == 0)
			log_debug("test of destination %s", destinations[_i].destination);
	} else
		ck_assert_int_eq(log_open(destinations[_i].destination, LOG_LEVEL_DEBUG),
		    -EINVAL);
	log_close();
}
END_TEST

/* Runs the logging calls with stderr going to a file; returns what they wrote. */
static char *
capture_stderr(void (*write_messages)(void))
{
	const char *path = scratch_path("stderr");
	int saved, fd;
	char *text;
	FILE *file;
	long size;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	close(fd);
	write_messages();
	ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
	close(saved);

	file = fopen(path, "r");
	ck_assert_ptr_nonnull(file);
	fseek(file, 0, SEEK_END);
	size = ftell(file);
	rewind(file);
	text = calloc(1, (size_t)size + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(fread(text, 1, (size_t)size, file), (size_t)size);
	fclose(file);
	return text;
}

static void
write_info_messages(void)
{
	const char *volatile nothing = NULL;

	ck_assert_int_eq(log_open("stderr", LOG_LEVEL_INFO), 0);
	log_info("USER %s", "evil\r\nftpd[1]: error: forged");
	log_debug("below the level");
	log_warning("%s", nothing);
	errno = ENOENT;
	log_error("errno kept");
	ck_assert_int_eq(errno, ENOENT);
	log_close();
}

static void
write_error_messages(void)
{
	char long_text[5000];

	memset(long_text, 'a', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	ck_assert_int_eq(log_open("stderr", LOG_LEVEL_ERROR), 0);
	log_warning("dropped");
	log_info("dropped");
	log_error("%s", long_text);
	log_close();
}

START_TEST(test_log_to_stderr)
{
	char expected[512], *text, *line_end;

	make_scratch();
	text = capture_stderr(write_info_messages);
	snprintf(expected, sizeof(expected),
	    "ftpd[%ld]: info: USER evil\\x0d\\x0aftpd[1]: error: forged\n"
	    "ftpd[%ld]: warning: (null)\n"
	    "ftpd[%ld]: error: errno kept\n",
	    (long)getpid(), (long)getpid(), (long)getpid());
	ck_assert_str_eq(text, expected);
	free(text);

	/* Below the level nothing; a long message is cut, marked, and still one line. */
	text = capture_stderr(write_error_messages);
	snprintf(expected, sizeof(expected), "ftpd[%ld]: error: aaa", (long)getpid());
	ck_assert_ptr_eq(strstr(text, expected), text);
	line_end = strchr(text, '\n');
	ck_assert_ptr_nonnull(line_end);
	ck_assert_int_eq(line_end[1], '\0');
	ck_assert(line_end - text < 2100);
	ck_assert_int_eq(strncmp(line_end - 3, "...", 3), 0);
	free(text);
	remove_scratch();
}
END_TEST

Suite *config_suite(void);

Suite *
config_suite(void)
{
	Suite *suite = suite_create("config");
	TCase *tcase;

	tcase = tcase_create("defaults");
	tcase_add_test(tcase, test_defaults);
	tcase_add_test(tcase, test_init_on_garbage_and_double_free);
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("values");
	tcase_add_loop_test(tcase, test_good_value, 0,
	    (int)(sizeof(good_values) / sizeof(good_values[0])));
	tcase_add_loop_test(tcase, test_bad_value, 0,
	    (int)(sizeof(bad_values) / sizeof(bad_values[0])));
	tcase_add_test(tcase, test_listen_address_parsing);
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("files");
	tcase_add_test(tcase, test_file_parsing);
	tcase_add_test(tcase, test_file_without_listen_keeps_default);
	tcase_add_test(tcase, test_longest_line_accepted);
	tcase_add_loop_test(tcase, test_bad_file, 0,
	    (int)(sizeof(bad_files) / sizeof(bad_files[0])));
	tcase_add_test(tcase, test_overlong_line);
	tcase_add_test(tcase, test_include_reads_another_file_in_place);
	tcase_add_test(tcase, test_include_override_is_relative_to_the_working_directory);
	tcase_add_test(tcase, test_include_errors_name_the_right_file);
	tcase_add_test(tcase, test_unreadable_file);
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("listen");
	tcase_add_test(tcase, test_listen_sources);
	tcase_add_test(tcase, test_listen_limit);
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("overrides");
	tcase_add_loop_test(tcase, test_override, 0,
	    (int)(sizeof(overrides) / sizeof(overrides[0])));
	tcase_add_test(tcase, test_override_values);
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("validate");
	tcase_add_test(tcase, test_validate);
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("print");
	tcase_add_test(tcase, test_print_round_trip);
	tcase_add_test(tcase, test_longest_value_prints_back);
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("log");
	tcase_add_loop_test(tcase, test_log_escape, 0,
	    (int)(sizeof(escapes) / sizeof(escapes[0])));
	tcase_add_test(tcase, test_log_escape_truncates_whole_escapes);
	tcase_add_loop_test(tcase, test_log_destination, 0,
	    (int)(sizeof(destinations) / sizeof(destinations[0])));
	tcase_add_test(tcase, test_log_to_stderr);
	suite_add_tcase(suite, tcase);
	return suite;
}
