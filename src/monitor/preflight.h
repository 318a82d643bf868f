/*
 * monitor/preflight: ftpd -t. Checks what a start would find wrong (the
 * certificate, the user to run workers as, what that user may read) and
 * says which process will run as whom.
 */
#ifndef FTPD_PREFLIGHT_H
#define FTPD_PREFLIGHT_H

#include <stdio.h>

#include "config/config.h"

/*
 * Prints the processes and the configuration to out, or the problems to
 * stderr. Returns the exit status: 0 when ftpd would start, 1 if not.
 */
int preflight(const struct config *config, FILE *out);

#endif
