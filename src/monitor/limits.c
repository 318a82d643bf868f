/*
 * monitor/limits: session counts in all, per client address and per user
 * (hash tables of the addresses and users that have sessions; an entry
 * leaves its table with its last session).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/limits.h"
#include "portal/checkers/checkers.h"
#include "util/keyed_hash.h"

struct address_count {
	struct address_count *next;
	struct message_address address;
	unsigned sessions;
	unsigned not_logged_in;		/* of sessions */
};

struct user_count {
	struct user_count *next;
	unsigned sessions;
	char name[CHECKER_USER_MAX + 1];
};

void
limits_init(struct limits *limits)
{
	memset(limits, 0, sizeof(*limits));
}

void
limits_clear(struct limits *limits)
{
	unsigned i;

	for (i = 0; i < LIMITS_BUCKETS; i++) {
		while (limits->addresses[i] != NULL) {
			struct address_count *next = limits->addresses[i]->next;

			free(limits->addresses[i]);
			limits->addresses[i] = next;
		}
		while (limits->users[i] != NULL) {
			struct user_count *next = limits->users[i]->next;

			free(limits->users[i]);
			limits->users[i] = next;
		}
	}
	limits->total = 0;
}

static int
same_address(const struct message_address *a, const struct message_address *b)
{
	return a->length == b->length && memcmp(a->bytes, b->bytes, a->length) == 0;
}

static struct address_count **
address_slot(const struct limits *limits, const struct message_address *address)
{
	struct address_count *const *slot =
	    &limits->addresses[keyed_hash(address->bytes, address->length) % LIMITS_BUCKETS];

	while (*slot != NULL && !same_address(&(*slot)->address, address))
		slot = &(*slot)->next;
	return (struct address_count **)slot;
}

static struct user_count **
user_slot(const struct limits *limits, const char *user)
{
	struct user_count *const *slot =
	    &limits->users[keyed_hash(user, strlen(user)) % LIMITS_BUCKETS];

	while (*slot != NULL && strcmp((*slot)->name, user) != 0)
		slot = &(*slot)->next;
	return (struct user_count **)slot;
}

/* Only named users are counted: anonymous sessions and oversized names are not. */
static int
counts_per_user(const char *user)
{
	return user != NULL && user[0] != '\0' && strlen(user) <= CHECKER_USER_MAX;
}

unsigned
limits_sessions_from(const struct limits *limits, const struct message_address *address)
{
	const struct address_count *entry = *address_slot(limits, address);

	return entry == NULL ? 0 : entry->sessions;
}

unsigned
limits_not_logged_in_from(const struct limits *limits, const struct message_address *address)
{
	const struct address_count *entry = *address_slot(limits, address);

	return entry == NULL ? 0 : entry->not_logged_in;
}

unsigned
limits_sessions_of(const struct limits *limits, const char *user)
{
	const struct user_count *entry;

	if (!counts_per_user(user))
		return 0;
	entry = *user_slot(limits, user);
	return entry == NULL ? 0 : entry->sessions;
}

static void
count_user(struct limits *limits, const char *user)
{
	struct user_count **slot;

	if (!counts_per_user(user))
		return;
	slot = user_slot(limits, user);
	if (*slot == NULL) {
		*slot = calloc(1, sizeof(**slot));
		if (*slot == NULL)
			return;		/* best effort, like the per-address counts */
		strcpy((*slot)->name, user);
	}
	(*slot)->sessions++;
}

static void
uncount_user(struct limits *limits, const char *user)
{
	struct user_count **slot;

	if (!counts_per_user(user))
		return;
	slot = user_slot(limits, user);
	if (*slot != NULL && --(*slot)->sessions == 0) {
		struct user_count *gone = *slot;

		*slot = gone->next;
		free(gone);
	}
}

void
limits_add(struct limits *limits, const struct message_address *address, int logged_in,
    const char *user)
{
	struct address_count **slot = address_slot(limits, address);

	limits->total++;
	if (logged_in)
		count_user(limits, user);
	if (*slot == NULL) {
		*slot = calloc(1, sizeof(**slot));
		if (*slot == NULL)
			return;
		(*slot)->address = *address;
	}
	(*slot)->sessions++;
	if (!logged_in)
		(*slot)->not_logged_in++;
}

enum message_verdict
limits_admit(struct limits *limits, const struct message_address *address,
    const struct config *config)
{
	const struct address_count *entry;

	if (config->max_clients != 0 && limits->total >= config->max_clients)
		return MESSAGE_ADMIT_TOO_MANY_USERS;
	entry = *address_slot(limits, address);
	if (entry != NULL && config->max_clients_per_ip != 0 &&
	    entry->sessions >= config->max_clients_per_ip)
		return MESSAGE_ADMIT_TOO_MANY_FROM_ADDRESS;
	if (entry != NULL && config->max_prelogin_per_ip != 0 &&
	    entry->not_logged_in >= config->max_prelogin_per_ip)
		return MESSAGE_ADMIT_TOO_MANY_NOT_LOGGED_IN;
	limits_add(limits, address, 0, NULL);
	return MESSAGE_ADMIT_OK;
}

enum message_login_verdict
limits_login(struct limits *limits, const struct message_address *address, const char *user,
    const struct config *config)
{
	struct address_count *entry = *address_slot(limits, address);

	if (config->max_sessions_per_user != 0 && counts_per_user(user) &&
	    limits_sessions_of(limits, user) >= config->max_sessions_per_user)
		return MESSAGE_LOGIN_TOO_MANY_FOR_USER;
	if (entry != NULL && entry->not_logged_in > 0)
		entry->not_logged_in--;
	count_user(limits, user);
	return MESSAGE_LOGIN_OK;
}

int
limits_logout(struct limits *limits, const struct message_address *address, const char *user)
{
	struct address_count *entry = *address_slot(limits, address);

	if (entry == NULL || entry->sessions == entry->not_logged_in ||
	    (counts_per_user(user) && limits_sessions_of(limits, user) == 0))
		return -ENOENT;
	uncount_user(limits, user);
	entry->not_logged_in++;
	return 0;
}

int
limits_remove(struct limits *limits, const struct message_address *address, int logged_in,
    const char *user)
{
	struct address_count **slot = address_slot(limits, address);
	struct address_count *entry = *slot;

	if (entry == NULL || (!logged_in && entry->not_logged_in == 0) ||
	    (logged_in && entry->sessions == entry->not_logged_in) ||
	    (logged_in && counts_per_user(user) && limits_sessions_of(limits, user) == 0))
		return -ENOENT;
	if (limits->total > 0)
		limits->total--;
	if (logged_in)
		uncount_user(limits, user);
	else
		entry->not_logged_in--;
	if (--entry->sessions == 0) {
		*slot = entry->next;
		free(entry);
	}
	return 0;
}

void
limits_subtract(struct limits *limits, const struct limits *part)
{
	const struct address_count *address;
	const struct user_count *user;
	unsigned i, n;

	for (i = 0; i < LIMITS_BUCKETS; i++) {
		for (address = part->addresses[i]; address != NULL; address = address->next) {
			struct address_count **slot = address_slot(limits, &address->address);
			struct address_count *entry = *slot;

			limits->total -= address->sessions < limits->total ?
			    address->sessions : limits->total;
			if (entry == NULL)
				continue;
			entry->not_logged_in -= address->not_logged_in < entry->not_logged_in ?
			    address->not_logged_in : entry->not_logged_in;
			if (entry->sessions <= address->sessions) {
				*slot = entry->next;
				free(entry);
			} else
				entry->sessions -= address->sessions;
		}
		for (user = part->users[i]; user != NULL; user = user->next)
			for (n = 0; n < user->sessions; n++)
				uncount_user(limits, user->name);
	}
}

void
limits_for_each_user(const struct limits *limits,
    void (*each)(void *arg, const char *user, unsigned sessions), void *arg)
{
	const struct user_count *entry;
	unsigned i;

	for (i = 0; i < LIMITS_BUCKETS; i++)
		for (entry = limits->users[i]; entry != NULL; entry = entry->next)
			if (entry->sessions > 0)
				each(arg, entry->name, entry->sessions);
}

void
limits_for_each_address(const struct limits *limits,
    void (*each)(void *arg, const struct message_address *address, unsigned sessions),
    void *arg)
{
	const struct address_count *entry;
	unsigned i;

	for (i = 0; i < LIMITS_BUCKETS; i++)
		for (entry = limits->addresses[i]; entry != NULL; entry = entry->next)
			if (entry->sessions > 0)
				each(arg, &entry->address, entry->sessions);
}
