/*
 * client: one FTP control connection on libevent, in the spirit of Twisted's
 * FTPClient: requests are queued and run one at a time, each finishing with
 * a callback once its reply (and, for a transfer, its data connection) is
 * done. Transfers open a passive data connection first (PASV or EPSV);
 * with a TLS context, AUTH TLS upgrades the control connection and data
 * connections resume its TLS session.
 */
#ifndef FTPLOAD_CLIENT_H
#define FTPLOAD_CLIENT_H

#include <stdint.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/ssl.h>

struct ftp_client;

struct ftp_client_config {
	struct event_base *base;
	struct sockaddr_storage address;	/* the server's control address */
	socklen_t address_length;
	int epsv;			/* EPSV rather than PASV */
	SSL_CTX *tls;			/* NULL: plain FTP */
	int timeout_seconds;		/* no progress for this long fails a request */
};

enum ftp_transfer {
	FTP_RETR,
	FTP_STOR,
	FTP_LIST,
	FTP_NLST
};

struct ftp_outcome {
	int ok;			/* the final reply was 1xx-3xx and the data all moved */
	int code;		/* the final reply's code; 0 when the connection failed */
	const char *text;	/* its last line */
	uint64_t bytes;		/* data bytes received or sent */
	struct evbuffer *data;	/* LIST and NLST: what came; valid during the callback */
	double seconds;		/* from sending the request to its end */
};

typedef void ftp_done_fn(struct ftp_client *client, const struct ftp_outcome *outcome,
    void *arg);

struct ftp_client *ftp_client_new(const struct ftp_client_config *config);

/*
 * Frees the client and closes its connections; queued callbacks are not
 * called. Safe inside one of the client's own callbacks.
 */
void ftp_client_free(struct ftp_client *client);

/* Connects; done runs on the greeting. */
int ftp_client_connect(struct ftp_client *client, ftp_done_fn *done, void *arg);

/* One command line (without CRLF); "AUTH TLS" upgrades the connection on 234. */
void ftp_client_command(struct ftp_client *client, const char *line, ftp_done_fn *done,
    void *arg);

/* A transfer; size is what STOR sends. path may be empty for LIST and NLST. */
void ftp_client_transfer(struct ftp_client *client, enum ftp_transfer kind, const char *path,
    uint64_t size, ftp_done_fn *done, void *arg);

/*
 * Queues the login: AUTH TLS, PBSZ 0 and PROT P when the client has a TLS
 * context, then USER, PASS and TYPE I. done runs once, after TYPE I or on
 * the first failure.
 */
void ftp_client_login(struct ftp_client *client, const char *user, const char *password,
    ftp_done_fn *done, void *arg);

/* The connection is still up (an idle client learns of a close this way). */
int ftp_client_alive(const struct ftp_client *client);

/* Requests queued or running. */
int ftp_client_busy(const struct ftp_client *client);

#endif
