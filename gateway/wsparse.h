/* SPDX-License-Identifier: ISC */
/*
 * The WebSocket listener's parsers (RFC 6455): the upgrade request and the
 * client's frames. Pure, bounded, no I/O; request.c walks the HTTP head.
 */
#ifndef PAPRIKA_WSPARSE_H
#define PAPRIKA_WSPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "request.h"

#define WS_PATH			"/spice"
#define WS_TICKET_MAX		199	/* a ticket's text, at most */
#define WS_ORIGIN_MAX		255
#define WS_KEY_LEN		24	/* base64 of 16 bytes */
#define WS_ACCEPT_LEN		28	/* base64 of a SHA-1 */
#define WS_CONTROL_MAX		125	/* a control frame's payload */
#define WS_CLIENT_HEADER_MAX	14	/* 2, 8 bytes of length, 4 of mask */
#define WS_SERVER_HEADER_MAX	10	/* 2, 8 bytes of length */
/* Frames in one message: a message never ending in tiny frames is refused. */
#define WS_MAX_FRAGMENTS	1024

enum ws_opcode {
	WS_OP_CONTINUATION = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

/* Close codes the gateway sends (RFC 6455, 7.4.1). */
#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_GOING_AWAY	1001
#define WS_CLOSE_PROTOCOL	1002
#define WS_CLOSE_NO_STATUS	1005	/* never sent: "the frame had none" */
#define WS_CLOSE_BAD_DATA	1007
#define WS_CLOSE_POLICY		1008
#define WS_CLOSE_TOO_BIG	1009
#define WS_CLOSE_BAD_GATEWAY	1014	/* the upstream's TLS was refused */

struct ws_upgrade {
	char		ticket[WS_TICKET_MAX + 1];	/* "" when absent */
	uint16_t	port;				/* 0 when absent */
	char		key[WS_KEY_LEN + 1];
	char		origin[WS_ORIGIN_MAX + 1];
	int		has_origin;
	int		has_host;
	int		upgrade_websocket;	/* Upgrade: websocket */
	int		connection_upgrade;	/* Connection: ... upgrade ... */
	int		version;		/* Sec-WebSocket-Version, -1 */
	int		proto_binary;	/* "binary" among the subprotocols */
	size_t		nheaders;
};

/*
 * Parses the bytes received so far of "GET /spice?ticket=...[&port=N]
 * HTTP/1.1" and its headers. Returns the length of the whole request when
 * it is complete and a valid WebSocket upgrade, 0 when more bytes are
 * needed, or a negative HTTP status with a short reason: -400 malformed,
 * -404 another path, -405 another method, -426 not a WebSocket upgrade of
 * version 13, -431 too large, -505 not HTTP/1.1.
 */
int	ws_upgrade_parse(const char *buf, size_t len,
	    const struct request_limits *limits, struct ws_upgrade *u,
	    const char **reason);
/* Wipes the ticket. */
void	ws_upgrade_clear(struct ws_upgrade *u);
/* Sec-WebSocket-Accept for a key: WS_ACCEPT_LEN characters and a NUL. */
void	ws_accept(const char *key, char out[WS_ACCEPT_LEN + 1]);

/* What ws_decode stops for. */
#define WS_EV_NONE	0	/* all input consumed */
#define WS_EV_PING	1	/* a ping: its payload is in ctl/ctl_len */
#define WS_EV_CLOSE	2	/* a close: close_code, reason in ctl */

/* The state of the client-to-gateway direction of one WebSocket. */
struct ws_decoder {
	uint64_t	max_message;	/* set by the caller: bytes per message */
	/* The frame being read. */
	uint8_t		hdr[WS_CLIENT_HEADER_MAX];
	uint8_t		hlen;		/* header bytes so far */
	uint8_t		opcode;
	uint8_t		fin;
	uint8_t		in_payload;
	uint64_t	left;		/* payload bytes still to come */
	uint64_t	pos;		/* payload bytes so far */
	/* The data message the frame belongs to. */
	uint8_t		msg_opcode;	/* text, binary, or 0 between messages */
	uint64_t	msg_len;
	unsigned int	msg_frames;
	uint32_t	utf8;		/* UTF-8 validation state (text) */
	/* The last control frame, unmasked. */
	uint8_t		ctl[WS_CONTROL_MAX];
	size_t		ctl_len;
	uint16_t	close_code;	/* WS_CLOSE_NO_STATUS when none came */
	const char	*reason;	/* why it failed */
};

/* Starts a decoder for messages of at most max_message bytes. */
void	ws_decoder_init(struct ws_decoder *d, uint64_t max_message);
/*
 * Decodes client bytes buf[*in, len) in place: the payload of data frames,
 * unmasked, goes to buf[*out...] (*out never passes *in), control frames
 * to d->ctl. Advances *in and *out and returns WS_EV_NONE once all input
 * is used, WS_EV_PING or WS_EV_CLOSE after a whole control frame (call
 * again for the rest), or minus the close code the connection must fail
 * with (1002, 1007, 1009), with d->reason. Pongs are consumed silently.
 */
int	ws_decode(struct ws_decoder *d, uint8_t *buf, size_t len, size_t *in,
	    size_t *out);
/* Writes a server frame header (FIN set, unmasked); returns its length. */
size_t	ws_frame_header(uint8_t out[WS_SERVER_HEADER_MAX], unsigned int opcode,
	    uint64_t len);
/*
 * Writes a whole close frame with code and as much of the reason (printable
 * ASCII kept, anything else dropped) as fits; returns its length.
 */
size_t	ws_close_frame(uint8_t out[2 + WS_CONTROL_MAX], uint16_t code,
	    const char *reason);
/* Whether buf holds only whole, valid UTF-8 sequences. */
int	ws_utf8_valid(const uint8_t *buf, size_t len);

#endif
