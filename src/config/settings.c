/*
 * settings: a reference-counted configuration generation.
 * Everything built from one config lives and dies with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/settings.h"
#include "portal/portal.h"
#include "tls/tls.h"

struct settings *
settings_new(struct config *config, char *error, size_t size)
{
	struct settings *settings = calloc(1, sizeof(*settings));

	if (settings == NULL) {
		config_free(config);
		snprintf(error, size, "out of memory");
		return NULL;
	}
	settings->references = 1;
	settings->config = *config;
	/* The strings now belong to the generation. */
	memset(config, 0, sizeof(*config));
	if (settings->config.tls != TLS_OFF) {
		settings->tls = tls_context_new(&settings->config, error, size);
		if (settings->tls == NULL)
			goto fail;
	}
	return settings;
fail:
	settings_release(settings);
	return NULL;
}

struct settings *
settings_hold(struct settings *settings)
{
	settings->references++;
	return settings;
}

void
settings_release(struct settings *settings)
{
	if (settings == NULL || --settings->references > 0)
		return;
	if (settings->portal != NULL)
		portal_free(settings->portal);
	tls_context_free(settings->tls);
	config_free(&settings->config);
	free(settings);
}
