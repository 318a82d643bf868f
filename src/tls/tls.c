/*
 * tls: OpenSSL setup for FTPS and the data-connection binding.
 *
 * Every control connection gets a random token. It is stored in the control
 * session as ticket application data and put into every ticket issued for
 * it; a data connection counts as the control connection's only when it
 * resumed a session carrying the same token (session IDs for TLS 1.2
 * caches and tickets for TLS 1.2 and 1.3 alike), so a third party that
 * connects to a passive port first cannot take over the transfer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "log/log.h"
#include "tls/tls.h"
#include "util/attributes.h"

#define TOKEN_SIZE TLS_TOKEN_SIZE
/* Sessions must outlive any control connection that may still open data connections. */
#define SESSION_LIFETIME_SECONDS (24 * 60 * 60)

struct tls_context {
	SSL_CTX *ctx;
	int require_reuse;
};

/* ex_data index of the token (a TOKEN_SIZE malloc'd block) on each SSL. */
static int token_index = -1;

static void
free_token(void *parent UNUSED, void *pointer, CRYPTO_EX_DATA *data UNUSED, int index UNUSED, long argl UNUSED, void *argp UNUSED)
{
	if (pointer != NULL) {
		OPENSSL_cleanse(pointer, TOKEN_SIZE);
		free(pointer);
	}
}

static const unsigned char *
token_of(SSL *ssl)
{
	return token_index < 0 ? NULL : SSL_get_ex_data(ssl, token_index);
}

static int
set_token(SSL *ssl, const unsigned char *copy_from)
{
	unsigned char *token = malloc(TOKEN_SIZE);

	if (token == NULL)
		return -ENOMEM;
	if (copy_from != NULL)
		memcpy(token, copy_from, TOKEN_SIZE);
	else if (RAND_bytes(token, TOKEN_SIZE) != 1) {
		free(token);
		return -EIO;
	}
	if (SSL_set_ex_data(ssl, token_index, token) != 1) {
		free(token);
		return -ENOMEM;
	}
	return 0;
}

/* Every ticket carries its connection's token. */
static int
generate_ticket(SSL *ssl, void *arg UNUSED)
{
	const unsigned char *token = token_of(ssl);
	SSL_SESSION *session = SSL_get0_session(ssl);

	if (token != NULL && session != NULL)
		SSL_SESSION_set1_ticket_appdata(session, token, TOKEN_SIZE);
	return 1;
}

static int
session_has_token(SSL_SESSION *session, const unsigned char *token)
{
	void *data = NULL;
	size_t length = 0;

	if (token == NULL || session == NULL ||
	    SSL_SESSION_get0_ticket_appdata(session, &data, &length) != 1)
		return 0;
	return length == TOKEN_SIZE && CRYPTO_memcmp(data, token, TOKEN_SIZE) == 0;
}

/* A ticket of another FTP session is not resumed: that makes a full handshake. */
static SSL_TICKET_RETURN
decrypt_ticket(SSL *ssl, SSL_SESSION *session, const unsigned char *key_name UNUSED,
    size_t key_name_length UNUSED, SSL_TICKET_STATUS status, void *arg UNUSED)
{
	switch (status) {
	case SSL_TICKET_SUCCESS:
	case SSL_TICKET_SUCCESS_RENEW:
		if (session_has_token(session, token_of(ssl)))
			return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE :
			    SSL_TICKET_RETURN_USE_RENEW;
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	case SSL_TICKET_EMPTY:
	case SSL_TICKET_NO_DECRYPT:
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	default:
		return SSL_TICKET_RETURN_ABORT;
	}
}

static void
describe_openssl_error(char *out, size_t size)
{
	unsigned long code = ERR_get_error();

	if (code == 0)
		snprintf(out, size, "unknown OpenSSL error");
	else
		ERR_error_string_n(code, out, size);
	ERR_clear_error();
}

static int
load_certificate(SSL_CTX *ctx, const struct config *config, char *error, size_t size)
{
	char reason[256];

	if (SSL_CTX_use_certificate_chain_file(ctx, config->tls_cert) != 1) {
		describe_openssl_error(reason, sizeof(reason));
		snprintf(error, size, "tls_cert %s: cannot load the certificate: %s",
		    config->tls_cert, reason);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, config->tls_key, SSL_FILETYPE_PEM) != 1) {
		describe_openssl_error(reason, sizeof(reason));
		snprintf(error, size, "tls_key %s: cannot load the private key: %s",
		    config->tls_key, reason);
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		snprintf(error, size, "tls_key %s does not match the certificate in %s",
		    config->tls_key, config->tls_cert);
		return -1;
	}
	return 0;
}

struct tls_context *
tls_context_new(const struct config *config, char *error, size_t size)
{
	struct tls_context *context;
	SSL_CTX *ctx;
	int minimum = strcmp(config->tls_min_protocol, "TLSv1.3") == 0 ?
	    TLS1_3_VERSION : TLS1_2_VERSION;

	if (token_index < 0)
		token_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_token);
	context = calloc(1, sizeof(*context));
	ctx = SSL_CTX_new(TLS_server_method());
	if (context == NULL || ctx == NULL || token_index < 0) {
		snprintf(error, size, "cannot set up TLS: out of memory");
		goto fail;
	}
	context->ctx = ctx;
	context->require_reuse = config->tls_require_reuse;
	SSL_CTX_set_min_proto_version(ctx, minimum);
	if (config->tls_ciphers != NULL && SSL_CTX_set_cipher_list(ctx, config->tls_ciphers) != 1) {
		ERR_clear_error();
		snprintf(error, size, "tls_ciphers '%s': no usable cipher", config->tls_ciphers);
		goto fail;
	}
	if (load_certificate(ctx, config, error, size) != 0)
		goto fail;
	/*
	 * Kernel TLS where the kernel has it: downloads can then go out with
	 * SSL_sendfile. No renegotiation, ever.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"ftpd", 4);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_timeout(ctx, SESSION_LIFETIME_SECONDS);
	SSL_CTX_set_session_ticket_cb(ctx, generate_ticket, decrypt_ticket, context);
	return context;
fail:
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	free(context);
	return NULL;
}

void
tls_context_free(struct tls_context *context)
{
	if (context == NULL)
		return;
	SSL_CTX_free(context->ctx);
	free(context);
}

SSL *
tls_control_new(struct tls_context *context)
{
	SSL *ssl = SSL_new(context->ctx);

	if (ssl != NULL && set_token(ssl, NULL) != 0) {
		SSL_free(ssl);
		return NULL;
	}
	/*
	 * A control connection is idle most of its life: its record buffers
	 * (about 34 KiB) go back to the allocator whenever they are empty.
	 */
	if (ssl != NULL)
		SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
	return ssl;
}

void
tls_control_established(SSL *control)
{
	const unsigned char *token = token_of(control);
	SSL_SESSION *session = SSL_get0_session(control);

	/* The cached session (TLS 1.2 session IDs) is this very object. */
	if (token != NULL && session != NULL)
		SSL_SESSION_set1_ticket_appdata(session, token, TOKEN_SIZE);
}

void
tls_prepare_data_connection(SSL *control)
{
	if (SSL_version(control) >= TLS1_3_VERSION)
		SSL_new_session_ticket(control);
}

SSL *
tls_data_new(struct tls_context *context, SSL *control)
{
	SSL *ssl = SSL_new(context->ctx);

	if (ssl == NULL)
		return NULL;
	if (set_token(ssl, token_of(control)) != 0) {
		SSL_free(ssl);
		return NULL;
	}
	/*
	 * A client that closes the data connection without close_notify must
	 * not make OpenSSL 3 mark the shared session unresumable; truncation is
	 * still detected by the transfer (a partial record left over).
	 */
	SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/*
	 * No tickets on data connections: clients resume from the control
	 * connection's, and a ticket a client never reads turns its close()
	 * into a reset that can lose the end of an upload.
	 */
	SSL_set_num_tickets(ssl, 0);
	return ssl;
}

int
tls_data_check(struct tls_context *context, SSL *data, int must_resume)
{
	if (!context->require_reuse && !must_resume)
		return 0;
	if (!SSL_session_reused(data)) {
		log_info("refused a TLS data connection: it did not resume the control "
		    "connection's session (%s)", SSL_get_version(data));
		return -EPERM;
	}
	if (!session_has_token(SSL_get0_session(data), token_of(data))) {
		log_warning("refused a TLS data connection: it resumed another session");
		return -EPERM;
	}
	return 0;
}

int
tls_control_token(SSL *control, unsigned char token[TLS_TOKEN_SIZE])
{
	const unsigned char *own = token_of(control);

	if (own == NULL)
		return -ENOENT;
	memcpy(token, own, TLS_TOKEN_SIZE);
	return 0;
}

SSL *
tls_token_holder_new(struct tls_context *context, const unsigned char token[TLS_TOKEN_SIZE])
{
	SSL *ssl = SSL_new(context->ctx);

	if (ssl != NULL && set_token(ssl, token) != 0) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

void
tls_send_close_notify(SSL *ssl)
{
	if (ssl == NULL || !SSL_is_init_finished(ssl))
		return;
	/* One call queues and sends our close_notify; the peer's is not awaited. */
	SSL_shutdown(ssl);
	ERR_clear_error();
}
