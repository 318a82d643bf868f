/*
 * unit_tests: runs every Check suite and prints Check's summary.
 * CK_RUN_SUITE=name runs one suite; CK_FORK=no helps under gdb.
 */
#include <stdlib.h>

#include "log/log.h"
#include "suites.h"

int
main(void)
{
	Suite *(*const suites[])(void) = {
		path_suite,
		line_reader_suite,
		reply_suite,
		command_table_suite,
		config_suite,
		config_shells_suite,
		shell_suite,
		registry_suite,
		portal_suite,
		checker_system_suite,
		checker_postgresql_suite,
		session_suite,
		session_limits_suite,
		listing_suite,
		ascii_suite,
		data_address_suite,
		xferlog_suite,
		transfer_suite,
		rate_suite,
		splice_suite,
		worker_pool_suite,
		keyed_hash_suite,
		log_suite,
		listing_stream_suite,
		tls_suite,
		server_suite,
		daemon_suite,
		message_suite,
		limits_suite,
		login_failures_suite,
		link_suite,
		quota_usage_suite,
		quota_walk_suite,
		list_line_suite,
		ftpload_reply_parser_suite,
		proxy_header_suite,
		proxy_trusted_suite,
		shared_state_uri_suite,
	};
	SRunner *runner = srunner_create(NULL);
	size_t i;
	int failed;

	/* The parts log what they refuse; keep the run readable. */
	log_open("stderr", LOG_LEVEL_ERROR);
	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(runner, suites[i]());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
