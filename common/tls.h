/* SPDX-License-Identifier: ISC */
/* TLS contexts with Paprika's policy: TLS 1.2 or later, modern AEAD suites. */
#ifndef PAPRIKA_TLS_H
#define PAPRIKA_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

/* A server context for cert and key; NULL with a message in err. The key
 * file is refused when others may read it or its group may write it. */
SSL_CTX	*tls_server_ctx_new(const char *cert, const char *key, char *err,
	    size_t errlen);
/* Puts cert (a chain) and key, checked as above, on ctx; 0 or -1. */
int	 tls_ctx_use_cert(SSL_CTX *ctx, const char *cert, const char *key,
	    char *err, size_t errlen);
/* A client context verifying peers against cafile; NULL with a message. */
SSL_CTX	*tls_client_ctx_new(const char *cafile, char *err, size_t errlen);
/*
 * A certificate's subject as spice-gtk's host-subject writes it and
 * paprika-certs prints it: "O=Paprika,CN=hv1", its entries in order, each
 * a short name and the UTF-8 value, joined by commas, unescaped. "?" when it
 * does not fit in buf.
 */
const char *tls_subject(X509 *x, char *buf, size_t size);
/* The last OpenSSL error as text, and clears the queue. */
const char *tls_error(void);

#endif
