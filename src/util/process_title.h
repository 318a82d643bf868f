/*
 * util/process_title: what ps shows for each process ("ftpd: monitor",
 * "ftpd: worker 1", "ftpd: user alice 127.0.0.1").
 */
#ifndef FTPD_PROCESS_TITLE_H
#define FTPD_PROCESS_TITLE_H

/*
 * Called once, first thing in main: argv's strings and the environment
 * move to the heap (argv[] is updated), and the title is later written over
 * the memory they used.
 */
void process_title_init(int argc, char **argv);

/* Shows "ftpd: ROLE" in ps (command line and process name). Before init: the name only. */
void process_title_set(const char *role);

#endif
