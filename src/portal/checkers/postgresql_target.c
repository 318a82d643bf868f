/*
 * portal/checkers/postgresql_target: what passwd_db connections connect to. libpq
 * looks host names up with a blocking getaddrinfo, so they are looked up here, in a
 * worker thread, and libpq gets numeric addresses (hostaddr) beside the names.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libpq-fe.h>

#include "log/log.h"
#include "portal/checkers/postgresql.h"
#include "util/worker_pool.h"

/* Shown in pg_stat_activity unless the URI names an application_name. */
#define POSTGRESQL_APPLICATION_NAME "ftpd"

struct lookup;

struct postgresql_target {
	struct worker_pool *workers;
	postgresql_looked_up_fn looked_up;
	void *owner;
	PQconninfoOption *options;	/* the parsed URI: the values below point into it */
	/* NULL-ended; host, port and hostaddr have places of their own, filled per attempt. */
	const char **keywords;
	const char **values;
	size_t host_place, port_place, address_place;
	const char *hosts;		/* as the URI has them; NULL: libpq's default */
	const char *ports;
	int has_names;			/* a host needs a lookup, and no hostaddr was given */
	/* The last lookup's lists, and when it was made (monotonic seconds). */
	char *resolved_hosts;
	char *resolved_ports;
	char *addresses;
	time_t resolved_at;
	struct lookup *lookup;		/* running; NULL when none */
};

/* One lookup, alive until the pool's done ran, whether the target waits or not. */
struct lookup {
	struct postgresql_target *target;	/* NULL once the target went away */
	char *hosts;
	char *ports;
	/* Results */
	int error;
	char *resolved_hosts;
	char *resolved_ports;
	char *addresses;
};

static time_t
monotonic_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

int
postgresql_target_host_is_name(const char *host)
{
	unsigned char address[sizeof(struct in6_addr)];

	/* Empty: libpq's default socket; '/' or '@': a socket directory (or abstract name). */
	if (host[0] == '\0' || host[0] == '/' || host[0] == '@')
		return 0;
	return inet_pton(AF_INET, host, address) != 1 && inet_pton(AF_INET6, host, address) != 1;
}

/* Entries of a comma-separated list: "" has none, "a,,b" three. */
static size_t
count_entries(const char *list)
{
	size_t count = 1;

	if (list == NULL || list[0] == '\0')
		return 0;
	for (; *list != '\0'; list++)
		count += *list == ',';
	return count;
}

/* Appends entry to the list being built at *out, a comma first unless first. */
static void
append_entry(char **out, const char *entry, size_t length, int first)
{
	if (!first)
		*(*out)++ = ',';
	memcpy(*out, entry, length);
	*out += length;
	**out = '\0';
}

/* The numeric form of host's first address, or "" when it has none. */
static void
first_address(const char *host, char numeric[NI_MAXHOST])
{
	struct addrinfo hints, *found = NULL;

	numeric[0] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if (getaddrinfo(host, NULL, &hints, &found) != 0)
		return;
	if (getnameinfo(found->ai_addr, found->ai_addrlen, numeric, NI_MAXHOST, NULL, 0,
	    NI_NUMERICHOST) != 0)
		numeric[0] = '\0';
	freeaddrinfo(found);
}

int
postgresql_target_resolve(const char *hosts, const char *ports, char **resolved_hosts,
    char **resolved_ports, char **addresses)
{
	size_t host_count = count_entries(hosts), port_count = count_entries(ports);
	/* A port per host is dropped with its host; one port (or none) serves them all. */
	int port_per_host = host_count > 1 && port_count == host_count;
	const char *host = hosts, *port = ports;
	char *host_out, *port_out, *address_out;
	char numeric[NI_MAXHOST], entry[NI_MAXHOST];
	size_t host_length, port_length, i, kept = 0;

	*resolved_hosts = malloc(strlen(hosts) + 1);
	*resolved_ports = malloc((ports != NULL ? strlen(ports) : 0) + 1);
	*addresses = malloc(host_count * NI_MAXHOST + 1);
	if (*resolved_hosts == NULL || *resolved_ports == NULL || *addresses == NULL)
		goto out_of_memory;
	host_out = *resolved_hosts;
	port_out = *resolved_ports;
	address_out = *addresses;
	*host_out = *port_out = *address_out = '\0';
	if (!port_per_host && ports != NULL)
		strcpy(port_out, ports);

	for (i = 0; i < host_count; i++) {
		host_length = strcspn(host, ",");
		port_length = port_per_host ? strcspn(port, ",") : 0;
		if (host_length >= sizeof(entry)) {
			log_warning("passwd_db: a host name of %zu bytes; left out", host_length);
			goto next;
		}
		memcpy(entry, host, host_length);
		entry[host_length] = '\0';
		numeric[0] = '\0';
		if (postgresql_target_host_is_name(entry)) {
			first_address(entry, numeric);
			if (numeric[0] == '\0') {
				log_warning("passwd_db: host %s has no address; left out", entry);
				goto next;
			}
		}
		append_entry(&host_out, entry, host_length, kept == 0);
		append_entry(&address_out, numeric, strlen(numeric), kept == 0);
		if (port_per_host)
			append_entry(&port_out, port, port_length, kept == 0);
		kept++;
next:
		host += host_length + (host[host_length] == ',');
		if (port_per_host)
			port += port_length + (port[port_length] == ',');
	}
	if (kept > 0)
		return 0;
	free(*resolved_hosts);
	free(*resolved_ports);
	free(*addresses);
	*resolved_hosts = *resolved_ports = *addresses = NULL;
	return -EHOSTUNREACH;
out_of_memory:
	free(*resolved_hosts);
	free(*resolved_ports);
	free(*addresses);
	*resolved_hosts = *resolved_ports = *addresses = NULL;
	return -ENOMEM;
}

static void
lookup_free(struct lookup *lookup)
{
	free(lookup->hosts);
	free(lookup->ports);
	free(lookup->resolved_hosts);
	free(lookup->resolved_ports);
	free(lookup->addresses);
	free(lookup);
}

/* Worker thread: the blocking part. */
static void
lookup_work(void *arg)
{
	struct lookup *lookup = arg;

	lookup->error = postgresql_target_resolve(lookup->hosts, lookup->ports,
	    &lookup->resolved_hosts, &lookup->resolved_ports, &lookup->addresses);
}

static void
forget_lists(struct postgresql_target *target)
{
	free(target->resolved_hosts);
	free(target->resolved_ports);
	free(target->addresses);
	target->resolved_hosts = target->resolved_ports = target->addresses = NULL;
}

/* Loop thread: the lookup finished, or the pool is going away. */
static void
lookup_done(void *arg, int cancelled)
{
	struct lookup *lookup = arg;
	struct postgresql_target *target = lookup->target;
	int error = cancelled ? -ECANCELED : lookup->error;

	if (target == NULL) {
		lookup_free(lookup);
		return;
	}
	target->lookup = NULL;
	if (error == 0) {
		forget_lists(target);
		target->resolved_hosts = lookup->resolved_hosts;
		target->resolved_ports = lookup->resolved_ports;
		target->addresses = lookup->addresses;
		lookup->resolved_hosts = lookup->resolved_ports = lookup->addresses = NULL;
		target->resolved_at = monotonic_seconds();
	} else if (error == -EHOSTUNREACH)
		log_warning("passwd_db: none of the hosts has an address");
	lookup_free(lookup);
	target->looked_up(target->owner, error);
}

static int
start_lookup(struct postgresql_target *target)
{
	struct lookup *lookup = calloc(1, sizeof(*lookup));

	if (lookup == NULL)
		return -ENOMEM;
	lookup->target = target;
	lookup->hosts = strdup(target->hosts);
	lookup->ports = target->ports != NULL ? strdup(target->ports) : NULL;
	if (lookup->hosts == NULL || (target->ports != NULL && lookup->ports == NULL) ||
	    worker_pool_submit(target->workers, lookup_work, lookup_done, lookup) == NULL) {
		lookup_free(lookup);
		return -ENOMEM;
	}
	target->lookup = lookup;
	return -EINPROGRESS;
}

int
postgresql_target_parameters(struct postgresql_target *target,
    const char *const **keywords, const char *const **values)
{
	if (target->has_names) {
		if (target->lookup != NULL)
			return -EINPROGRESS;
		if (target->addresses == NULL ||
		    monotonic_seconds() - target->resolved_at >= POSTGRESQL_ADDRESSES_SECONDS)
			return start_lookup(target);
		target->values[target->host_place] = target->resolved_hosts;
		target->values[target->port_place] = target->resolved_ports;
		target->values[target->address_place] = target->addresses;
	}
	*keywords = target->keywords;
	*values = target->values;
	return 0;
}

int
postgresql_target_looking_up(const struct postgresql_target *target)
{
	return target->lookup != NULL;
}

void
postgresql_target_forget_addresses(struct postgresql_target *target)
{
	if (!target->has_names)
		return;
	/* The arrays point at the URI's own lists again until the next lookup. */
	target->values[target->host_place] = target->hosts;
	target->values[target->port_place] = target->ports;
	target->values[target->address_place] = NULL;
	forget_lists(target);
}

/* Where in the parsed options keyword is, or NULL. */
static const char *
option_value(const PQconninfoOption *options, const char *keyword)
{
	for (; options->keyword != NULL; options++)
		if (strcmp(options->keyword, keyword) == 0)
			return options->val;
	return NULL;
}

static int
is_place_of_its_own(const char *keyword)
{
	return strcmp(keyword, "host") == 0 || strcmp(keyword, "port") == 0 ||
	    strcmp(keyword, "hostaddr") == 0;
}

/* The keyword and value arrays: the URI's options, then host, port and hostaddr. */
static int
build_arrays(struct postgresql_target *target)
{
	const PQconninfoOption *option;
	size_t count = 0, i = 0;

	for (option = target->options; option->keyword != NULL; option++)
		count++;
	/* host, port, hostaddr, fallback_application_name, NULL */
	target->keywords = calloc(count + 5, sizeof(*target->keywords));
	target->values = calloc(count + 5, sizeof(*target->values));
	if (target->keywords == NULL || target->values == NULL)
		return -ENOMEM;
	for (option = target->options; option->keyword != NULL; option++) {
		if (option->val == NULL || is_place_of_its_own(option->keyword))
			continue;
		target->keywords[i] = option->keyword;
		target->values[i++] = option->val;
	}
	if (option_value(target->options, "application_name") == NULL &&
	    option_value(target->options, "fallback_application_name") == NULL) {
		target->keywords[i] = "fallback_application_name";
		target->values[i++] = POSTGRESQL_APPLICATION_NAME;
	}
	target->host_place = i;
	target->keywords[i] = "host";
	target->values[i++] = target->hosts;
	target->port_place = i;
	target->keywords[i] = "port";
	target->values[i++] = target->ports;
	target->address_place = i;
	target->keywords[i] = "hostaddr";
	target->values[i++] = option_value(target->options, "hostaddr");
	return 0;
}

struct postgresql_target *
postgresql_target_new(const char *uri, struct worker_pool *workers,
    postgresql_looked_up_fn looked_up, void *owner)
{
	struct postgresql_target *target = calloc(1, sizeof(*target));
	const char *hostaddr, *host;
	char *message = NULL;
	size_t length;

	if (target == NULL) {
		log_error("passwd_db: out of memory");
		return NULL;
	}
	target->workers = workers;
	target->looked_up = looked_up;
	target->owner = owner;
	target->options = PQconninfoParse(uri, &message);
	if (target->options == NULL) {
		/* libpq's message names the fault, never the password. */
		log_error("passwd_db: %s", message != NULL ? message : "out of memory");
		PQfreemem(message);
		free(target);
		return NULL;
	}
	target->hosts = option_value(target->options, "host");
	target->ports = option_value(target->options, "port");
	hostaddr = option_value(target->options, "hostaddr");
	/* With a hostaddr the administrator chose the addresses: libpq looks nothing up. */
	if (target->hosts != NULL && (hostaddr == NULL || hostaddr[0] == '\0')) {
		for (host = target->hosts; ; host += length + 1) {
			char entry[NI_MAXHOST];

			length = strcspn(host, ",");
			if (length < sizeof(entry)) {
				memcpy(entry, host, length);
				entry[length] = '\0';
				target->has_names |= postgresql_target_host_is_name(entry);
			} else
				target->has_names = 1;
			if (host[length] == '\0')
				break;
		}
	}
	if (build_arrays(target) != 0) {
		log_error("passwd_db: out of memory");
		postgresql_target_free(target);
		return NULL;
	}
	return target;
}

void
postgresql_target_free(struct postgresql_target *target)
{
	if (target == NULL)
		return;
	/* The pool still runs lookup_done once; it frees the lookup then. */
	if (target->lookup != NULL)
		target->lookup->target = NULL;
	forget_lists(target);
	free(target->keywords);
	free(target->values);
	PQconninfoFree(target->options);
	free(target);
}
