/*
 * test_tls: the TLS context (certificate loading, protocol policy) and the binding of
 * data connections to their control session, over real OpenSSL handshakes on socketpairs.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config/config.h"
#include "suites.h"
#include "tls/tls.h"
#include "util/attributes.h"

/*
 * Made once per test case, in the runner's process, so that every forked
 * test finds them: a certificate with its key, a second key pair, an RSA
 * key and a file of garbage between PEM armour lines.
 */
static char directory[PATH_MAX];
static char cert_path[PATH_MAX];
static char key_path[PATH_MAX];
static char other_cert_path[PATH_MAX];
static char other_key_path[PATH_MAX];
static char rsa_key_path[PATH_MAX];
static char garbage_path[PATH_MAX];

static struct config config;
static struct tls_context *context;
static SSL_CTX *client_ctx;

/* What the client's new-session callback saw: the newest ticket or session, and how many. */
static SSL_SESSION *latest_session;
static unsigned sessions_received;

static void
join(char out[PATH_MAX], const char *name)
{
	ck_assert_int_lt(snprintf(out, PATH_MAX, "%s/%s", directory, name), PATH_MAX);
}

static void
write_key(const char *path, EVP_PKEY *key)
{
	FILE *file = fopen(path, "w");

	ck_assert_ptr_nonnull(file);
	ck_assert_int_eq(PEM_write_PrivateKey(file, key, NULL, NULL, 0, NULL, NULL), 1);
	ck_assert_int_eq(fclose(file), 0);
}

/* A self-signed certificate for CN=localhost and its key, as PEM files. */
static void
write_self_signed(const char *cert, const char *key_file)
{
	EVP_PKEY *key = EVP_EC_gen("prime256v1");
	X509 *x509 = X509_new();
	X509_NAME *name;
	FILE *file;

	ck_assert_ptr_nonnull(key);
	ck_assert_ptr_nonnull(x509);
	ck_assert_int_eq(X509_set_version(x509, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x509), 1);
	X509_gmtime_adj(X509_getm_notBefore(x509), -60);
	X509_gmtime_adj(X509_getm_notAfter(x509), 24 * 60 * 60);
	ck_assert_int_eq(X509_set_pubkey(x509, key), 1);
	name = X509_get_subject_name(x509);
	ck_assert_int_eq(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0), 1);
	ck_assert_int_eq(X509_set_issuer_name(x509, name), 1);
	ck_assert_int_gt(X509_sign(x509, key, EVP_sha256()), 0);

	file = fopen(cert, "w");
	ck_assert_ptr_nonnull(file);
	ck_assert_int_eq(PEM_write_X509(file, x509), 1);
	ck_assert_int_eq(fclose(file), 0);
	write_key(key_file, key);
	X509_free(x509);
	EVP_PKEY_free(key);
}

static void
make_files(void)
{
	EVP_PKEY *rsa;
	FILE *file;

	strcpy(directory, "/tmp/ftpd-tls-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(directory));
	join(cert_path, "cert.pem");
	join(key_path, "key.pem");
	join(other_cert_path, "other-cert.pem");
	join(other_key_path, "other-key.pem");
	join(rsa_key_path, "rsa-key.pem");
	join(garbage_path, "garbage.pem");
	write_self_signed(cert_path, key_path);
	write_self_signed(other_cert_path, other_key_path);
	/* A key of another type lands in another slot: only the final check sees it. */
	rsa = EVP_RSA_gen(2048);
	ck_assert_ptr_nonnull(rsa);
	write_key(rsa_key_path, rsa);
	EVP_PKEY_free(rsa);
	file = fopen(garbage_path, "w");
	ck_assert_ptr_nonnull(file);
	fputs("-----BEGIN CERTIFICATE-----\nthis is not base64 at all!\n"
	    "-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nnor this\n"
	    "-----END PRIVATE KEY-----\n", file);
	ck_assert_int_eq(fclose(file), 0);
}

static void
remove_files(void)
{
	char command[PATH_MAX + 16];

	snprintf(command, sizeof(command), "rm -rf '%s'", directory);
	ck_assert_int_eq(system(command), 0);
}

/* A config with tls on and the good pair; tests change it before make_context(). */
static void
setup_config(void)
{
	ck_assert_int_eq(config_init(&config), 0);
	config.tls = TLS_EXPLICIT;
	free(config.tls_cert);
	free(config.tls_key);
	config.tls_cert = strdup(cert_path);
	config.tls_key = strdup(key_path);
	context = NULL;
	client_ctx = NULL;
	latest_session = NULL;
	sessions_received = 0;
}

static void
teardown_config(void)
{
	tls_context_free(context);
	context = NULL;
	if (client_ctx != NULL)
		SSL_CTX_free(client_ctx);
	client_ctx = NULL;
	if (latest_session != NULL)
		SSL_SESSION_free(latest_session);
	latest_session = NULL;
	config_free(&config);
}

static void
set_path(char **field, const char *path)
{
	free(*field);
	*field = strdup(path);
	ck_assert_ptr_nonnull(*field);
}

/* tls_context_new must fail; returns its message. */
static const char *
refused(void)
{
	static char error[512];

	error[0] = '\0';
	context = tls_context_new(&config, error, sizeof(error));
	ck_assert_ptr_null(context);
	ck_assert_msg(error[0] != '\0', "no message");
	return error;
}

#define ck_assert_contains(text, part) \
	ck_assert_msg(strstr(text, part) != NULL, "'%s' lacks '%s'", text, part)

START_TEST(test_loads_good_pair)
{
	char error[512] = "";

	context = tls_context_new(&config, error, sizeof(error));
	ck_assert_msg(context != NULL, "refused: %s", error);
	ck_assert_str_eq(error, "");
}
END_TEST

START_TEST(test_missing_certificate)
{
	char path[PATH_MAX];
	const char *error;

	join(path, "missing-cert.pem");
	set_path(&config.tls_cert, path);
	error = refused();
	ck_assert_contains(error, "tls_cert");
	ck_assert_contains(error, path);
	ck_assert_contains(error, "cannot load the certificate");
}
END_TEST

START_TEST(test_missing_key)
{
	char path[PATH_MAX];
	const char *error;

	join(path, "missing-key.pem");
	set_path(&config.tls_key, path);
	error = refused();
	ck_assert_contains(error, "tls_key");
	ck_assert_contains(error, path);
	ck_assert_contains(error, "cannot load the private key");
}
END_TEST

START_TEST(test_key_of_another_certificate)
{
	const char *error;

	/* Same key type: OpenSSL notices the mismatch while loading the key. */
	set_path(&config.tls_key, other_key_path);
	error = refused();
	ck_assert_contains(error, "tls_key");
	ck_assert_contains(error, other_key_path);
}
END_TEST

START_TEST(test_key_of_another_type)
{
	const char *error;

	set_path(&config.tls_key, rsa_key_path);
	error = refused();
	ck_assert_contains(error, rsa_key_path);
	ck_assert_contains(error, "does not match the certificate");
	ck_assert_contains(error, cert_path);
}
END_TEST

START_TEST(test_garbage_certificate)
{
	const char *error;

	set_path(&config.tls_cert, garbage_path);
	error = refused();
	ck_assert_contains(error, "tls_cert");
	ck_assert_contains(error, garbage_path);
	ck_assert_contains(error, "cannot load the certificate");
	/* The refusal leaves no OpenSSL error behind for the next caller to misread. */
	ck_assert_uint_eq(ERR_peek_error(), 0);
}
END_TEST

START_TEST(test_garbage_key)
{
	const char *error;

	set_path(&config.tls_key, garbage_path);
	error = refused();
	ck_assert_contains(error, "tls_key");
	ck_assert_contains(error, garbage_path);
	ck_assert_contains(error, "cannot load the private key");
}
END_TEST

START_TEST(test_unusable_ciphers)
{
	free(config.tls_ciphers);
	config.tls_ciphers = strdup("NO-SUCH-CIPHER");
	ck_assert_contains(refused(), "tls_ciphers 'NO-SUCH-CIPHER': no usable cipher");
}
END_TEST

/* The handshakes. */

struct link {
	int fds[2];		/* [0] the server's end, [1] the client's */
	SSL *server;
	SSL *client;
};

static int
remember_session(SSL *ssl UNUSED, SSL_SESSION *session)
{
	if (latest_session != NULL)
		SSL_SESSION_free(latest_session);
	latest_session = session;
	sessions_received++;
	return 1;	/* the reference is ours */
}

static void
make_context(void)
{
	char error[512] = "";

	context = tls_context_new(&config, error, sizeof(error));
	ck_assert_msg(context != NULL, "refused: %s", error);
}

/* A client that sees every session (TLS 1.2) and ticket (TLS 1.3) it gets. */
static void
make_client_ctx(int max_version, int tickets)
{
	client_ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(client_ctx);
	ck_assert_int_eq(SSL_CTX_set_max_proto_version(client_ctx, max_version), 1);
	if (!tickets)
		SSL_CTX_set_options(client_ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(client_ctx,
	    SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(client_ctx, remember_session);
}

static void
link_open(struct link *link, SSL *server, SSL_SESSION *resume)
{
	ck_assert_ptr_nonnull(server);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, link->fds), 0);
	ck_assert_int_eq(fcntl(link->fds[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(link->fds[1], F_SETFL, O_NONBLOCK), 0);
	link->server = server;
	ck_assert_int_eq(SSL_set_fd(server, link->fds[0]), 1);
	SSL_set_accept_state(server);
	link->client = SSL_new(client_ctx);
	ck_assert_ptr_nonnull(link->client);
	ck_assert_int_eq(SSL_set_fd(link->client, link->fds[1]), 1);
	SSL_set_connect_state(link->client);
	if (resume != NULL)
		ck_assert_int_eq(SSL_set_session(link->client, resume), 1);
}

/*
 * Both ends close as they should: the server as transfer.c does, the client
 * with its own close_notify. An SSL freed without one makes OpenSSL drop
 * its session from resumption, and later data connections would fail.
 */
static void
link_close(struct link *link)
{
	tls_send_close_notify(link->server);
	if (SSL_is_init_finished(link->client))
		SSL_shutdown(link->client);
	ERR_clear_error();
	SSL_free(link->server);
	SSL_free(link->client);
	close(link->fds[0]);
	close(link->fds[1]);
}

static int
still_going(SSL *ssl, int result)
{
	int error;

	if (result == 1)
		return 0;
	error = SSL_get_error(ssl, result);
	return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE ? 1 : -1;
}

/* Drives both ends in turn: 0 when both finished, -1 when either side gave up. */
static int
handshake(struct link *link)
{
	int round;

	for (round = 0; round < 1000; round++) {
		int server = still_going(link->server, SSL_do_handshake(link->server));
		int client = still_going(link->client, SSL_do_handshake(link->client));

		if (server < 0 || client < 0) {
			ERR_clear_error();
			return -1;
		}
		if (server == 0 && client == 0)
			return 0;
		if (round > 10)
			usleep(1000);
	}
	return -1;
}

/*
 * The server says something and the client reads it: that also makes the
 * client process what came before it (TLS 1.3 tickets).
 */
static void
server_says(struct link *link, const char *text)
{
	char buffer[64];
	size_t length = strlen(text), got = 0;
	int round;

	ck_assert_int_eq(SSL_write(link->server, text, (int)length), (int)length);
	for (round = 0; round < 1000 && got < length; round++) {
		int result = SSL_read(link->client, buffer + got, (int)(sizeof(buffer) - got));

		if (result > 0)
			got += (size_t)result;
		else {
			ck_assert_int_eq(SSL_get_error(link->client, result), SSL_ERROR_WANT_READ);
			usleep(1000);
		}
	}
	ck_assert_uint_eq(got, length);
	ck_assert_int_eq(memcmp(buffer, text, length), 0);
}

/* A finished control connection, as session.c has it once AUTH TLS is done. */
static void
open_control(struct link *control, int max_version)
{
	link_open(control, tls_control_new(context), NULL);
	ck_assert_int_eq(handshake(control), 0);
	ck_assert_int_eq(SSL_version(control->server), max_version);
	tls_control_established(control->server);
	server_says(control, "234 AUTH TLS successful\r\n");
}

/* What commands/data.c and the transfer do before and after a data connection. */
static int
open_data_checked(struct link *data, struct link *control, SSL_SESSION *resume,
    int must_resume)
{
	link_open(data, tls_data_new(context, control->server), resume);
	ck_assert_int_eq(handshake(data), 0);
	return tls_data_check(context, data->server, must_resume);
}

static int
open_data(struct link *data, struct link *control, SSL_SESSION *resume)
{
	return open_data_checked(data, control, resume, 0);
}

static SSL_SESSION *
take_latest_session(void)
{
	SSL_SESSION *session = latest_session;

	ck_assert_ptr_nonnull(session);
	latest_session = NULL;
	return session;
}

START_TEST(test_control_handshake)
{
	struct link control;
	char buffer[8];
	int result;

	make_context();
	make_client_ctx(TLS1_3_VERSION, 1);
	open_control(&control, TLS1_3_VERSION);
	ck_assert(SSL_is_init_finished(control.client));
	/* Tickets came with the handshake: the client can resume data connections. */
	ck_assert_uint_gt(sessions_received, 0);

	/* close_notify goes out at once and the client reads a clean end. */
	tls_send_close_notify(control.server);
	for (result = -1; result < 0; usleep(1000)) {
		result = SSL_read(control.client, buffer, sizeof(buffer));
		if (result < 0)
			ck_assert_int_eq(SSL_get_error(control.client, result), SSL_ERROR_WANT_READ);
	}
	ck_assert_int_eq(result, 0);
	ck_assert_int_eq(SSL_get_error(control.client, result), SSL_ERROR_ZERO_RETURN);
	link_close(&control);
}
END_TEST

START_TEST(test_close_notify_before_handshake_sends_nothing)
{
	struct link control;
	char byte;

	make_context();
	make_client_ctx(TLS1_3_VERSION, 1);
	link_open(&control, tls_control_new(context), NULL);
	tls_send_close_notify(control.server);
	tls_send_close_notify(NULL);
	ck_assert_int_eq(read(control.fds[1], &byte, 1), -1);
	ck_assert_int_eq(errno, EAGAIN);
	link_close(&control);
}
END_TEST

START_TEST(test_minimum_protocol_refuses_older_client)
{
	struct link control;

	free(config.tls_min_protocol);
	config.tls_min_protocol = strdup("TLSv1.3");
	make_context();
	make_client_ctx(TLS1_2_VERSION, 1);
	link_open(&control, tls_control_new(context), NULL);
	ck_assert_int_eq(handshake(&control), -1);
	link_close(&control);
}
END_TEST

START_TEST(test_tls13_data_resuming_control_is_accepted)
{
	struct link control, data;
	SSL_SESSION *ticket;
	unsigned before;

	make_context();
	make_client_ctx(TLS1_3_VERSION, 1);
	open_control(&control, TLS1_3_VERSION);

	/* PASV/PORT: a fresh ticket goes out with the next reply. */
	before = sessions_received;
	tls_prepare_data_connection(control.server);
	server_says(&control, "227 Entering Passive Mode\r\n");
	ck_assert_uint_eq(sessions_received, before + 1);
	ticket = take_latest_session();

	before = sessions_received;
	ck_assert_int_eq(open_data(&data, &control, ticket), 0);
	ck_assert(SSL_session_reused(data.client));
	ck_assert_int_eq(SSL_version(data.server), TLS1_3_VERSION);
	/* Data connections hand out no tickets of their own. */
	server_says(&data, "file contents");
	ck_assert_uint_eq(sessions_received, before);
	link_close(&data);
	SSL_SESSION_free(ticket);
	link_close(&control);
}
END_TEST

START_TEST(test_tls13_data_with_fresh_session_is_refused)
{
	struct link control, data;

	make_context();
	make_client_ctx(TLS1_3_VERSION, 1);
	open_control(&control, TLS1_3_VERSION);
	tls_prepare_data_connection(control.server);
	server_says(&control, "227 Entering Passive Mode\r\n");

	/* Whoever connects first with a full handshake does not get the transfer. */
	ck_assert_int_eq(open_data(&data, &control, NULL), -EPERM);
	ck_assert(!SSL_session_reused(data.server));
	link_close(&data);
	link_close(&control);
}
END_TEST

START_TEST(test_tls13_ticket_of_another_control_is_refused)
{
	struct link mine, theirs, data;
	SSL_SESSION *their_ticket;

	make_context();
	make_client_ctx(TLS1_3_VERSION, 1);
	open_control(&mine, TLS1_3_VERSION);
	open_control(&theirs, TLS1_3_VERSION);
	tls_prepare_data_connection(theirs.server);
	server_says(&theirs, "227 Entering Passive Mode\r\n");
	their_ticket = take_latest_session();

	/* A valid ticket of another FTP session is not resumed on this one's data. */
	tls_prepare_data_connection(mine.server);
	ck_assert_int_eq(open_data(&data, &mine, their_ticket), -EPERM);
	ck_assert(!SSL_session_reused(data.client));
	link_close(&data);
	SSL_SESSION_free(their_ticket);
	link_close(&theirs);
	link_close(&mine);
}
END_TEST

START_TEST(test_tls12_ticket_resumption_is_accepted)
{
	struct link control, data, second;
	SSL_SESSION *session;

	make_context();
	make_client_ctx(TLS1_2_VERSION, 1);
	open_control(&control, TLS1_2_VERSION);
	ck_assert_uint_eq(sessions_received, 1);
	session = take_latest_session();
	/* Without TLS 1.3 there is nothing to prepare; it must do no harm. */
	tls_prepare_data_connection(control.server);
	server_says(&control, "227 Entering Passive Mode\r\n");

	ck_assert_int_eq(open_data(&data, &control, session), 0);
	ck_assert(SSL_session_reused(data.client));
	ck_assert_int_eq(SSL_version(data.server), TLS1_2_VERSION);
	link_close(&data);
	/* The same session serves every later transfer. */
	ck_assert_int_eq(open_data(&second, &control, session), 0);
	link_close(&second);
	ck_assert_int_eq(open_data(&second, &control, NULL), -EPERM);
	link_close(&second);
	SSL_SESSION_free(session);
	link_close(&control);
}
END_TEST

START_TEST(test_tls12_session_id_resumption_is_accepted)
{
	struct link control, data;
	SSL_SESSION *session;

	make_context();
	/* No tickets: resumption goes through the server's session cache. */
	make_client_ctx(TLS1_2_VERSION, 0);
	open_control(&control, TLS1_2_VERSION);
	session = take_latest_session();
	ck_assert(!SSL_SESSION_has_ticket(session));
	ck_assert_int_eq(open_data(&data, &control, session), 0);
	ck_assert(SSL_session_reused(data.client));
	link_close(&data);
	/* The cached session outlives each data connection. */
	ck_assert_int_eq(open_data(&data, &control, session), 0);
	ck_assert(SSL_session_reused(data.client));
	link_close(&data);
	SSL_SESSION_free(session);
	link_close(&control);
}
END_TEST

START_TEST(test_tls12_session_id_of_another_control_is_refused)
{
	struct link mine, theirs, data;
	SSL_SESSION *their_session;

	make_context();
	make_client_ctx(TLS1_2_VERSION, 0);
	open_control(&mine, TLS1_2_VERSION);
	open_control(&theirs, TLS1_2_VERSION);
	their_session = take_latest_session();

	/* The cache resumes it (same server), but it carries the other token. */
	ck_assert_int_eq(open_data(&data, &mine, their_session), -EPERM);
	ck_assert(SSL_session_reused(data.server));
	link_close(&data);
	SSL_SESSION_free(their_session);
	link_close(&theirs);
	link_close(&mine);
}
END_TEST

START_TEST(test_reuse_not_required_accepts_fresh_session)
{
	struct link control, data;

	config.tls_require_reuse = 0;
	make_context();
	make_client_ctx(TLS1_3_VERSION, 1);
	open_control(&control, TLS1_3_VERSION);
	tls_prepare_data_connection(control.server);
	server_says(&control, "227 Entering Passive Mode\r\n");
	ck_assert_int_eq(open_data(&data, &control, NULL), 0);
	ck_assert(!SSL_session_reused(data.server));
	link_close(&data);
	link_close(&control);
}
END_TEST

/* A balancer's data connection without a PROXY header: only resumption shows whose it is. */
START_TEST(test_must_resume_refuses_fresh_session_whatever_the_setting)
{
	struct link control, data;
	SSL_SESSION *ticket;

	config.tls_require_reuse = 0;
	make_context();
	make_client_ctx(TLS1_3_VERSION, 1);
	open_control(&control, TLS1_3_VERSION);
	tls_prepare_data_connection(control.server);
	server_says(&control, "227 Entering Passive Mode\r\n");
	ticket = take_latest_session();
	ck_assert_int_eq(open_data_checked(&data, &control, NULL, 1), -EPERM);
	link_close(&data);
	ck_assert_int_eq(open_data_checked(&data, &control, ticket, 1), 0);
	ck_assert(SSL_session_reused(data.server));
	link_close(&data);
	SSL_SESSION_free(ticket);
	link_close(&control);
}
END_TEST

Suite *
tls_suite(void)
{
	Suite *suite = suite_create("tls");
	TCase *files = tcase_create("context");
	TCase *handshakes = tcase_create("handshakes");

	tcase_add_unchecked_fixture(files, make_files, remove_files);
	tcase_add_checked_fixture(files, setup_config, teardown_config);
	tcase_add_test(files, test_loads_good_pair);
	tcase_add_test(files, test_missing_certificate);
	tcase_add_test(files, test_missing_key);
	tcase_add_test(files, test_key_of_another_certificate);
	tcase_add_test(files, test_key_of_another_type);
	tcase_add_test(files, test_garbage_certificate);
	tcase_add_test(files, test_garbage_key);
	tcase_add_test(files, test_unusable_ciphers);
	suite_add_tcase(suite, files);

	tcase_add_unchecked_fixture(handshakes, make_files, remove_files);
	tcase_add_checked_fixture(handshakes, setup_config, teardown_config);
	tcase_add_test(handshakes, test_control_handshake);
	tcase_add_test(handshakes, test_close_notify_before_handshake_sends_nothing);
	tcase_add_test(handshakes, test_minimum_protocol_refuses_older_client);
	tcase_add_test(handshakes, test_tls13_data_resuming_control_is_accepted);
	tcase_add_test(handshakes, test_tls13_data_with_fresh_session_is_refused);
	tcase_add_test(handshakes, test_tls13_ticket_of_another_control_is_refused);
	tcase_add_test(handshakes, test_tls12_ticket_resumption_is_accepted);
	tcase_add_test(handshakes, test_tls12_session_id_resumption_is_accepted);
	tcase_add_test(handshakes, test_tls12_session_id_of_another_control_is_refused);
	tcase_add_test(handshakes, test_reuse_not_required_accepts_fresh_session);
	tcase_add_test(handshakes, test_must_resume_refuses_fresh_session_whatever_the_setting);
	suite_add_tcase(suite, handshakes);
	return suite;
}
