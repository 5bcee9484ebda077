/* SPDX-License-Identifier: ISC */
/*
 * The PAM helper: the only part of the broker that keeps root, because
 * PAM modules such as pam_unix read /etc/shadow. It is forked before the
 * broker drops its privileges and does one thing: answer "is this the
 * password of this user, and which groups has the account" (auth_pam_check
 * with the policy it was forked with: pam_service, pam_min_uid,
 * pam_allow_root). Each auth thread of the broker owns one SOCK_SEQPACKET
 * channel at a time; the helper serves each channel from its own thread,
 * so at most auth_threads checks are in flight. Messages: authmsg.h.
 *
 * The helper exits when the broker closes the channels or dies (it also
 * gets SIGKILL then); the broker, no longer root, cannot start another,
 * so when the helper dies the broker stops and the service manager starts
 * both again.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authmsg.h"
#include "broker.h"
#include "log.h"
#include "privsep.h"

#define AUTHSEP_CHANNELS_MAX	32

struct authsep_chan {
	int	fd;		/* the broker's end; -1 once broken */
	int	busy;		/* an auth thread is using it */
};

/* The broker's side: the channels, under authsep_lock. */
static struct authsep_chan	 authsep_chans[AUTHSEP_CHANNELS_MAX];
static size_t			 authsep_nchans;
static pthread_mutex_t		 authsep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		 authsep_cond = PTHREAD_COND_INITIALIZER;
/* Written before any thread starts, on the loop afterwards. */
static pid_t			 authsep_child = -1;
static struct event		*authsep_sigchld;
static int			 authsep_dead;

/* The helper's side: its policy, fixed when it was forked. */
static struct auth_config	 authsep_policy;

/* Serves one channel until the broker closes it; then the helper exits. */
static void *
authsep_serve(void *arg)
{
	int			 fd = (int)(intptr_t)arg, len;
	uint8_t			 in[AUTHMSG_REQ_MAX + 1];
	uint8_t			 out[AUTHMSG_REPLY_MAX];
	struct authmsg_req	 req;
	struct authmsg_reply	 rep;
	struct auth_config	 cfg;
	ssize_t			 n;

	for (;;) {
		if ((n = recv(fd, in, sizeof(in), 0)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		memset(&rep, 0, sizeof(rep));
		if (authmsg_req_decode(in, (size_t)n, &req) == -1) {
			rep.status = AUTH_ERROR;
			strlcpy(rep.err, "malformed request to the PAM helper",
			    sizeof(rep.err));
		} else {
			cfg = authsep_policy;
			cfg.rhost = req.rhost[0] != '\0' ? req.rhost : NULL;
			rep.status = auth_pam_check(&cfg, req.user,
			    req.password, &rep.user, rep.err, sizeof(rep.err));
		}
		explicit_bzero(in, sizeof(in));
		explicit_bzero(&req, sizeof(req));
		if ((len = authmsg_reply_encode(&rep, out, sizeof(out))) ==
		    -1) {
			memset(&rep, 0, sizeof(rep));
			rep.status = AUTH_ERROR;
			strlcpy(rep.err, "the PAM helper's answer does not fit",
			    sizeof(rep.err));
			len = authmsg_reply_encode(&rep, out, sizeof(out));
		}
		if (send(fd, out, (size_t)len, MSG_NOSIGNAL) != len)
			_exit(0);
	}
}

/* The helper's main: one thread per channel, no way back to the broker's
 * code. fds[0..n-1] are its ends of the channels. */
static void __attribute__((noreturn))
authsep_main(pid_t parent, int *fds, size_t n)
{
	pthread_t	t;
	size_t		i;

	/* Dies with the broker; the check closes the race with its exit. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(0);
	prctl(PR_SET_NAME, "paprika-auth");
	/* Stopping is the broker's business: the helper follows it. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* It never signs tickets. */
	keyring_clear(&broker->keys);
	for (i = 1; i < n; i++) {
		if (pthread_create(&t, NULL, authsep_serve,
		    (void *)(intptr_t)fds[i]) != 0) {
			log_warnx("PAM helper: cannot start a thread");
			_exit(1);
		}
	}
	authsep_serve((void *)(intptr_t)fds[0]);
	_exit(0);
}

int
authsep_start(const struct broker_config *c, char *err, size_t errlen)
{
	int	sv[2], child[AUTHSEP_CHANNELS_MAX];
	pid_t	parent = getpid(), pid;
	size_t	i, n = c->auth_threads;

	if (n == 0 || n > AUTHSEP_CHANNELS_MAX) {
		snprintf(err, errlen, "auth_threads %zu: 1 to %d", n,
		    AUTHSEP_CHANNELS_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
		    sv) == -1) {
			snprintf(err, errlen, "PAM helper: socketpair: %s",
			    strerror(errno));
			goto fail;
		}
		authsep_chans[i].fd = sv[0];
		authsep_chans[i].busy = 0;
		child[i] = sv[1];
		authsep_nchans = i + 1;
	}
	authsep_policy.pam_service = c->pam_service;
	authsep_policy.pam_min_uid = c->pam_min_uid;
	authsep_policy.pam_allow_root = c->pam_allow_root;

	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "PAM helper: fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		for (i = 0; i < n; i++)
			close(authsep_chans[i].fd);
		authsep_main(parent, child, n);
	}
	for (i = 0; i < n; i++)
		close(child[i]);
	authsep_child = pid;
	log_debug("PAM helper %ld: %zu channels", (long)pid, n);
	return 0;
 fail:
	for (i = 0; i < authsep_nchans; i++) {
		close(authsep_chans[i].fd);
		close(child[i]);
	}
	authsep_nchans = 0;
	return -1;
}

pid_t
authsep_pid(void)
{
	return authsep_child;
}

int
authsep_failed(void)
{
	return authsep_dead;
}

static void
authsep_reap(evutil_socket_t sig, short ev, void *arg)
{
	struct event_base	*base = arg;
	int			 status;

	if (authsep_child == -1 ||
	    waitpid(authsep_child, &status, WNOHANG) != authsep_child)
		return;
	if (WIFSIGNALED(status))
		log_warnx("the PAM helper (pid %ld) was killed by signal %d: "
		    "stopping (the broker cannot restart it without root; "
		    "the service manager restarts both)",
		    (long)authsep_child, WTERMSIG(status));
	else
		log_warnx("the PAM helper (pid %ld) exited with status %d: "
		    "stopping (the broker cannot restart it without root; "
		    "the service manager restarts both)",
		    (long)authsep_child, WEXITSTATUS(status));
	authsep_child = -1;
	authsep_dead = 1;
	event_base_loopexit(base, NULL);
}

void
authsep_watch(struct event_base *base)
{
	if (authsep_child == -1)
		return;
	if ((authsep_sigchld = evsignal_new(base, SIGCHLD, authsep_reap,
	    base)) == NULL || evsignal_add(authsep_sigchld, NULL) == -1)
		fatalx("cannot watch the PAM helper");
	/* It may have died before the watch began. */
	authsep_reap(SIGCHLD, 0, base);
}

void
authsep_stop(void)
{
	size_t	i;

	if (authsep_sigchld != NULL) {
		event_free(authsep_sigchld);
		authsep_sigchld = NULL;
	}
	pthread_mutex_lock(&authsep_lock);
	for (i = 0; i < authsep_nchans; i++) {
		if (authsep_chans[i].fd != -1)
			close(authsep_chans[i].fd);
		authsep_chans[i].fd = -1;
	}
	pthread_cond_broadcast(&authsep_cond);
	pthread_mutex_unlock(&authsep_lock);
}

/* A free working channel, marked busy; -1 when every one is broken. */
static int
authsep_take(void)
{
	size_t	i, alive;
	int	ret = -1;

	pthread_mutex_lock(&authsep_lock);
	for (;;) {
		alive = 0;
		for (i = 0; i < authsep_nchans; i++) {
			if (authsep_chans[i].fd == -1)
				continue;
			alive++;
			if (!authsep_chans[i].busy)
				break;
		}
		if (i < authsep_nchans) {
			authsep_chans[i].busy = 1;
			ret = (int)i;
			break;
		}
		if (alive == 0)
			break;
		pthread_cond_wait(&authsep_cond, &authsep_lock);
	}
	pthread_mutex_unlock(&authsep_lock);
	return ret;
}

/* Gives channel i back; broken, it is closed for good. */
static void
authsep_give(int i, int broken)
{
	pthread_mutex_lock(&authsep_lock);
	if (broken && authsep_chans[i].fd != -1) {
		close(authsep_chans[i].fd);
		authsep_chans[i].fd = -1;
	}
	authsep_chans[i].busy = 0;
	pthread_cond_signal(&authsep_cond);
	pthread_mutex_unlock(&authsep_lock);
}

/* Whether the helper's answer names only what the broker accepts. */
static int
authsep_reply_ok(const struct authmsg_reply *rep)
{
	size_t	i;

	if (rep->status != AUTH_OK)
		return 1;
	if (!auth_valid_name(rep->user.name))
		return 0;
	for (i = 0; i < rep->user.ngroups; i++)
		if (!auth_valid_name(rep->user.groups[i]))
			return 0;
	return 1;
}

int
authsep_pam(const struct auth_config *cfg, const char *user,
    const char *password, struct auth_user *out, char *err, size_t errlen)
{
	struct authmsg_req	 req;
	struct authmsg_reply	 rep;
	uint8_t			 buf[AUTHMSG_REPLY_MAX + 1];
	ssize_t			 n;
	int			 ch, len = -1, broken = 1, ret = AUTH_ERROR;

	if (errlen > 0)
		err[0] = '\0';
	memset(&req, 0, sizeof(req));
	memset(&rep, 0, sizeof(rep));
	if (strlcpy(req.user, user, sizeof(req.user)) >= sizeof(req.user) ||
	    strlcpy(req.password, password, sizeof(req.password)) >=
	    sizeof(req.password))
		ret = AUTH_DENIED;
	/* An address too long for PAM_RHOST is left out, not cut short. */
	if (cfg->rhost != NULL && strlcpy(req.rhost, cfg->rhost,
	    sizeof(req.rhost)) >= sizeof(req.rhost))
		req.rhost[0] = '\0';
	if (ret == AUTH_DENIED || (len = authmsg_req_encode(&req, buf,
	    sizeof(buf))) == -1) {
		ret = AUTH_DENIED;
		goto out;
	}
	if ((ch = authsep_take()) == -1) {
		snprintf(err, errlen, "the PAM helper is gone");
		goto out;
	}
	if (send(authsep_chans[ch].fd, buf, (size_t)len, MSG_NOSIGNAL) !=
	    len) {
		snprintf(err, errlen, "the PAM helper is gone");
		goto give;
	}
	explicit_bzero(buf, sizeof(buf));
	while ((n = recv(authsep_chans[ch].fd, buf, sizeof(buf), 0)) == -1 &&
	    errno == EINTR)
		;
	if (n <= 0) {
		snprintf(err, errlen, "the PAM helper is gone");
		goto give;
	}
	if (authmsg_reply_decode(buf, (size_t)n, &rep) == -1 ||
	    !authsep_reply_ok(&rep)) {
		snprintf(err, errlen, "the PAM helper answered nonsense");
		goto give;
	}
	broken = 0;
	ret = rep.status;
	strlcpy(err, rep.err, errlen);
	if (ret == AUTH_OK) {
		*out = rep.user;
		strlcpy(out->source, "pam", sizeof(out->source));
	}
 give:
	authsep_give(ch, broken);
 out:
	explicit_bzero(&req, sizeof(req));
	explicit_bzero(buf, sizeof(buf));
	return ret;
}
