/*
 * test_command_table: the validation made before any handler runs: states
 * (Twisted's rules), argument rules, unimplemented commands, the policy flags
 * (TLS, read-only shares, data connections), and the SITE and OPTS tables.
 */
#include <errno.h>
#include <string.h>

#include <check.h>

#include "session/command_table.h"
#include "suites.h"

static const struct {
	const char *command;
	unsigned state;
	const char *argument;
	enum reply_id expected;		/* REPLY_COUNT: allowed */
} check_cases[] = {
	/* public commands run in every state */
	{ "FEAT", SESSION_UNAUTH, NULL, REPLY_COUNT },
	{ "QUIT", SESSION_INAUTH, NULL, REPLY_COUNT },
	{ "SYST", SESSION_RENAMING, NULL, REPLY_COUNT },
	{ "noop", SESSION_UNAUTH, NULL, REPLY_COUNT },
	{ "HELP", SESSION_INAUTH, "RETR", REPLY_COUNT },
	{ "OPTS", SESSION_UNAUTH, "UTF8 ON", REPLY_COUNT },
	/* UNAUTH: USER only; PASS is out of sequence; the rest needs a login */
	{ "USER", SESSION_UNAUTH, "anonymous", REPLY_COUNT },
	{ "PASS", SESSION_UNAUTH, "x", REPLY_USER_FIRST },
	{ "PWD", SESSION_UNAUTH, NULL, REPLY_NOT_LOGGED_IN },
	{ "CWD", SESSION_UNAUTH, "/", REPLY_NOT_LOGGED_IN },
	{ "RNTO", SESSION_UNAUTH, "x", REPLY_NOT_LOGGED_IN },
	{ "RETR", SESSION_UNAUTH, "x", REPLY_NOT_LOGGED_IN },
	/* INAUTH: PASS only */
	{ "PASS", SESSION_INAUTH, "x", REPLY_COUNT },
	{ "PASS", SESSION_INAUTH, NULL, REPLY_COUNT },
	{ "USER", SESSION_INAUTH, "x", REPLY_PASS_REQUIRED },
	{ "PWD", SESSION_INAUTH, NULL, REPLY_PASS_REQUIRED },
	/* AUTHED */
	{ "PWD", SESSION_AUTHED, NULL, REPLY_COUNT },
	{ "USER", SESSION_AUTHED, "other", REPLY_COUNT },
	{ "PASS", SESSION_AUTHED, "x", REPLY_BAD_SEQUENCE },
	{ "RNTO", SESSION_AUTHED, "x", REPLY_RNFR_FIRST },
	/* RENAMING: RNTO only */
	{ "RNTO", SESSION_RENAMING, "x", REPLY_COUNT },
	{ "PWD", SESSION_RENAMING, NULL, REPLY_RNTO_REQUIRED },
	{ "DELE", SESSION_RENAMING, "x", REPLY_RNTO_REQUIRED },
	/* argument rules */
	{ "MKD", SESSION_AUTHED, NULL, REPLY_ARGUMENT_REQUIRED },
	{ "MKD", SESSION_AUTHED, "", REPLY_ARGUMENT_REQUIRED },
	{ "PWD", SESSION_AUTHED, "x", REPLY_NO_ARGUMENT_ALLOWED },
	{ "CDUP", SESSION_AUTHED, "", REPLY_COUNT },
	{ "USER", SESSION_UNAUTH, NULL, REPLY_ARGUMENT_REQUIRED },
	/* known but not implemented */
	{ "REIN", SESSION_AUTHED, NULL, REPLY_NOT_IMPLEMENTED },
	{ "ACCT", SESSION_AUTHED, "x", REPLY_NOT_IMPLEMENTED },
};

START_TEST(test_check)
{
	const struct command *command = command_find(check_cases[_i].command);
	struct command_context context = { .state = check_cases[_i].state,
	    .has_data_connection = 1 };

	ck_assert_ptr_nonnull(command);
	ck_assert_msg(command_check(command, &context, check_cases[_i].argument) ==
	    check_cases[_i].expected, "case %d: %s", _i, check_cases[_i].command);
}
END_TEST

/* A logged-in session with everything in place, but for what each case takes away. */
static const struct {
	const char *command;
	const char *argument;
	struct command_context context;
	enum reply_id expected;
} policy_cases[] = {
	/* tls = required: logins need AUTH TLS, transfers PROT P */
	{ "USER", "alice", { .state = SESSION_UNAUTH, .tls_demanded = 1 }, REPLY_TLS_REQUIRED_FOR_LOGIN },
	{ "USER", "alice", { .state = SESSION_UNAUTH, .tls_demanded = 1, .control_protected = 1 },
	  REPLY_COUNT },
	{ "USER", "alice", { .state = SESSION_UNAUTH }, REPLY_COUNT },
	{ "RETR", "f", { .state = SESSION_AUTHED, .tls_demanded = 1, .control_protected = 1,
	  .has_data_connection = 1 }, REPLY_PROTECTED_DATA_REQUIRED },
	{ "LIST", NULL, { .state = SESSION_AUTHED, .tls_demanded = 1, .control_protected = 1,
	  .data_protected = 1, .has_data_connection = 1 }, REPLY_COUNT },
	{ "PWD", NULL, { .state = SESSION_AUTHED, .tls_demanded = 1 }, REPLY_COUNT },
	/* transfers need PASV/EPSV/PORT/EPRT first */
	{ "RETR", "f", { .state = SESSION_AUTHED }, REPLY_NO_DATA_CONNECTION_PREPARED },
	{ "NLST", NULL, { .state = SESSION_AUTHED }, REPLY_NO_DATA_CONNECTION_PREPARED },
	{ "MLST", NULL, { .state = SESSION_AUTHED }, REPLY_COUNT },
	/* read-only shares: every change refused before the shell is asked, reads allowed */
	{ "STOR", "f", { .state = SESSION_AUTHED, .read_only = 1, .has_data_connection = 1 },
	  REPLY_READ_ONLY },
	{ "STOR", "f", { .state = SESSION_AUTHED, .read_only = 1 }, REPLY_READ_ONLY },
	{ "DELE", "f", { .state = SESSION_AUTHED, .read_only = 1 }, REPLY_READ_ONLY },
	{ "MKD", "d", { .state = SESSION_AUTHED, .read_only = 1 }, REPLY_READ_ONLY },
	{ "RNFR", "f", { .state = SESSION_AUTHED, .read_only = 1 }, REPLY_COUNT },
	{ "RNTO", "g", { .state = SESSION_RENAMING, .read_only = 1 }, REPLY_READ_ONLY },
	{ "MFMT", "20260101000000 f", { .state = SESSION_AUTHED, .read_only = 1 }, REPLY_READ_ONLY },
	{ "RETR", "f", { .state = SESSION_AUTHED, .read_only = 1, .has_data_connection = 1 },
	  REPLY_COUNT },
	{ "CWD", "d", { .state = SESSION_AUTHED, .read_only = 1 }, REPLY_COUNT },
	{ "STOR", "f", { .state = SESSION_AUTHED, .has_data_connection = 1 }, REPLY_COUNT },
};

START_TEST(test_policy)
{
	const struct command *command = command_find(policy_cases[_i].command);

	ck_assert_ptr_nonnull(command);
	ck_assert_msg(command_check(command, &policy_cases[_i].context, policy_cases[_i].argument) ==
	    policy_cases[_i].expected, "case %d: %s", _i, policy_cases[_i].command);
}
END_TEST

START_TEST(test_subcommand_tables)
{
	const struct command *site = command_find("SITE"), *opts = command_find("OPTS");
	struct command_context authed = { .state = SESSION_AUTHED, .read_only = 1 };
	const struct command *chmod, *help;

	ck_assert_ptr_nonnull(site->subcommands);
	ck_assert_ptr_nonnull(opts->subcommands);
	ck_assert(command_is_implemented(site));
	chmod = command_find_in(site->subcommands, "chmod");
	help = command_find_in(site->subcommands, "HELP");
	ck_assert_ptr_nonnull(chmod);
	ck_assert_ptr_nonnull(help);
	ck_assert_ptr_null(command_find_in(site->subcommands, "EXEC"));
	ck_assert_int_eq(site->subcommands->unknown, REPLY_UNKNOWN_SITE_COMMAND);
	ck_assert_int_eq(opts->subcommands->unknown, REPLY_OPTION_NOT_IMPLEMENTED);
	/* A subcommand's row carries its own policy: CHMOD writes, HELP does not. */
	ck_assert_int_eq(command_check(chmod, &authed, "644 f"), REPLY_READ_ONLY);
	ck_assert_int_eq(command_check(help, &authed, NULL), REPLY_COUNT);
	ck_assert_int_eq(command_check(command_find_in(opts->subcommands, "utf-8"),
	    &(struct command_context){ .state = SESSION_UNAUTH }, "ON"), REPLY_COUNT);
}
END_TEST

START_TEST(test_syntax_from_subcommands)
{
	char syntax[256];

	ck_assert_int_eq(command_syntax(command_find("SITE"), syntax, sizeof(syntax)), 0);
	ck_assert_str_eq(syntax,
	    "SITE CHMOD <octal mode> <path> | SITE HELP | SITE SYMLINK <target> <link>");
	ck_assert_int_eq(command_syntax(command_find("RETR"), syntax, sizeof(syntax)), 0);
	ck_assert_str_eq(syntax, "RETR <path>");
	ck_assert_int_eq(command_syntax(command_find("SITE"), syntax, 10), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_site_help_from_table)
{
	struct evbuffer *out = evbuffer_new();
	char text[512];
	size_t length;

	command_write_subcommand_help(out, command_find("SITE")->subcommands, REPLY_SITE_HELP);
	length = evbuffer_copyout(out, text, sizeof(text) - 1);
	text[length] = '\0';
	ck_assert_str_eq(text, "214-SITE commands:\r\n CHMOD <octal mode> <path>\r\n HELP\r\n"
	    " SYMLINK <target> <link>\r\n214 End of SITE help.\r\n");
	evbuffer_free(out);
}
END_TEST

START_TEST(test_find)
{
	ck_assert_ptr_nonnull(command_find("retr"));
	ck_assert_ptr_nonnull(command_find("XCUP"));
	ck_assert_ptr_null(command_find("BOGUS"));
	ck_assert_ptr_null(command_find(""));
	ck_assert(command_find("PWD")->handler == command_find("XPWD")->handler);
	ck_assert(command_find("PASS")->flags & COMMAND_HIDE_ARGUMENT);
}
END_TEST

START_TEST(test_help_lists_every_command)
{
	struct evbuffer *out = evbuffer_new();
	char text[4096];
	size_t length;

	command_write_help(out);
	length = evbuffer_get_length(out);
	ck_assert_uint_lt(length, sizeof(text));
	evbuffer_copyout(out, text, length);
	text[length] = '\0';
	ck_assert(strncmp(text, "214-", 4) == 0);
	ck_assert_ptr_nonnull(strstr(text, "MDTM "));
	ck_assert_ptr_nonnull(strstr(text, "REIN*"));
	ck_assert(strcmp(text + length - 14, "214 Help OK.\r\n") == 0);
	evbuffer_free(out);
}
END_TEST

Suite *
command_table_suite(void)
{
	Suite *suite = suite_create("command_table");
	TCase *tcase = tcase_create("validation");

	tcase_add_loop_test(tcase, test_check, 0, (int)(sizeof(check_cases) / sizeof(check_cases[0])));
	tcase_add_loop_test(tcase, test_policy, 0, (int)(sizeof(policy_cases) / sizeof(policy_cases[0])));
	tcase_add_test(tcase, test_subcommand_tables);
	tcase_add_test(tcase, test_syntax_from_subcommands);
	tcase_add_test(tcase, test_site_help_from_table);
	tcase_add_test(tcase, test_find);
	tcase_add_test(tcase, test_help_lists_every_command);
	suite_add_tcase(suite, tcase);
	return suite;
}
