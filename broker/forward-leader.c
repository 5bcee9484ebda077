/* SPDX-License-Identifier: ISC */
/*
 * The leader's side of forwarding: whether to trust the Paprika-Forwarded
 * and Paprika-Verified headers a standby adds (forward.h says what they
 * hold and how they are signed). A header that does not check out is
 * refused with 400 and a log line that never holds its MAC; nothing it
 * says is used.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "broker.h"
#include "encode.h"
#include "forwardpriv.h"
#include "http.h"
#include "log.h"

struct forward_counters	forward_counts;

int
forward_target(struct http_req *req, char *out, size_t outlen)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req->ev);
	const char		*path, *query;
	int			 n;

	if (uri == NULL || (path = evhttp_uri_get_path(uri)) == NULL ||
	    *path == '\0')
		return -1;
	query = evhttp_uri_get_query(uri);
	n = snprintf(out, outlen, "%s%s%s", path, query != NULL ? "?" : "",
	    query != NULL ? query : "");
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* Answers 400 for a broker's header that did not check out: the log says
 * why, in this broker's words, never with the MAC. */
static void
forward_refuse(struct http_req *req, const char *header, const char *code,
    const char *why)
{
	log_warnx("forward: %s: %s header refused: %s", req->peer_str, header,
	    why);
	http_reply_error(req, 400, code, "the %s header is refused: %s",
	    header, why);
}

int
forward_accept(struct http_req *req, const char *value)
{
	struct forward_header	 h;
	const struct ticket_key	*key;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	char			 target[FORWARD_TARGET_MAX], mac[FORWARD_MAC_HEX + 1];
	const char		*why = NULL;
	long long		 now = time(NULL);

	if (forward_header_parse(value, &h) == -1)
		why = "it is malformed";
	else if ((key = keyring_find(&broker->keys, h.key_id)) == NULL)
		why = "it names a ticket key this broker does not have";
	else if (forward_target(req, target, sizeof(target)) == -1 ||
	    forward_mac(key, h.addr, h.ts, http_method_str(req->method), target,
	    mac, sizeof(mac)) == -1 ||
	    CRYPTO_memcmp(mac, h.mac, FORWARD_MAC_HEX) != 0)
		why = "its MAC does not match (another deployment's broker, "
		    "or not a broker)";
	else if (h.ts > now + FORWARD_SKEW || h.ts < now - FORWARD_SKEW)
		why = "it is stale, more than 30 s from this broker's clock";
	explicit_bzero(mac, sizeof(mac));
	if (why != NULL) {
		forward_counts.refused++;
		forward_refuse(req, FORWARD_HEADER, "bad_forward", why);
		return -1;
	}
	forward_counts.accepted++;
	log_debug("forward: %s forwards for %s", req->peer_str, h.addr);
	memset(&req->peer, 0, sizeof(req->peer));
	if (h.af == AF_INET) {
		sin = (struct sockaddr_in *)&req->peer;
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, h.addr, &sin->sin_addr);
	} else {
		sin6 = (struct sockaddr_in6 *)&req->peer;
		sin6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, h.addr, &sin6->sin6_addr);
	}
	strlcpy(req->peer_str, h.addr, sizeof(req->peer_str));
	return 0;
}

void
forward_body_digest(const void *data, size_t len, char *hex, size_t hexlen)
{
	uint8_t		md[EVP_MAX_MD_SIZE];
	unsigned	mdlen = 0;

	if (EVP_Digest(len > 0 ? data : "", len, md, &mdlen, EVP_sha256(),
	    NULL) != 1)
		mdlen = 0;
	hex_encode(md, mdlen, hex, hexlen);
}

int
forward_verdict_accept(struct http_req *req, const char *fwd_value,
    const char *value, struct forward_verdict *vd)
{
	struct forward_header	 h;
	const struct ticket_key	*key;
	struct evbuffer		*in = evhttp_request_get_input_buffer(req->ev);
	size_t			 len = evbuffer_get_length(in);
	char			 mac[FORWARD_MAC_HEX + 1], body[FORWARD_MAC_HEX + 1];
	const char		*why = NULL;
	long long		 now = time(NULL);

	memset(body, 0, sizeof(body));
	if (forward_header_parse(fwd_value, &h) == -1 ||
	    forward_verdict_parse(value, vd) == -1)
		why = "it is malformed";
	else if ((key = keyring_find(&broker->keys, vd->key_id)) == NULL)
		why = "it names a ticket key this broker does not have";
	else if (forward_verdict_mac(key, vd, h.addr, h.ts, mac,
	    sizeof(mac)) == -1 ||
	    CRYPTO_memcmp(mac, vd->mac, FORWARD_MAC_HEX) != 0)
		why = "its MAC does not match this request (another request's "
		    "verdict, or not a broker's)";
	else if (vd->ts > now + FORWARD_SKEW || vd->ts < now - FORWARD_SKEW)
		why = "it is stale, more than 30 s from this broker's clock";
	else {
		/* The body stays for the handler to parse. */
		forward_body_digest(evbuffer_pullup(in, -1), len, body,
		    sizeof(body));
		if (CRYPTO_memcmp(body, vd->body, FORWARD_MAC_HEX) != 0)
			why = "it was given for another request body";
	}
	explicit_bzero(mac, sizeof(mac));
	if (why != NULL) {
		forward_counts.v_refused++;
		explicit_bzero(vd, sizeof(*vd));
		forward_refuse(req, VERIFIED_HEADER, "bad_verdict", why);
		return -1;
	}
	forward_counts.v_accepted++;
	return 0;
}

void
forward_note_check(void)
{
	forward_counts.checks++;
}

void
forward_note_unchecked(void)
{
	forward_counts.v_unchecked++;
}
