/* SPDX-License-Identifier: ISC */
/*
 * TLS session tickets for the client listeners: a SPICE session opens
 * several tunnels, and every one after the first resumes the first one's
 * TLS session instead of doing a full handshake.
 *
 * The keys that seal the tickets are made here from the random generator
 * and live only in this process's memory: never written, never logged. A
 * new one is made every tls_session_lifetime; the one before it still opens
 * tickets (and has them renewed) until it is twice that old, then it is
 * wiped. A ticket itself is good for tls_session_lifetime. The keys outlive
 * a reload (the new SSL_CTX uses them), not a restart.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "gateway.h"
#include "log.h"

/* The name OpenSSL puts in front of a ticket, in bytes. */
#define TLS_TICKET_KEYNAME	16

struct tls_ticket_key {
	unsigned char	name[TLS_TICKET_KEYNAME];
	unsigned char	aes[32];	/* AES-256-CBC */
	unsigned char	hmac[32];	/* HMAC-SHA256 */
	time_t		born;
	int		set;
};

static struct {
	pthread_mutex_t		lock;
	struct tls_ticket_key	cur;
	struct tls_ticket_key	prev;
	unsigned int		lifetime;	/* seconds */
} tk = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
ticket_key_wipe(struct tls_ticket_key *k)
{
	OPENSSL_cleanse(k, sizeof *k);
}

static void
ticket_key_make(struct tls_ticket_key *k, time_t now)
{
	arc4random_buf(k->name, sizeof k->name);
	arc4random_buf(k->aes, sizeof k->aes);
	arc4random_buf(k->hmac, sizeof k->hmac);
	k->born = now;
	k->set = 1;
}

/* With tk.lock held: drops keys too old to keep, makes one when due. */
static void
ticket_keys_age(time_t now)
{
	time_t	life = (time_t)tk.lifetime;

	if (tk.prev.set && now - tk.prev.born >= 2 * life)
		ticket_key_wipe(&tk.prev);
	if (tk.cur.set && now - tk.cur.born >= 2 * life)
		ticket_key_wipe(&tk.cur);
	if (tk.cur.set && now - tk.cur.born < life)
		return;
	if (tk.cur.set) {
		ticket_key_wipe(&tk.prev);
		tk.prev = tk.cur;
		ticket_key_wipe(&tk.cur);
	}
	ticket_key_make(&tk.cur, now);
}

static int
ticket_key_use(const struct tls_ticket_key *k, EVP_MAC_CTX *hctx)
{
	OSSL_PARAM	params[3];
	char		digest[] = "SHA256";

	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    (void *)k->hmac, sizeof k->hmac);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	params[2] = OSSL_PARAM_construct_end();
	return EVP_MAC_CTX_set_params(hctx, params) == 1 ? 0 : -1;
}

/*
 * OpenSSL's ticket callback: seal with the newest key; open with either,
 * asking for a new ticket (2) when it was the older one; 0 refuses the
 * ticket (a full handshake follows), -1 fails the handshake.
 */
static int
ticket_key_cb(SSL *ssl, unsigned char name[TLS_TICKET_KEYNAME],
    unsigned char *iv, EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	const struct tls_ticket_key	*k = NULL;
	time_t			 now = time(NULL);
	int			 rc = -1;

	pthread_mutex_lock(&tk.lock);
	if (tk.lifetime == 0)
		goto out;
	ticket_keys_age(now);
	if (enc) {
		k = &tk.cur;
		memcpy(name, k->name, sizeof k->name);
		arc4random_buf(iv, (size_t)EVP_CIPHER_get_iv_length(
		    EVP_aes_256_cbc()));
		if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL,
		    k->aes, iv) != 1 || ticket_key_use(k, hctx) == -1)
			goto out;
		rc = 1;
		goto out;
	}
	if (CRYPTO_memcmp(name, tk.cur.name, sizeof tk.cur.name) == 0)
		k = &tk.cur;
	else if (tk.prev.set &&
	    CRYPTO_memcmp(name, tk.prev.name, sizeof tk.prev.name) == 0)
		k = &tk.prev;
	if (k == NULL) {
		rc = 0;
		goto out;
	}
	if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes,
	    iv) != 1 || ticket_key_use(k, hctx) == -1)
		goto out;
	rc = k == &tk.cur ? 1 : 2;
 out:
	pthread_mutex_unlock(&tk.lock);
	return rc;
}

void
tlsticket_setup(SSL_CTX *ctx, unsigned int lifetime)
{
	pthread_mutex_lock(&tk.lock);
	tk.lifetime = lifetime;
	if (lifetime == 0) {
		ticket_key_wipe(&tk.cur);
		ticket_key_wipe(&tk.prev);
	}
	pthread_mutex_unlock(&tk.lock);
	if (lifetime == 0) {
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(ctx, 0);
		return;
	}
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
	/* TLS 1.3 tickets wait for tlsticket_give; TLS 1.2's come in the
	 * handshake. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_timeout(ctx, (long)lifetime);
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb);
}

void
tlsticket_clear(void)
{
	pthread_mutex_lock(&tk.lock);
	ticket_key_wipe(&tk.cur);
	ticket_key_wipe(&tk.prev);
	pthread_mutex_unlock(&tk.lock);
}

/*
 * The handshake's end is where OpenSSL would send TLS 1.3 tickets, but
 * there they delay the CONNECT answer, and a first byte from the guest
 * behind it, by their sealing and writes. They are given right after the
 * tunnel's first write to the client instead (the relay calls this): still
 * before the client, which has the answer by then, can open its other
 * channels, as that takes at least a SPICE link exchange on this one. A
 * refused client gets none.
 */
void
tlsticket_give(SSL *ssl)
{
	int	i, n, fd, on = 1, off = 0;

	if (SSL_version(ssl) != TLS1_3_VERSION ||
	    (SSL_get_options(ssl) & SSL_OP_NO_TICKET))
		return;
	/* Resumed: one in place of the one used. */
	n = SSL_session_reused(ssl) ? 1 : GATEWAY_TLS_TICKETS;
	for (i = 0; i < n; i++) {
		if (SSL_new_session_ticket(ssl) != 1)
			break;
	}
	/*
	 * OpenSSL writes and flushes each ticket on its own: corked, they
	 * leave in one segment, which the client takes in one wakeup.
	 */
	fd = SSL_get_fd(ssl);
	setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
	/* A full socket buffer leaves them to the next SSL_write. */
	ERR_clear_error();
	(void)SSL_do_handshake(ssl);
	ERR_clear_error();
	setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
}
