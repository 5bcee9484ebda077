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

int
forward_mac(const struct ticket_key *key, const char *addr, long long ts,
    const char *method, const char *target, char *hex, size_t hexlen)
{
	uint8_t		 k[EVP_MAX_MD_SIZE], md[EVP_MAX_MD_SIZE];
	unsigned	 klen = 0, mdlen = 0;
	char		*msg = NULL;
	int		 n, ret = -1;

	/* A key of its own, so that no ticket's MAC is ever a header's. */
	if (HMAC(EVP_sha256(), key->secret, sizeof(key->secret),
	    (const uint8_t *)FORWARD_MAC_INFO, strlen(FORWARD_MAC_INFO), k,
	    &klen) == NULL)
		goto out;
	if ((n = asprintf(&msg, "%s\n%lld\n%s\n%s", addr, ts, method,
	    target)) == -1) {
		msg = NULL;
		goto out;
	}
	if (HMAC(EVP_sha256(), k, klen, (const uint8_t *)msg, (size_t)n, md,
	    &mdlen) == NULL || hexlen < 2 * mdlen + 1)
		goto out;
	hex_encode(md, mdlen, hex, hexlen);
	ret = 0;
out:
	OPENSSL_cleanse(k, sizeof(k));
	free(msg);
	return ret;
}

/* "NAME=" at *p, then up to ";" or the end: the value's length, or -1. */
static int
forward_field(const char **p, const char *name, char *out, size_t outlen)
{
	size_t	n = strlen(name), len;

	if (strncmp(*p, name, n) != 0 || (*p)[n] != '=')
		return -1;
	*p += n + 1;
	len = strcspn(*p, ";");
	if (len == 0 || len >= outlen)
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

int
forward_header_parse(const char *v, struct forward_header *h)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	const char	*p = v, *errstr = NULL;
	char		 ts[24], key[8];
	size_t		 i;

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
	for (i = 0; ts[i] != '\0'; i++)
		if (!isdigit((unsigned char)ts[i]))
			return -1;
	for (i = 0; key[i] != '\0'; i++)
		if (!isdigit((unsigned char)key[i]))
			return -1;
	for (i = 0; h->mac[i] != '\0'; i++)
		if (!isxdigit((unsigned char)h->mac[i]) ||
		    isupper((unsigned char)h->mac[i]))
			return -1;
	h->ts = strtonum(ts, 0, INT64_MAX / 2, &errstr);
	if (errstr != NULL)
		return -1;
	h->key_id = (uint8_t)strtonum(key, 1, 255, &errstr);
	return errstr != NULL ? -1 : 0;
}

