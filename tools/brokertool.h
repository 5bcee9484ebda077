/* SPDX-License-Identifier: ISC */
/*
 * paprika-brokertool: the commands that need the broker's own libraries
 * (its configuration, its state in SQLite, libvirt), run for paprikactl
 * (gpus, audit) and paprika-users (totp). Keeping them in a program of
 * their own keeps paprikactl, which belongs on gateway hosts, and
 * paprika-users free of libvirt, SQLite and PAM.
 */
#ifndef PAPRIKA_BROKERTOOL_H
#define PAPRIKA_BROKERTOOL_H

/* brokerexec.c: runs paprika-brokertool with argv (argv[0] is the
 * caller's name, for its messages); exits 127 when it cannot. */
void	brokertool_exec(const char *const argv[])
	    __attribute__((noreturn));

/* gpus.c: gpus [--config FILE | --connect URI] [--json] */
int	cmd_gpus(int argc, char *argv[]);
/* audit.c: audit export [options] */
int	cmd_audit(int argc, char *argv[]);
/* totp.c: totp [--config FILE] enroll|remove|status NAME */
int	cmd_totp(int argc, char *argv[]);

#endif
