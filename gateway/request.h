/* SPDX-License-Identifier: ISC */
/* The gateway's HTTP CONNECT request parser: pure, bounded, no I/O. */
#ifndef PAPRIKA_REQUEST_H
#define PAPRIKA_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#define REQUEST_HOST_MAX	253
#define REQUEST_CRED_MAX	256

struct request_limits {
	size_t	max_size;	/* request line and headers, in bytes */
	size_t	max_headers;
};

struct request {
	char		host[REQUEST_HOST_MAX + 1];	/* CONNECT host, as sent */
	uint16_t	port;
	int		http_minor;
	int		has_credentials;
	char		cred_user[REQUEST_CRED_MAX + 1];	/* Basic credentials */
	char		cred_password[REQUEST_CRED_MAX + 1];
	size_t		nheaders;
};

/*
 * Parses the bytes received so far. Returns the length of the complete
 * request (line, headers and blank line) when it is whole, 0 when more bytes
 * are needed, or a negative HTTP status (-400, -405, -431, -505) with a short
 * reason when the bytes so far can never become a valid request.
 */
int	request_parse(const char *buf, size_t len,
	    const struct request_limits *limits, struct request *req,
	    const char **reason);
/*
 * The parts the CONNECT and WebSocket parsers share. request_head_parse
 * walks a request head as request_parse does: it calls line() for the
 * request line (first set) and for each header, without its line end, and
 * returns what request_parse does; method is what an incomplete first line
 * must already start with. request_header_split splits "Name: value" and
 * trims the value; 0, or -400 with a reason.
 */
typedef int (*request_line_cb)(void *arg, const char *line, size_t len,
	    int first, const char **reason);
int	request_head_parse(const char *buf, size_t len,
	    const struct request_limits *limits, const char *method,
	    request_line_cb line, void *arg, size_t *nheaders,
	    const char **reason);
/* Checks "HTTP/d.d" (its digits at v[5] and v[7]); 0, or -1 with a reason. */
int	request_version(const char *v, size_t len, const char **reason);
int	request_header_split(const char *line, size_t len, const char **name,
	    size_t *namelen, const char **value, size_t *valuelen,
	    const char **reason);
/* Wipes the credentials. */
void	request_clear(struct request *req);

#endif
