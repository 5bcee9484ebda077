/* SPDX-License-Identifier: ISC */
/* What test-ticket.c and ticket-checks.c, one test program, share. */
#ifndef TEST_TICKET_H
#define TEST_TICKET_H

#include <stdint.h>
#include <time.h>

#include "keyring.h"
#include "ticket.h"

#define NOW		((time_t)1700000000)
#define LATER		(NOW + 3600)

void	 ring_init(struct keyring *ring, int with1, int with2);
void	 ticket_init(struct ticket *t, int af, size_t nports, const char *user);
int	 encode(struct ticket *t, const struct keyring *ring, uint8_t id,
	    char *out, size_t outsize);
int	 decode(const char *text, const struct keyring *ring, struct ticket *t);

/* ticket-checks.c: expiry, keys, ports and upstreams. */
void	 test_expired(void **);
void	 test_unknown_key(void **);
void	 test_rotation(void **);
void	 test_ticket_id(void **);
void	 test_allows_port(void **);
void	 test_upstream(void **);
void	 test_candidate_and_strings(void **);

#endif
