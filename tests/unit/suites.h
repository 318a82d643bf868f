/*
 * suites: the Check suites of the unit-test runner, one per part.
 * Add a part's suite here and in unit_tests.c.
 */
#ifndef FTPD_TEST_SUITES_H
#define FTPD_TEST_SUITES_H

#include <check.h>

Suite *ascii_suite(void);
Suite *checker_postgresql_suite(void);
Suite *checker_system_suite(void);
Suite *command_table_suite(void);
Suite *data_address_suite(void);
Suite *config_suite(void);
Suite *config_shells_suite(void);
Suite *daemon_suite(void);
Suite *ftpload_reply_parser_suite(void);
Suite *keyed_hash_suite(void);
Suite *limits_suite(void);
Suite *login_failures_suite(void);
Suite *line_reader_suite(void);
Suite *link_suite(void);
Suite *list_line_suite(void);
Suite *listing_suite(void);
Suite *listing_stream_suite(void);
Suite *log_suite(void);
Suite *message_suite(void);
Suite *path_suite(void);
Suite *proxy_header_suite(void);
Suite *proxy_trusted_suite(void);
Suite *shared_state_uri_suite(void);
Suite *portal_suite(void);
Suite *quota_usage_suite(void);
Suite *quota_walk_suite(void);
Suite *rate_suite(void);
Suite *splice_suite(void);
Suite *registry_suite(void);
Suite *reply_suite(void);
Suite *server_suite(void);
Suite *session_limits_suite(void);
Suite *session_suite(void);
Suite *shell_suite(void);
Suite *tls_suite(void);
Suite *transfer_suite(void);
Suite *worker_pool_suite(void);
Suite *xferlog_suite(void);

#endif
