/*
 * portal/checkers/crypt_check: one crypt(3) comparison, the same for every
 * checker that holds hashes (passwd_file, passwd_db).
 */
#ifndef FTPD_CRYPT_CHECK_H
#define FTPD_CRYPT_CHECK_H

/* 1 when hash locks its user out (it starts with ! or *, as in shadow files). */
int crypt_hash_is_locked(const char *hash);

/*
 * Runs crypt(3) once on password with setting, then compares the result with
 * hash in constant time. hash NULL: the run is a stand-in (an unknown or
 * locked user must cost as much as a known one) and never matches. 1 on a
 * match, 0 on none, -ENOMEM. Its 32 KiB of state is zeroed before it is freed.
 */
int crypt_check(const char *password, const char *setting, const char *hash);

#endif
