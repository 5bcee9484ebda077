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
/* cmocka's teardown of a test that called bt_start: bt_stop(0). */
int		 bt_teardown(void **state);
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
/* The configured pool name; fails the test when there is none. */
struct conf_pool *bt_pool(const char *name);
/* user (just logged in) connects to pool: the session, or NULL with status
 * and err; bt_session fails the test on NULL, bt_ready also waits for the
 * session to be ready and returns its id. */
struct session	*bt_connect(const char *user, const char *pool, int *status,
		    char *err, size_t errlen);
struct session	*bt_session(const char *user, const char *pool);
uint64_t	 bt_ready(const char *user, const char *pool);
/* As bt_ready for a start that must fail; the failed session. */
struct session	*bt_failed(const char *user, const char *pool);
/* How many times needle is in hay (a host's log). */
int		 bt_count(const char *hay, const char *needle);

#endif
