/*
 * quota/usage: what a home holds (the bytes of its files, its entries), how
 * much an upload may still write there, and how uploads and removals change it.
 */
#ifndef FTPD_QUOTA_USAGE_H
#define FTPD_QUOTA_USAGE_H

#include <stdint.h>

#include "ftpd/shell.h"

/* No limit on what an upload may write. */
#define QUOTA_UNLIMITED UINT64_MAX

struct quota_usage {
	int known;			/* counted; until then nothing is tracked */
	uint64_t bytes;			/* sizes of its regular files */
	uint64_t files;			/* entries of every kind below the home (not the home) */
};

/* What an upload writes to, as it was before the upload. */
struct quota_target {
	int exists;			/* a regular file is there */
	uint64_t size;
};

/* Whether one more entry (file or directory) fits under quota_files (0: no limit). */
int quota_admits_entry(const struct quota_usage *usage, uint64_t quota_files);

/*
 * The most bytes an upload in mode (at offset, for FTPD_WRITE_AT_OFFSET) may
 * write to target and stay within quota_bytes (0: no limit, QUOTA_UNLIMITED).
 * What the file held before counts as freed when the upload replaces or
 * overwrites it.
 */
uint64_t quota_upload_allowance(const struct quota_usage *usage, uint64_t quota_bytes,
    const struct quota_target *target, enum ftpd_write_mode mode, uint64_t offset);

/* An upload in mode wrote stored bytes to target and the file kept them. */
void quota_count_upload(struct quota_usage *usage, const struct quota_target *target,
    enum ftpd_write_mode mode, uint64_t offset, uint64_t stored);

/* An entry went (DELE, RMD): size counts only for a regular file. */
void quota_count_removal(struct quota_usage *usage, int regular_file, uint64_t size);

/* An entry came that holds no bytes (MKD). */
void quota_count_directory(struct quota_usage *usage);

#endif
