/*
 * util/descriptors: what a freshly forked process keeps of its parent's
 * open files.
 */
#ifndef FTPD_DESCRIPTORS_H
#define FTPD_DESCRIPTORS_H

/* Closes every descriptor but those in keep (any order; -1 entries ignored; sorted in place). */
void descriptors_close_except(int *keep, int count);

#endif
