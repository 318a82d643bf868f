/*
 * quota/usage: the arithmetic of quotas; it never goes below zero, since a
 * count made by one session can be overtaken by another's changes.
 */
#include "quota/usage.h"

static uint64_t
less(uint64_t value, uint64_t taken)
{
	return value > taken ? value - taken : 0;
}

int
quota_admits_entry(const struct quota_usage *usage, uint64_t quota_files)
{
	return quota_files == 0 || usage->files < quota_files;
}

/* The file's length after the upload wrote stored bytes. */
static uint64_t
size_after(const struct quota_target *target, enum ftpd_write_mode mode, uint64_t offset,
    uint64_t stored)
{
	uint64_t before = target->exists ? target->size : 0;

	switch (mode) {
	case FTPD_WRITE_APPEND:
		return before + stored;
	case FTPD_WRITE_AT_OFFSET:
		return offset + stored > before ? offset + stored : before;
	case FTPD_WRITE_REPLACE:
	case FTPD_WRITE_UNIQUE:
	default:
		return stored;
	}
}

uint64_t
quota_upload_allowance(const struct quota_usage *usage, uint64_t quota_bytes,
    const struct quota_target *target, enum ftpd_write_mode mode, uint64_t offset)
{
	uint64_t before = target->exists ? target->size : 0;
	uint64_t others = less(usage->bytes, before);
	/* The longest the file may end up; the writing starts at start. */
	uint64_t largest = less(quota_bytes, others), start;

	if (quota_bytes == 0)
		return QUOTA_UNLIMITED;
	if (mode == FTPD_WRITE_APPEND)
		start = before;
	else if (mode == FTPD_WRITE_AT_OFFSET)
		start = offset;
	else
		start = 0;
	return less(largest, start);
}

void
quota_count_upload(struct quota_usage *usage, const struct quota_target *target,
    enum ftpd_write_mode mode, uint64_t offset, uint64_t stored)
{
	uint64_t before = target->exists ? target->size : 0;

	usage->bytes = less(usage->bytes, before) + size_after(target, mode, offset, stored);
	if (!target->exists)
		usage->files++;
}

void
quota_count_removal(struct quota_usage *usage, int regular_file, uint64_t size)
{
	if (regular_file)
		usage->bytes = less(usage->bytes, size);
	usage->files = less(usage->files, 1);
}

void
quota_count_directory(struct quota_usage *usage)
{
	usage->files++;
}
