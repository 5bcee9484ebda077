/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer harness for the WebSocket listener's parsers: the upgrade
 * request and the client's frames.
 *
 * The upgrade request is parsed whole and at a few split points, each from a
 * heap copy of exactly that many bytes. The same input is then fed to the
 * frame decoder in one piece and in chunks of sizes taken from its first
 * byte, as the relay hands it over read by read; both must agree, the output
 * must stay behind the input, and what wsparse.h promises must hold.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsparse.h"
#include "fuzz.h"

static const struct request_limits	fuzz_limits[] = {
	{ 8192, 32 },
	{ 64, 2 },
};

static int
parse(const uint8_t *data, size_t len, const struct request_limits *l,
    struct ws_upgrade *u)
{
	const char	*reason = NULL;
	char		*buf;
	int		 rc;

	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(buf, data, len);
	rc = ws_upgrade_parse(buf, len, l, u, &reason);
	if (rc < 0) {
		CHECK(rc == -400 || rc == -404 || rc == -405 || rc == -426 ||
		    rc == -431 || rc == -505);
		CHECK(reason != NULL && reason[0] != '\0');
	} else if (rc > 0) {
		CHECK((size_t)rc <= len && (size_t)rc <= l->max_size);
		CHECK(buf[rc - 1] == '\n');
		CHECK(memcmp(buf, "GET " WS_PATH, 4 + strlen(WS_PATH)) == 0);
		CHECK(strlen(u->key) == WS_KEY_LEN);
		CHECK(strlen(u->ticket) <= WS_TICKET_MAX);
		CHECK(strlen(u->origin) <= WS_ORIGIN_MAX);
		CHECK(u->version == 13 && u->has_host);
	}
	free(buf);
	return rc;
}

static void
fuzz_upgrade(const uint8_t *data, size_t size)
{
	struct ws_upgrade	u, again;
	size_t			i, l, split[3] = { size / 2, size / 3, 4 };
	int			full, part;

	for (l = 0; l < sizeof fuzz_limits / sizeof fuzz_limits[0]; l++) {
		full = parse(data, size, &fuzz_limits[l], &u);
		if (full > 0) {
			CHECK(parse(data, (size_t)full, &fuzz_limits[l],
			    &again) == full);
			CHECK(strcmp(again.ticket, u.ticket) == 0);
			CHECK(again.port == u.port);
		}
		for (i = 0; i < 3; i++) {
			if (split[i] >= size)
				continue;
			part = parse(data, split[i], &fuzz_limits[l], &again);
			if (part > 0)
				CHECK(part == full);
		}
		ws_upgrade_clear(&u);
	}
}

/* Decodes data in chunks of at most step bytes; returns the end state. */
static int
decode(const uint8_t *data, size_t size, size_t step, uint8_t **outp,
    size_t *outlen, int *events)
{
	struct ws_decoder	 d;
	uint8_t			*buf, *all;
	size_t			 pos, n, in, out, total = 0;
	int			 rc = WS_EV_NONE;

	ws_decoder_init(&d, 4096);
	if ((all = malloc(size + 1)) == NULL)
		abort();
	*events = 0;
	for (pos = 0; pos < size && rc >= 0; pos += n) {
		n = size - pos < step ? size - pos : step;
		if ((buf = malloc(n)) == NULL)
			abort();
		memcpy(buf, data + pos, n);
		in = out = 0;
		while ((rc = ws_decode(&d, buf, n, &in, &out)) > 0) {
			CHECK(rc == WS_EV_PING || rc == WS_EV_CLOSE);
			CHECK(d.ctl_len <= WS_CONTROL_MAX);
			CHECK(out <= in && in <= n);
			(*events)++;
			if (rc == WS_EV_CLOSE)
				break;
		}
		CHECK(out <= in && in <= n);
		if (rc == WS_EV_NONE)
			CHECK(in == n);
		if (rc < 0) {
			CHECK(rc == -1002 || rc == -1007 || rc == -1009);
			CHECK(d.reason != NULL);
		}
		CHECK(d.msg_len <= d.max_message);
		memcpy(all + total, buf, out);
		total += out;
		free(buf);
		if (rc == WS_EV_CLOSE)
			break;
	}
	*outp = all;
	*outlen = total;
	return rc;
}

static void
fuzz_frames(const uint8_t *data, size_t size)
{
	uint8_t	*a, *b;
	size_t	 alen, blen, step;
	int	 ra, rb, ea, eb;

	if (size == 0)
		return;
	step = (size_t)data[0] % 17 + 1;
	ra = decode(data + 1, size - 1, size, &a, &alen, &ea);
	rb = decode(data + 1, size - 1, step, &b, &blen, &eb);
	/* How the bytes arrive changes nothing but when a failure is seen. */
	if (ra >= 0 && rb >= 0) {
		CHECK(ra == rb && ea == eb);
		CHECK(alen == blen && memcmp(a, b, alen) == 0);
	} else
		CHECK(ra == rb);
	free(a);
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_upgrade(data, size);
	fuzz_frames(data, size);
	return 0;
}
