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
/* Wipes the credentials. */
void	request_clear(struct request *req);

#endif
