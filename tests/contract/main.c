/*
 * contract-tests: runs the shell contract suite against one shell module.
 *
 *	contract-tests [-r ROOT] [-t TREE] [-l] [-w] [-o KEY=VALUE]... MODULE
 *
 * MODULE is a built-in shell ("fs", "anon") or a module's path. ROOT is the
 * config's root; TREE the local directory where the shell's tree can be set
 * up and seen (for fs, ROOT itself; for an SMB share, the directory smbd
 * serves): without it only the cases for any tree run. -l: the tree takes
 * symlinks. -w: the shell refuses every change by nature (as anon does), so
 * the cases that write check that it refuses instead. Prints Check's summary; exits 0 when every case passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "contract.h"
#include "log/log.h"
#include "shell/registry.h"

#define MAX_OPTIONS 32

static void
usage(void)
{
	fprintf(stderr, "usage: contract-tests [-r root] [-t tree] [-l] [-w] [-o key=value]... "
	    "module\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const char *options[MAX_OPTIONS];
	char error[512];
	SRunner *runner;
	int option, failed;

	while ((option = getopt(argc, argv, "r:t:lwo:")) != -1) {
		switch (option) {
		case 'r':
			contract_fixture.root = optarg;
			break;
		case 't':
			contract_fixture.tree = optarg;
			break;
		case 'l':
			contract_fixture.symlinks = 1;
			break;
		case 'w':
			contract_fixture.read_only_shell = 1;
			break;
		case 'o':
			if (contract_fixture.option_count == MAX_OPTIONS)
				usage();
			options[contract_fixture.option_count++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	contract_fixture.options = options;
	log_open("stderr", LOG_LEVEL_WARNING);
	contract_fixture.module = shell_registry_find(argv[optind], NULL, error, sizeof(error));
	if (contract_fixture.module == NULL) {
		fprintf(stderr, "contract-tests: %s\n", error);
		return 2;
	}
	printf("contract suite: shell %s (%s)%s\n", contract_fixture.module->name, argv[optind],
	    contract_fixture.tree == NULL ? ", any-tree cases only" : "");
	runner = srunner_create(contract_suite());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
