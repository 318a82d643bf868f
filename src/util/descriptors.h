/*
 * util/descriptors: what a freshly forked process keeps of its parent's
 * open files.
 */
#ifndef FTPD_DESCRIPTORS_H
#define FTPD_DESCRIPTORS_H

/* Closes every descriptor but those in keep (any order; -1 entries ignored; sorted in place). */
void descriptors_close_except(int *keep, int count);

/*
 * Raises the soft limit on open descriptors to the hard one: each session
 * holds two or three (control, data, a passive listener), so thousands of
 * sessions need more than the usual soft 1024. The new limit, or -1.
 */
long descriptors_raise_limit(void);

#endif
