/* SPDX-License-Identifier: ISC */
/* The Paprika-Forwarded header's parser and MAC (forward.h). */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "encode.h"
#include "forward.h"

/* HMAC-SHA256 of msg under key's secret derived over info, in hex. */
static int
forward_hmac(const struct ticket_key *key, const char *info, const char *msg,
    size_t len, char *hex, size_t hexlen)
{
	uint8_t		 k[EVP_MAX_MD_SIZE], md[EVP_MAX_MD_SIZE];
	unsigned	 klen = 0, mdlen = 0;
	int		 ret = -1;

	/* A key of its own, so that no ticket's MAC is ever a header's. */
	if (HMAC(EVP_sha256(), key->secret, sizeof(key->secret),
	    (const uint8_t *)info, strlen(info), k, &klen) == NULL)
		goto out;
	if (HMAC(EVP_sha256(), k, klen, (const uint8_t *)msg, len, md,
	    &mdlen) == NULL || hexlen < 2 * mdlen + 1)
		goto out;
	hex_encode(md, mdlen, hex, hexlen);
	ret = 0;
out:
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(md, sizeof(md));
	return ret;
}

int
forward_mac(const struct ticket_key *key, const char *addr, long long ts,
    const char *method, const char *target, char *hex, size_t hexlen)
{
	char	*msg = NULL;
	int	 n, ret;

	if ((n = asprintf(&msg, "%s\n%lld\n%s\n%s", addr, ts, method,
	    target)) == -1)
		return -1;
	ret = forward_hmac(key, FORWARD_MAC_INFO, msg, (size_t)n, hex, hexlen);
	free(msg);
	return ret;
}

int
forward_verdict_mac(const struct ticket_key *key,
    const struct forward_verdict *vd, const char *for_addr, long long for_ts,
    char *hex, size_t hexlen)
{
	char	*msg = NULL;
	int	 n, ret;

	if ((n = asprintf(&msg, "%s\n%d\n%s\n%s\n%s\n%lld\n%s\n%s\n%lld",
	    vd->user, vd->ok, vd->account, vd->via, vd->groups, vd->ts,
	    vd->body, for_addr, for_ts)) == -1)
		return -1;
	ret = forward_hmac(key, VERIFIED_MAC_INFO, msg, (size_t)n, hex,
	    hexlen);
	free(msg);
	return ret;
}

/* "NAME=" at *p, then up to ";" or the end: the value's length, or -1
 * (an empty value only where empty_ok). */
static int
forward_field_as(const char **p, const char *name, char *out, size_t outlen,
    int empty_ok)
{
	size_t	n = strlen(name), len;

	if (strncmp(*p, name, n) != 0 || (*p)[n] != '=')
		return -1;
	*p += n + 1;
	len = strcspn(*p, ";");
	if ((len == 0 && !empty_ok) || len >= outlen)
		return -1;
	memcpy(out, *p, len);
	out[len] = '\0';
	*p += len;
	if (**p == ';') {
		(*p)++;
		while (**p == ' ')
			(*p)++;
	}
	return (int)len;
}

static int
forward_field(const char **p, const char *name, char *out, size_t outlen)
{
	return forward_field_as(p, name, out, outlen, 0);
}

/* Whether s is all decimal digits (and not empty). */
static int
forward_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Whether s is FORWARD_MAC_HEX lower-case hex digits. */
static int
forward_hex(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return i == FORWARD_MAC_HEX;
}

/* A user or group name as the users file and auth_valid_name allow. */
static int
forward_name(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > VERIFIED_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("._@-", s[i]) ==
		    NULL)
			return 0;
	return 1;
}

int
forward_header_parse(const char *v, struct forward_header *h)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	const char	*p = v, *errstr = NULL;
	char		 ts[24], key[8];

	memset(h, 0, sizeof(*h));
	if (v == NULL || strlen(v) > FORWARD_HEADER_MAX ||
	    forward_field(&p, "for", h->addr, sizeof(h->addr)) == -1 ||
	    forward_field(&p, "ts", ts, sizeof(ts)) == -1 ||
	    forward_field(&p, "key", key, sizeof(key)) == -1 ||
	    forward_field(&p, "mac", h->mac, sizeof(h->mac)) !=
	    FORWARD_MAC_HEX || *p != '\0')
		return -1;
	if (inet_pton(AF_INET, h->addr, &a4) == 1)
		h->af = AF_INET;
	else if (inet_pton(AF_INET6, h->addr, &a6) == 1)
		h->af = AF_INET6;
	else
		return -1;
	if (!forward_digits(ts) || !forward_digits(key) || !forward_hex(h->mac))
		return -1;
	h->ts = strtonum(ts, 0, INT64_MAX / 2, &errstr);
	if (errstr != NULL)
		return -1;
	h->key_id = (uint8_t)strtonum(key, 1, 255, &errstr);
	return errstr != NULL ? -1 : 0;
}


int
forward_verdict_parse(const char *v, struct forward_verdict *vd)
{
	const char	*p = v, *g, *errstr = NULL;
	char		 ok[4], ts[24], key[8];
	size_t		 len, n = 0;

	memset(vd, 0, sizeof(*vd));
	if (v == NULL || strlen(v) > VERIFIED_HEADER_MAX ||
	    forward_field(&p, "user", vd->user, sizeof(vd->user)) == -1 ||
	    !forward_name(vd->user, strlen(vd->user)) ||
	    forward_field(&p, "ok", ok, sizeof(ok)) == -1)
		return -1;
	if (strcmp(ok, "1") == 0) {
		vd->ok = 1;
		if (forward_field(&p, "account", vd->account,
		    sizeof(vd->account)) == -1 ||
		    !forward_name(vd->account, strlen(vd->account)) ||
		    forward_field(&p, "via", vd->via, sizeof(vd->via)) == -1 ||
		    (strcmp(vd->via, "local") != 0 &&
		    strcmp(vd->via, "pam") != 0) ||
		    forward_field_as(&p, "groups", vd->groups,
		    sizeof(vd->groups), 1) == -1)
			return -1;
		/* Each group a name, at most VERIFIED_GROUPS of them. */
		for (g = vd->groups; *g != '\0'; g += len + (g[len] == ',')) {
			len = strcspn(g, ",");
			if (!forward_name(g, len) || ++n > VERIFIED_GROUPS ||
			    (g[len] == ',' && g[len + 1] == '\0'))
				return -1;
		}
	} else if (strcmp(ok, "0") != 0)
		return -1;
	if (forward_field(&p, "ts", ts, sizeof(ts)) == -1 ||
	    forward_field(&p, "key", key, sizeof(key)) == -1 ||
	    forward_field(&p, "body", vd->body, sizeof(vd->body)) == -1 ||
	    forward_field(&p, "mac", vd->mac, sizeof(vd->mac)) == -1 ||
	    *p != '\0' || !forward_digits(ts) || !forward_digits(key) ||
	    !forward_hex(vd->body) || !forward_hex(vd->mac))
		return -1;
	vd->ts = strtonum(ts, 0, INT64_MAX / 2, &errstr);
	if (errstr != NULL)
		return -1;
	vd->key_id = (uint8_t)strtonum(key, 1, 255, &errstr);
	return errstr != NULL ? -1 : 0;
}

int
forward_verdict_format(const struct forward_verdict *vd, char *out,
    size_t outlen)
{
	int	n;

	if (vd->ok)
		n = snprintf(out, outlen, "user=%s; ok=1; account=%s; via=%s; "
		    "groups=%s; ts=%lld; key=%u; body=%s; mac=%s", vd->user,
		    vd->account, vd->via, vd->groups, vd->ts, vd->key_id,
		    vd->body, vd->mac);
	else
		n = snprintf(out, outlen, "user=%s; ok=0; ts=%lld; key=%u; "
		    "body=%s; mac=%s", vd->user, vd->ts, vd->key_id, vd->body,
		    vd->mac);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
