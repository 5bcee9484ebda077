/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "secretfile.h"
#include "tls.h"

#define TLS12_CIPHERS	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
			"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
			"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

const char *
tls_error(void)
{
	static char	buf[256];
	unsigned long	e;

	if ((e = ERR_get_error()) == 0)
		return "unknown TLS error";
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return buf;
}

static SSL_CTX *
tls_ctx_new(const SSL_METHOD *method, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(method)) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new: %s", tls_error());
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS)) {
		snprintf(err, errlen, "TLS policy: %s", tls_error());
		SSL_CTX_free(ctx);
		return NULL;
	}
	/*
	 * Peers may close without close_notify (SPICE frames are length
	 * prefixed, so truncation is visible inside the tunnel anyway).
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Idle tunnels give their TLS buffers back. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

/*
 * Loads the private key from path, refused (as the ticket keys are) when
 * others could read it or its group could change it. 0, or -1 with a
 * message naming the file.
 */
static int
tls_use_key(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	EVP_PKEY	*pkey = NULL;
	FILE		*f = NULL;
	int		 fd, ret = -1;

	if ((fd = secretfile_open(path, 0, "TLS private key", err,
	    errlen)) == -1)
		return -1;
	if ((f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if ((pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
		snprintf(err, errlen, "%s: %s", path, tls_error());
		goto out;
	}
	ret = 0;
 out:
	EVP_PKEY_free(pkey);
	fclose(f);
	return ret;
}

int
tls_ctx_use_cert(SSL_CTX *ctx, const char *cert, const char *key, char *err,
    size_t errlen)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, errlen, "%s: %s", cert, tls_error());
		return -1;
	}
	if (tls_use_key(ctx, key, err, errlen) == -1)
		return -1;
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "%s does not match %s", key, cert);
		return -1;
	}
	return 0;
}

SSL_CTX *
tls_server_ctx_new(const char *cert, const char *key, char *err,
    size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = tls_ctx_new(TLS_server_method(), err, errlen)) == NULL)
		return NULL;
	if (tls_ctx_use_cert(ctx, cert, key, err, errlen) == -1)
		goto fail;
	/*
	 * Read ahead into a 64 KiB buffer: four records per read() instead of
	 * two reads per record. Released buffers keep idle tunnels small.
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, 64 * 1024);
	/* Tunnels are long-lived: session resumption is not worth its memory. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
 fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_client_ctx_new(const char *cafile, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = tls_ctx_new(TLS_client_method(), err, errlen)) == NULL)
		return NULL;
	if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
		snprintf(err, errlen, "%s: %s", cafile, tls_error());
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

const char *
tls_subject(X509 *x, char *buf, size_t size)
{
	X509_NAME	*name = X509_get_subject_name(x);
	X509_NAME_ENTRY	*e;
	unsigned char	*val;
	size_t		 len = 0;
	int		 i, n;

	buf[0] = '\0';
	for (i = 0; name != NULL && i < X509_NAME_entry_count(name); i++) {
		e = X509_NAME_get_entry(name, i);
		if (ASN1_STRING_to_UTF8(&val, X509_NAME_ENTRY_get_data(e)) < 0)
			continue;
		n = snprintf(buf + len, size - len, "%s%s=%s", len ? "," : "",
		    OBJ_nid2sn(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e))),
		    (char *)val);
		OPENSSL_free(val);
		if (n < 0 || (size_t)n >= size - len) {
			/* Too long to match anything: say so, never cut. */
			snprintf(buf, size, "?");
			break;
		}
		len += (size_t)n;
	}
	return buf;
}
