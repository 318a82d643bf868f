/*
 * test_command_table: the validation made before any handler runs: states
 * (Twisted's rules), argument rules, unimplemented commands.
 */
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

	ck_assert_ptr_nonnull(command);
	ck_assert_msg(command_check(command, check_cases[_i].state, check_cases[_i].argument) ==
	    check_cases[_i].expected, "case %d: %s", _i, check_cases[_i].command);
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
	tcase_add_test(tcase, test_find);
	tcase_add_test(tcase, test_help_lists_every_command);
	suite_add_tcase(suite, tcase);
	return suite;
}
