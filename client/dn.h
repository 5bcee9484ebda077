/* SPDX-License-Identifier: ISC */
/* Distinguished names for the SPICE host-subject check (dn.c). */
#ifndef PAPRIKA_CLIENT_DN_H
#define PAPRIKA_CLIENT_DN_H

#include <glib.h>

/*
 * A DN as a list of its entries in the order written: "K=V" split at
 * unescaped commas, "\c" is c. rfc4514 (GnuTLS's subject strings): "\HH"
 * is a byte, and a multi-valued entry ("+") or a hex value ("#...") is
 * refused, as spice-gtk never matches those. NULL when malformed.
 */
GPtrArray	*paprika_dn_parse(const gchar *s, gboolean rfc4514);
/* TRUE when both are DNs with the same entries in the same order. */
gboolean	 paprika_dn_equal(GPtrArray *a, GPtrArray *b);

#endif
