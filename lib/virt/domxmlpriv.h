/* SPDX-License-Identifier: ISC */
/*
 * What domxml.c shares with domxml-clone.c: one edit of a domain's XML
 * and the helpers that make it. Only for those two; the rest uses
 * domxml.h.
 */
#ifndef PAPRIKA_DOMXMLPRIV_H
#define PAPRIKA_DOMXMLPRIV_H

#include <libxml/tree.h>

#define DOMXML_XML_MAX		(4 * 1024 * 1024)

#define X(s)	((const xmlChar *)(s))

/* One edit: the document and what went wrong. */
struct domxml_edit {
	xmlDocPtr	 doc;
	xmlNodePtr	 root;		/* <domain> */
	int		 nomem;		/* an allocation failed */
	char		*err;
	size_t		 errlen;
};

/* An empty edit whose errors go to err. */
void		 domxml_begin(struct domxml_edit *e, char *err, size_t errlen);
void		 domxml_error(struct domxml_edit *e, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
/* Whether n is the element name, outside any namespace. */
int		 domxml_is(xmlNodePtr n, const char *name);
/* The first child element of parent called name, or NULL. */
xmlNodePtr	 domxml_child(xmlNodePtr parent, const char *name);
/* Whether attribute attr of n has value. */
int		 domxml_attr_is(xmlNodePtr n, const char *attr,
		    const char *value);
/* A new child element of parent (NULL: noted as out of memory). */
xmlNodePtr	 domxml_add(struct domxml_edit *e, xmlNodePtr parent,
		    const char *name);
/* The child element name of parent, added when missing. */
xmlNodePtr	 domxml_need(struct domxml_edit *e, xmlNodePtr parent,
		    const char *name);
void		 domxml_set(struct domxml_edit *e, xmlNodePtr n,
		    const char *attr, const char *value);
/* Unlinks and frees n with the blank line before it. */
void		 domxml_drop(xmlNodePtr n);
/* Parses xml, a <domain>, into e; 0, or -1 with the error set. */
int		 domxml_open(struct domxml_edit *e, const char *xml);
/* e's document as UTF-8 to free, or NULL. */
char		*domxml_dump(struct domxml_edit *e);

#endif
