/* SPDX-License-Identifier: ISC */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "encode.h"
#include "keyring.h"
#include "secretfile.h"

int
keyring_read_key(const char *path, uint8_t id, struct ticket_key *key,
    char *err, size_t errlen)
{
	if (secretfile_read_hex(path, "ticket key", key->secret,
	    TICKET_KEY_LEN, err, errlen) == -1)
		return -1;
	key->id = id;
	return 0;
}

/* Parses "<1..255>.key"; returns the id or -1. */
static int
keyring_file_id(const char *name)
{
	char	*end;
	long	 id;

	if (name[0] < '1' || name[0] > '9')
		return -1;
	id = strtol(name, &end, 10);
	if (strcmp(end, ".key") != 0 || id < 1 || id > 255)
		return -1;
	return (int)id;
}

/* Reads the optional "signing" file: one line, a key id present in dir. */
static int
keyring_read_signing(const char *dir, struct keyring *ring, char *err,
    size_t errlen)
{
	char	 path[4096], line[16], *end;
	FILE	*fp;
	long	 id;

	snprintf(path, sizeof path, "%s/signing", dir);
	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof line, fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	line[strcspn(line, "\n")] = '\0';
	id = strtol(line, &end, 10);
	if (line[0] == '\0' || *end != '\0' || id < 1 || id > 255) {
		snprintf(err, errlen, "%s: expected one key id (1 to 255)", path);
		return -1;
	}
	if (keyring_find(ring, (uint8_t)id) == NULL) {
		snprintf(err, errlen, "%s names key %ld, which is not in %s",
		    path, id, dir);
		return -1;
	}
	ring->signing_id = (uint8_t)id;
	return 0;
}

int
keyring_load(const char *dir, struct keyring *ring, char *err, size_t errlen)
{
	struct keyring	 tmp;
	DIR		*d;
	struct dirent	*de;
	char		 path[4096];
	int		 id, ret = -1;

	memset(&tmp, 0, sizeof tmp);
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "ticket key directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if ((id = keyring_file_id(de->d_name)) == -1)
			continue;
		if (tmp.nkeys == KEYRING_MAX) {
			snprintf(err, errlen, "%s: more than %d ticket keys",
			    dir, KEYRING_MAX);
			goto out;
		}
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (keyring_read_key(path, (uint8_t)id, &tmp.keys[tmp.nkeys],
		    err, errlen) == -1)
			goto out;
		tmp.nkeys++;
	}
	if (tmp.nkeys == 0) {
		snprintf(err, errlen, "%s: no ticket keys (files named 1.key "
		    "to 255.key; paprika-certs makes them)", dir);
		goto out;
	}
	if (keyring_read_signing(dir, &tmp, err, errlen) == -1)
		goto out;
	keyring_clear(ring);
	*ring = tmp;
	ret = 0;
 out:
	closedir(d);
	OPENSSL_cleanse(&tmp, sizeof tmp);
	return ret;
}

const struct ticket_key *
keyring_find(const struct keyring *ring, uint8_t id)
{
	size_t	i;

	for (i = 0; i < ring->nkeys; i++) {
		if (ring->keys[i].id == id)
			return &ring->keys[i];
	}
	return NULL;
}

const struct ticket_key *
keyring_newest(const struct keyring *ring)
{
	const struct ticket_key	*best = NULL;
	size_t			 i;

	for (i = 0; i < ring->nkeys; i++) {
		if (best == NULL || ring->keys[i].id > best->id)
			best = &ring->keys[i];
	}
	return best;
}

const struct ticket_key *
keyring_signing(const struct keyring *ring)
{
	if (ring->signing_id != 0)
		return keyring_find(ring, ring->signing_id);
	return keyring_newest(ring);
}

void
keyring_clear(struct keyring *ring)
{
	OPENSSL_cleanse(ring, sizeof *ring);
}
