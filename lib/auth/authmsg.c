/* SPDX-License-Identifier: ISC */
/*
 * Encoding and decoding of the PAM helper's messages (authmsg.h): a writer
 * and a reader over a bounded buffer, one field at a time.
 */
#include <string.h>

#include "authmsg.h"

struct authmsg_buf {
	uint8_t		*w;		/* writing: NULL when reading */
	const uint8_t	*r;
	size_t		 len, off;
	int		 bad;
};

static void
authmsg_put(struct authmsg_buf *b, const void *p, size_t n)
{
	if (b->bad || n > b->len - b->off) {
		b->bad = 1;
		return;
	}
	memcpy(b->w + b->off, p, n);
	b->off += n;
}

static void
authmsg_put_u8(struct authmsg_buf *b, unsigned v)
{
	uint8_t	c = (uint8_t)v;

	authmsg_put(b, &c, 1);
}

/* A string field with a length prefix of lenbytes (1 or 2), min..max. */
static void
authmsg_put_str(struct authmsg_buf *b, const char *s, size_t lenbytes,
    size_t min, size_t max)
{
	size_t	n = strnlen(s, max + 1);

	if (n < min || n > max) {
		b->bad = 1;
		return;
	}
	if (lenbytes == 2)
		authmsg_put_u8(b, (unsigned)(n >> 8));
	authmsg_put_u8(b, (unsigned)(n & 0xff));
	authmsg_put(b, s, n);
}

static unsigned
authmsg_get_u8(struct authmsg_buf *b)
{
	if (b->bad || b->off >= b->len) {
		b->bad = 1;
		return 0;
	}
	return b->r[b->off++];
}

/* Reads a string field into out (outlen > max); NUL bytes are refused. */
static void
authmsg_get_str(struct authmsg_buf *b, char *out, size_t lenbytes,
    size_t min, size_t max)
{
	size_t	n;

	n = authmsg_get_u8(b);
	if (lenbytes == 2)
		n = (n << 8) | authmsg_get_u8(b);
	if (b->bad || n < min || n > max || n > b->len - b->off ||
	    memchr(b->r + b->off, '\0', n) != NULL) {
		b->bad = 1;
		out[0] = '\0';
		return;
	}
	memcpy(out, b->r + b->off, n);
	out[n] = '\0';
	b->off += n;
}

/* The encoded length, or -1 (the buffer then holds nothing useful). */
static int
authmsg_end_write(struct authmsg_buf *b)
{
	if (b->bad) {
		explicit_bzero(b->w, b->len);
		return -1;
	}
	return (int)b->off;
}

int
authmsg_req_encode(const struct authmsg_req *req, uint8_t *buf,
    size_t buflen)
{
	struct authmsg_buf	b = { buf, NULL, buflen, 0, 0 };

	authmsg_put_u8(&b, AUTHMSG_VERSION);
	authmsg_put_str(&b, req->user, 1, 1, AUTH_NAME_MAX);
	authmsg_put_str(&b, req->password, 2, 1, AUTH_PASSWORD_MAX);
	authmsg_put_str(&b, req->rhost, 1, 0, AUTHMSG_RHOST_MAX);
	return authmsg_end_write(&b);
}

int
authmsg_req_decode(const uint8_t *buf, size_t len, struct authmsg_req *out)
{
	struct authmsg_buf	b = { NULL, buf, len, 0, 0 };

	memset(out, 0, sizeof(*out));
	if (authmsg_get_u8(&b) != AUTHMSG_VERSION)
		b.bad = 1;
	authmsg_get_str(&b, out->user, 1, 1, AUTH_NAME_MAX);
	authmsg_get_str(&b, out->password, 2, 1, AUTH_PASSWORD_MAX);
	authmsg_get_str(&b, out->rhost, 1, 0, AUTHMSG_RHOST_MAX);
	if (b.bad || b.off != len) {
		explicit_bzero(out, sizeof(*out));
		return -1;
	}
	return 0;
}

int
authmsg_reply_encode(const struct authmsg_reply *rep, uint8_t *buf,
    size_t buflen)
{
	struct authmsg_buf	 b = { buf, NULL, buflen, 0, 0 };
	size_t			 i, ngroups = 0;
	int			 ok = rep->status == AUTH_OK;

	authmsg_put_u8(&b, AUTHMSG_VERSION);
	switch (rep->status) {
	case AUTH_OK:
		authmsg_put_u8(&b, 0);
		break;
	case AUTH_DENIED:
		authmsg_put_u8(&b, 1);
		break;
	case AUTH_ERROR:
		authmsg_put_u8(&b, 2);
		break;
	default:
		b.bad = 1;
	}
	authmsg_put_str(&b, ok ? rep->user.name : "", 1, ok ? 1 : 0,
	    AUTH_NAME_MAX);
	if (ok)
		ngroups = rep->user.ngroups;
	if (ngroups > AUTH_GROUPS_MAX)
		b.bad = 1;
	authmsg_put_u8(&b, (unsigned)ngroups);
	for (i = 0; i < ngroups && !b.bad; i++)
		authmsg_put_str(&b, rep->user.groups[i], 1, 1, AUTH_NAME_MAX);
	authmsg_put_str(&b, rep->err, 1, 0, AUTHMSG_ERR_MAX);
	return authmsg_end_write(&b);
}

int
authmsg_reply_decode(const uint8_t *buf, size_t len,
    struct authmsg_reply *out)
{
	struct authmsg_buf	b = { NULL, buf, len, 0, 0 };
	unsigned		status;
	size_t			i;

	memset(out, 0, sizeof(*out));
	if (authmsg_get_u8(&b) != AUTHMSG_VERSION)
		b.bad = 1;
	status = authmsg_get_u8(&b);
	if (status > 2)
		b.bad = 1;
	out->status = status == 0 ? AUTH_OK : status == 1 ? AUTH_DENIED :
	    AUTH_ERROR;
	/* A name exactly when the login succeeded, groups only then. */
	authmsg_get_str(&b, out->user.name, 1, status == 0 ? 1 : 0,
	    status == 0 ? AUTH_NAME_MAX : 0);
	out->user.ngroups = authmsg_get_u8(&b);
	if (out->user.ngroups > AUTH_GROUPS_MAX ||
	    (status != 0 && out->user.ngroups != 0))
		b.bad = 1;
	for (i = 0; i < out->user.ngroups && !b.bad; i++)
		authmsg_get_str(&b, out->user.groups[i], 1, 1, AUTH_NAME_MAX);
	authmsg_get_str(&b, out->err, 1, 0, AUTHMSG_ERR_MAX);
	if (b.bad || b.off != len) {
		memset(out, 0, sizeof(*out));
		out->status = AUTH_ERROR;
		return -1;
	}
	return 0;
}
