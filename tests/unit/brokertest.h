/* SPDX-License-Identifier: ISC */
/*
 * A broker in a test program: the configuration loaded from text through
 * conf_load, a real SQLite state in a temporary directory, a real event
 * loop, and the hosts of fakevirt.c. Include after <cmocka.h>.
 */
#ifndef PAPRIKA_BROKERTEST_H
#define PAPRIKA_BROKERTEST_H

#include "broker.h"

#define BT_HOST		"hv1"

/*
 * Starts a broker on conf (its [broker] section gets state = a file in
 * the test's directory) and runs the loop until its hosts are up and
 * quiet. bt_stop(1) stops it keeping the directory and the hosts for
 * bt_reopen; bt_restart is both.
 */
void		 bt_start(const char *conf);
void		 bt_stop(int keep);
void		 bt_reopen(void);
void		 bt_restart(void);
/* Runs the loop until cond(arg) holds; fails the test after ms. */
void		 bt_wait(int (*cond)(void *), void *arg, unsigned ms,
		    const char *what);
/* Runs the loop until no host has a job left. */
void		 bt_settle(void);
/* Runs the loop for about ms. */
void		 bt_run(unsigned ms);
/* A login of user with roles; the bearer token (64 hex) into token and
 * its hash, as sessions keep it, into hash (either may be NULL). */
void		 bt_login(const char *user, unsigned roles, char *token,
		    char *hash);
/* The login of user as api.c would build it. */
struct login	 bt_user(const char *user, unsigned roles);
/* How many audit records have action and result (NULL: any). */
int		 bt_audit_count(const char *action, const char *result);
/* Waits for the session's state; fails the test with its step if not. */
void		 bt_wait_state(uint64_t id, enum session_state st);

#endif
