/* SPDX-License-Identifier: ISC */
/*
 * Privilege separation of the broker. The broker starts as root, forks a
 * PAM helper that keeps root and only answers password checks
 * (authsep.c), opens what needs root (its listening ports, its state
 * directory), then drops to "user" for good (privsep.c). See
 * docs/broker.md, "Privileges".
 */
#ifndef PAPRIKA_PRIVSEP_H
#define PAPRIKA_PRIVSEP_H

#include <sys/types.h>

#include <event2/event.h>

#include "auth.h"

struct broker_config;

/* authsep.c */
/*
 * Forks the PAM helper with one channel per auth thread. Call before any
 * thread starts and before anything secret is opened. 0, or -1 with err.
 */
int	authsep_start(const struct broker_config *c, char *err,
	    size_t errlen);
/* Watches for the helper's death on base: if it dies, the loop stops and
 * authsep_failed() says so. */
void	authsep_watch(struct event_base *base);
int	authsep_failed(void);
/* Closes the channels: the helper exits when its last check ends. */
void	authsep_stop(void);
pid_t	authsep_pid(void);
/* auth_config.pam for the broker: one PAM check through the helper, from
 * any thread; at most one check per channel at a time. */
int	authsep_pam(const struct auth_config *cfg, const char *user,
	    const char *password, struct auth_user *out, char *err,
	    size_t errlen);

/* privsep.c */
/*
 * Makes the directory of the state file (0700) if missing and gives it
 * to user when running as root; one that holds files not the broker's is
 * refused (fatal). Call as root, before privsep_drop.
 */
void	privsep_state_dir(const char *state, const char *user);
/*
 * Becomes user (its uid, gid and the groups /etc/group gives it, such as
 * libvirt's socket group) for good: privdrop_become. Without user,
 * refuses to run as root. Fatal on any failure.
 */
void	privsep_drop(const char *user);
/* After privsep_drop: fatal unless the state directory is writable. */
void	privsep_check_state(const char *state);

#endif
