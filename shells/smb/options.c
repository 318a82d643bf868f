/*
 * smb/options: the shell_option lines (url=, user=, password=, workgroup=,
 * timeout=, smb_conf=) and the smb:// URLs libsmbclient is given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smb.h"

#define DEFAULT_TIMEOUT_MS 20000
#define MAX_TIMEOUT_SECONDS 3600

/* Clears memory that held a password so that no copy outlives its use. */
void
smb_wipe(void *buffer, size_t length)
{
	volatile unsigned char *p = buffer;

	while (length-- > 0)
		*p++ = 0;
}

/* Bytes that pass unencoded into a URL path: libsmbclient decodes %XX itself. */
static int
plain_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_' || c == '.' || c == '~';
}

static size_t
encoded_length(const char *text)
{
	size_t length = 0;

	for (; *text != '\0'; text++)
		length += plain_byte((unsigned char)*text) ? 1 : 3;
	return length;
}

static char *
append_encoded(char *out, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *text != '\0'; text++) {
		unsigned char c = (unsigned char)*text;

		if (plain_byte(c)) {
			*out++ = (char)c;
		} else {
			*out++ = '%';
			*out++ = hex[c >> 4];
			*out++ = hex[c & 15];
		}
	}
	return out;
}

char *
smb_url(const struct smb_options *options, const struct ftpd_path *path, size_t count,
    const char *last)
{
	size_t length = strlen(options->share_url) + 1, i;
	char *url, *out;

	for (i = 0; i < count; i++)
		length += 1 + encoded_length(path->segments[i]);
	if (last != NULL)
		length += 1 + encoded_length(last);
	url = malloc(length);
	if (url == NULL)
		return NULL;
	out = url + strlen(options->share_url);
	memcpy(url, options->share_url, (size_t)(out - url));
	for (i = 0; i < count; i++) {
		*out++ = '/';
		out = append_encoded(out, path->segments[i]);
	}
	if (last != NULL) {
		*out++ = '/';
		out = append_encoded(out, last);
	}
	*out = '\0';
	return url;
}

/*
 * url=smb://host[:port]/share[/subdir...]: the server part stays as written
 * (no user@ or ;domain: credentials come from their own options); share and
 * subdir are encoded a segment at a time, empty segments dropped.
 */
static int
parse_url(const char *value, struct smb_options *options)
{
	const char *rest, *slash, *colon, *host_end;
	char *copy, *segment, *save = NULL, *out;
	size_t host_length;
	int segments = 0;

	if (strncmp(value, "smb://", 6) != 0)
		return -EINVAL;
	rest = value + 6;
	slash = strchr(rest, '/');
	if (slash == NULL || slash == rest)
		return -EINVAL;
	host_end = slash;
	if (rest[0] == '[') {
		const char *close = memchr(rest, ']', (size_t)(slash - rest));

		if (close == NULL)
			return -EINVAL;
		colon = close + 1 < slash && close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = memchr(rest, ':', (size_t)(slash - rest));
	}
	if (colon != NULL) {
		char *end;
		unsigned long port = strtoul(colon + 1, &end, 10);

		if (end != slash || colon + 1 == slash || port == 0 || port > 65535)
			return -EINVAL;
		options->port = (unsigned)port;
		host_end = colon;
	}
	host_length = (size_t)(host_end - rest);
	if (host_length == 0 || memchr(rest, '@', host_length) != NULL ||
	    memchr(rest, ';', host_length) != NULL || memchr(rest, '?', host_length) != NULL)
		return -EINVAL;
	options->server = strndup(rest, host_length);
	copy = strdup(slash);
	options->share_url = malloc(6 + host_length + 3 * strlen(slash) + 1);
	if (options->server == NULL || copy == NULL || options->share_url == NULL) {
		free(copy);
		return -ENOMEM;
	}
	out = options->share_url;
	memcpy(out, "smb://", 6);
	memcpy(out + 6, options->server, host_length);
	out += 6 + host_length;
	for (segment = strtok_r(copy, "/", &save); segment != NULL;
	    segment = strtok_r(NULL, "/", &save)) {
		if (strcmp(segment, ".") == 0 || strcmp(segment, "..") == 0) {
			free(copy);
			return -EINVAL;
		}
		*out++ = '/';
		out = append_encoded(out, segment);
		segments++;
	}
	*out = '\0';
	free(copy);
	return segments > 0 ? 0 : -EINVAL;	/* a share is required */
}

static int
set_string(char **field, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return -ENOMEM;
	if (*field != NULL) {
		smb_wipe(*field, strlen(*field));
		free(*field);
	}
	*field = copy;
	return 0;
}

static int
parse_option(const char *option, struct smb_options *options)
{
	const char *equals = strchr(option, '=');
	size_t key_length;
	const char *value;

	if (equals == NULL)
		return -EINVAL;
	key_length = (size_t)(equals - option);
	value = equals + 1;
#define KEY(name) (key_length == strlen(name) && strncmp(option, name, key_length) == 0)
	if (KEY("url")) {
		if (options->share_url != NULL)
			return -EINVAL;
		return parse_url(value, options);
	}
	/* The buffers libsmbclient's authentication callback fills are this big. */
	if (strlen(value) >= sizeof(((struct smb_credentials *)NULL)->user))
		return -EINVAL;
	if (KEY("user"))
		return value[0] == '\0' ? -EINVAL : set_string(&options->user, value);
	if (KEY("password"))
		return set_string(&options->password, value);
	if (KEY("workgroup"))
		return set_string(&options->workgroup, value);
	if (KEY("smb_conf"))
		return value[0] != '/' ? -EINVAL : set_string(&options->smb_conf, value);
	if (KEY("timeout")) {
		char *end;
		unsigned long seconds = strtoul(value, &end, 10);

		if (*end != '\0' || end == value || seconds == 0 || seconds > MAX_TIMEOUT_SECONDS)
			return -EINVAL;
		options->timeout_ms = (unsigned)seconds * 1000;
		return 0;
	}
#undef KEY
	return -EINVAL;
}

int
smb_options_parse(const struct ftpd_shell_config *config, struct smb_options *options)
{
	size_t i;
	int error;

	memset(options, 0, sizeof(*options));
	options->timeout_ms = DEFAULT_TIMEOUT_MS;
	for (i = 0; i < config->option_count; i++) {
		error = parse_option(config->options[i], options);
		if (error != 0)
			goto fail;
	}
	error = -EINVAL;
	if (options->share_url == NULL)
		goto fail;
	/* A fixed password needs the fixed user it belongs to. */
	if (options->password != NULL && options->user == NULL)
		goto fail;
	return 0;
fail:
	smb_options_free(options);
	return error;
}

void
smb_options_free(struct smb_options *options)
{
	if (options->password != NULL)
		smb_wipe(options->password, strlen(options->password));
	free(options->server);
	free(options->share_url);
	free(options->user);
	free(options->password);
	free(options->workgroup);
	free(options->smb_conf);
	memset(options, 0, sizeof(*options));
}
