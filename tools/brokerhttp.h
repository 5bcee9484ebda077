/* SPDX-License-Identifier: ISC */
/*
 * A blocking HTTPS client for the broker's JSON API, for command-line
 * tools: one request per connection, the broker's certificate checked
 * against a CA file (or the system's CAs) and the URL's host name or
 * address. Links only OpenSSL and jansson.
 */
#ifndef PAPRIKA_BROKERHTTP_H
#define PAPRIKA_BROKERHTTP_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/ssl.h>

#define BROKERHTTP_REPLY_MAX	(16 * 1024 * 1024)
#define BROKERHTTP_TIMEOUT	30	/* seconds: connect, and each read */

struct brokerhttp {
	char		 host[256];	/* as in the URL, without [] */
	char		 port[8];
	SSL_CTX		*ctx;
	const char	*token;		/* the caller's, or NULL: not copied */
};

struct brokerhttp_reply {
	int		 status;
	char		*body;		/* NUL-terminated; owned by the reply */
	size_t		 len;
	json_t		*json;		/* the body when it is JSON, or NULL */
};

/* Parses url (https://host[:port], nothing after but an optional "/") and
 * loads cafile, or the system's CAs when NULL. 0, or -1 with a message. */
int	brokerhttp_init(struct brokerhttp *, const char *url,
	    const char *cafile, char *err, size_t errlen);
void	brokerhttp_free(struct brokerhttp *);
/*
 * Sends method path with body (a JSON object, or NULL) and the token as a
 * bearer, and reads the whole reply. 0 with r filled (any status), or -1
 * with a message in err when no reply came: the broker unreachable, its
 * certificate refused, the reply cut short or too large.
 */
int	brokerhttp_request(struct brokerhttp *, const char *method,
	    const char *path, json_t *body, struct brokerhttp_reply *r,
	    char *err, size_t errlen);
void	brokerhttp_reply_clear(struct brokerhttp_reply *);

#endif
