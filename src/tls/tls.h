/*
 * tls: the server's TLS context for FTPS (RFC 4217): certificate and protocol
 * policy, and the binding of every data connection to its control session.
 */
#ifndef FTPD_TLS_H
#define FTPD_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "config/config.h"

struct tls_context;

/*
 * Loads tls_cert and tls_key (read before any privilege drop) and applies the
 * protocol policy. NULL with a message naming the file in error.
 */
struct tls_context *tls_context_new(const struct config *config, char *error, size_t size);
void tls_context_free(struct tls_context *context);

/* A server-side SSL for a control connection, with its own session token. NULL on failure. */
SSL *tls_control_new(struct tls_context *context);

/* The control handshake is done: bind its session to the token for later data connections. */
void tls_control_established(SSL *control);

/* Before a data connection: on TLS 1.3, a fresh ticket the client can resume with. */
void tls_prepare_data_connection(SSL *control);

/* A server-side SSL for a PROT P data connection of control's session. NULL on failure. */
SSL *tls_data_new(struct tls_context *context, SSL *control);

/*
 * After the data handshake: 0 when the connection may be used, -EPERM when
 * reuse is required (tls_require_reuse, or must_resume: nothing else shows
 * whose it is) and data did not resume control's session (logged).
 */
int tls_data_check(struct tls_context *context, SSL *data, int must_resume);

/* Size of the token that binds data connections to their control connection. */
#define TLS_TOKEN_SIZE 32

/* Copies control's token into token. 0, or -ENOENT for an SSL without one. */
int tls_control_token(SSL *control, unsigned char token[TLS_TOKEN_SIZE]);

/*
 * An SSL that never carries a byte: in a user process whose TLS control
 * connection is relayed by its worker, it stands for that connection when
 * data connections are bound to it (tls_data_new, tls_data_check). NULL on
 * failure.
 */
SSL *tls_token_holder_new(struct tls_context *context, const unsigned char token[TLS_TOKEN_SIZE]);

/* Sends close_notify without waiting for the peer's (best effort, non-blocking). */
void tls_send_close_notify(SSL *ssl);

#endif
