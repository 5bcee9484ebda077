/* SPDX-License-Identifier: ISC */
/*
 * What forward.c (the standby's side) and forward-leader.c (the leader's)
 * share: the counters /metrics prints and two helpers both sides use.
 */
#ifndef PAPRIKA_FORWARDPRIV_H
#define PAPRIKA_FORWARDPRIV_H

#include <stddef.h>

struct http_req;

#define FORWARD_TARGET_MAX	2048	/* a request's path and query */

struct forward_counters {
	unsigned long long	accepted, refused;	/* as the leader */
	unsigned long long	checks;		/* passwords checked here */
	/* Paprika-Verified: sent as a standby, forwarded unchecked as a
	 * standby, accepted and refused as the leader. */
	unsigned long long	v_sent, v_unchecked, v_accepted, v_refused;
};
extern struct forward_counters	forward_counts;

/* The request's path and query as the client sent them: 0, or -1. */
int	forward_target(struct http_req *req, char *out, size_t outlen);
/* The SHA-256 of data in hex into hex (FORWARD_MAC_HEX + 1 bytes). */
void	forward_body_digest(const void *data, size_t len, char *hex,
	    size_t hexlen);

/*
 * What a standby knows of the leader (forward-reach.c). The leader at url
 * was reached, or not: why says what it did instead, to follow "the
 * leading broker URL" ("is unreachable: ..."). A probe ended: status is
 * the leader's answer with its body, or 0 when none came whole (failure
 * says why).
 */
struct evbuffer;
void	forward_reach_note(const char *url, int up, const char *why);
void	forward_reach_probed(const char *url, int status, const void *body,
	    size_t len, const char *failure);
void	forward_reach_metrics(struct evbuffer *b);
/* Forwards a health check from addr to the leader as a probe: its end
 * comes to forward_reach_probed. 0, or -1 when it could not start. */
int	forward_probe(const char *addr);

#endif
