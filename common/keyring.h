/* SPDX-License-Identifier: ISC */
/*
 * Ticket keys: a directory of "<id>.key" files, each 32 bytes in hex, and
 * optionally a file "signing" naming the id new tickets are signed with.
 * Every key verifies; rotation adds a key everywhere first and moves
 * "signing" to it only once every gateway has reloaded.
 */
#ifndef PAPRIKA_KEYRING_H
#define PAPRIKA_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#define TICKET_KEY_LEN	32
#define KEYRING_MAX	16

struct ticket_key {
	uint8_t	id;
	uint8_t	secret[TICKET_KEY_LEN];
};

struct keyring {
	struct ticket_key	keys[KEYRING_MAX];
	size_t			nkeys;
	uint8_t			signing_id;	/* 0: the highest id signs */
};

/* Loads every key in dir; returns 0, or -1 with a message in err. */
int			 keyring_load(const char *dir, struct keyring *ring,
			     char *err, size_t errlen);
/* Reads one key file; returns 0, or -1 with a message in err. */
int			 keyring_read_key(const char *path, uint8_t id,
			     struct ticket_key *key, char *err, size_t errlen);
const struct ticket_key	*keyring_find(const struct keyring *ring, uint8_t id);
/* The key with the highest id. */
const struct ticket_key	*keyring_newest(const struct keyring *ring);
/* The key new tickets are signed with: "signing", else the highest id. */
const struct ticket_key	*keyring_signing(const struct keyring *ring);
/* Wipes the secrets. */
void			 keyring_clear(struct keyring *ring);

#endif
