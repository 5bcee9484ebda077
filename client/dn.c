/* SPDX-License-Identifier: ISC */
/*
 * Distinguished names as spice-gtk's cert-subject check compares them
 * (common/ssl_verify.c there): the same entries in the same order, values
 * as OpenSSL's X509_NAME_cmp sees them. Pure GLib, so it is unit-tested.
 */
#include <string.h>

#include <glib.h>

#include "dn.h"

typedef struct {
	gchar	*key;
	gchar	*value;
} DnAva;

static void
dn_ava_free(DnAva *a)
{
	g_free(a->key);
	g_free(a->value);
	g_free(a);
}

/* A DN value as OpenSSL's X509_NAME_cmp compares it: trimmed, runs of
 * white space as one space, ASCII case folded. */
static gchar *
dn_canon(const GString *v)
{
	GString *out = g_string_sized_new(v->len);
	gboolean space = FALSE;
	gsize i;

	for (i = 0; i < v->len; i++) {
		if (g_ascii_isspace(v->str[i])) {
			space = out->len > 0;
			continue;
		}
		if (space)
			g_string_append_c(out, ' ');
		space = FALSE;
		g_string_append_c(out, g_ascii_tolower(v->str[i]));
	}
	return g_string_free(out, FALSE);
}

/* A DN key under one name whichever library wrote it. */
static gchar *
dn_key(const GString *k)
{
	static const gchar *const alias[][2] = {
		{ "EMAILADDRESS", "EMAIL" }, { "E", "EMAIL" },
		{ "GIVENNAME", "GN" }, { "SURNAME", "SN" },
	};
	gchar *key = g_ascii_strup(g_strstrip(k->str), -1);
	gsize i;

	for (i = 0; i < G_N_ELEMENTS(alias); i++)
		if (strcmp(key, alias[i][0]) == 0) {
			g_free(key);
			return g_strdup(alias[i][1]);
		}
	return key;
}

/*
 * A DN as a list of DnAva, in the order written. Entries are K=V split
 * at unescaped commas, white space before keys skipped, "\c" is c. With
 * rfc4514 (GnuTLS's subject string), "\HH" is a byte, and a multi-valued
 * RDN ("+") or a value in hex ("#...") gives NULL: spice-gtk's subject
 * check never matches those either. NULL when malformed.
 */
GPtrArray *
paprika_dn_parse(const gchar *s, gboolean rfc4514)
{
	GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)dn_ava_free);
	GString *key = g_string_new(NULL), *value = g_string_new(NULL);
	gboolean in_value = FALSE;
	DnAva *a;

	for (;; s++) {
		GString *cur = in_value ? value : key;

		if (*s == '\0' || *s == ',') {
			if (!in_value || key->len == 0)
				goto fail;
			a = g_new0(DnAva, 1);
			a->key = dn_key(key);
			a->value = dn_canon(value);
			g_ptr_array_add(list, a);
			if (*a->key == '\0')
				goto fail;
			if (*s == '\0')
				break;
			g_string_truncate(key, 0);
			g_string_truncate(value, 0);
			in_value = FALSE;
		} else if (*s == '\\') {
			if (s[1] == '\0')
				goto fail;
			if (rfc4514 && g_ascii_isxdigit(s[1]) && g_ascii_isxdigit(s[2])) {
				g_string_append_c(cur, (gchar)(g_ascii_xdigit_value(s[1]) * 16 +
				    g_ascii_xdigit_value(s[2])));
				s += 2;
			} else
				g_string_append_c(cur, *++s);
		} else if (*s == '=' && !in_value)
			in_value = TRUE;
		else if (rfc4514 && in_value && (*s == '+' ||
		    (*s == '#' && value->len == 0)))
			goto fail;
		else if (*s != ' ' || cur->len > 0 || in_value)
			g_string_append_c(cur, *s);
	}
	g_string_free(key, TRUE);
	g_string_free(value, TRUE);
	return list;
fail:
	g_string_free(key, TRUE);
	g_string_free(value, TRUE);
	g_ptr_array_unref(list);
	return NULL;
}

/* TRUE when the DNs have the same entries in the same order. */
gboolean
paprika_dn_equal(GPtrArray *a, GPtrArray *b)
{
	guint i;

	if (a == NULL || b == NULL || a->len != b->len)
		return FALSE;
	for (i = 0; i < a->len; i++) {
		const DnAva *x = g_ptr_array_index(a, i), *y = g_ptr_array_index(b, i);

		if (strcmp(x->key, y->key) != 0 || strcmp(x->value, y->value) != 0)
			return FALSE;
	}
	return TRUE;
}
