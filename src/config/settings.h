/*
 * settings: one generation of configuration and what is built from it (the
 * portal with its checkers and realm, the TLS context). SIGHUP makes a new
 * generation for new sessions; a session keeps the one it started with.
 */
#ifndef FTPD_SETTINGS_H
#define FTPD_SETTINGS_H

#include <stddef.h>

#include "config/config.h"

struct portal;
struct tls_context;

struct settings {
	unsigned references;
	struct config config;
	struct portal *portal;		/* built by the process that serves sessions */
	struct tls_context *tls;	/* NULL with tls = off */
};

/*
 * Builds a generation from config, whose contents it takes over (config is
 * left empty either way), loading the certificate and key while the caller
 * may still read them. The portal is left to the process that serves
 * sessions (it loads shells). NULL with a message in error on failure.
 */
struct settings *settings_new(struct config *config, char *error, size_t size);

struct settings *settings_hold(struct settings *settings);
/* Frees the generation when its last holder lets go. */
void settings_release(struct settings *settings);

#endif
