/*
 * session/commands: the handlers the command table points to, grouped by file in this folder:
 * login.c, info.c, files.c, data.c, transfer.c, security.c, site.c.
 */
#ifndef FTPD_COMMANDS_H
#define FTPD_COMMANDS_H

struct session;

/* login.c */
void command_user(struct session *session, const char *argument);
void command_pass(struct session *session, const char *argument);
void command_quit(struct session *session, const char *argument);

/* info.c */
void command_noop(struct session *session, const char *argument);
void command_syst(struct session *session, const char *argument);
void command_feat(struct session *session, const char *argument);
void command_help(struct session *session, const char *argument);
void command_opts_utf8(struct session *session, const char *argument);
void command_opts_mlst(struct session *session, const char *argument);
void command_stat(struct session *session, const char *argument);
void command_type(struct session *session, const char *argument);
void command_mode(struct session *session, const char *argument);
void command_stru(struct session *session, const char *argument);
void command_allo(struct session *session, const char *argument);

/* files.c */
void command_pwd(struct session *session, const char *argument);
void command_cwd(struct session *session, const char *argument);
void command_cdup(struct session *session, const char *argument);
void command_size(struct session *session, const char *argument);
void command_mdtm(struct session *session, const char *argument);
void command_mkd(struct session *session, const char *argument);
void command_rmd(struct session *session, const char *argument);
void command_dele(struct session *session, const char *argument);
void command_rnfr(struct session *session, const char *argument);
void command_rnto(struct session *session, const char *argument);

/* data.c */
void command_pasv(struct session *session, const char *argument);
void command_epsv(struct session *session, const char *argument);
void command_port(struct session *session, const char *argument);
void command_eprt(struct session *session, const char *argument);
void command_rest(struct session *session, const char *argument);
void command_abor(struct session *session, const char *argument);

/* transfer.c */
void command_retr(struct session *session, const char *argument);
void command_stor(struct session *session, const char *argument);
void command_appe(struct session *session, const char *argument);
void command_stou(struct session *session, const char *argument);
void command_list(struct session *session, const char *argument);
void command_nlst(struct session *session, const char *argument);
void command_mlsd(struct session *session, const char *argument);

/* files.c, continued */
void command_mlst(struct session *session, const char *argument);
void command_mfmt(struct session *session, const char *argument);

/* security.c */
void command_auth(struct session *session, const char *argument);
void command_pbsz(struct session *session, const char *argument);
void command_prot(struct session *session, const char *argument);
void command_ccc(struct session *session, const char *argument);

/* site.c */
void command_site_chmod(struct session *session, const char *argument);
void command_site_symlink(struct session *session, const char *argument);
void command_site_help(struct session *session, const char *argument);

#endif
