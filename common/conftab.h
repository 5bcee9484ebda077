/* SPDX-License-Identifier: ISC */
/*
 * Configuration tables: each daemon describes every key of its INI file
 * once (section, name, type, bounds, default, a line of documentation and
 * where the value lives), and this module parses the file, applies the
 * defaults, frees the values and prints the -n -v dump from that table.
 *
 * A key's value lives at an offset into its section's object: the daemon's
 * config struct for a plain section ([limits]), or the struct of one
 * instance for a named section ([pool NAME]). A key the file does not set
 * gets its default once the whole file is read, so lines that add up (a
 * list, several listen lines) replace the default rather than add to it.
 * Checks that need the whole file name the line the key they are about was
 * set on with conftab_error.
 */
#ifndef PAPRIKA_CONFTAB_H
#define PAPRIKA_CONFTAB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum conftab_type {
	CONFTAB_STR,		/* char *; "" sets NULL */
	CONFTAB_CHARS,		/* char[size], not empty */
	CONFTAB_BOOL,		/* int: yes/no, true/false, on/off, 1/0 */
	CONFTAB_UINT,		/* unsigned, int or size_t, min to max */
	CONFTAB_SECS,		/* the same, a duration: 30, 30s, 5m, 2h, 1d */
	CONFTAB_SIZE,		/* the same, bytes: 65536, 64k, 1m */
	CONFTAB_ENUM,		/* int: the index of one of words */
	CONFTAB_LIST,		/* char ** and a size_t count; adds up */
	CONFTAB_NETS,		/* struct netaddr_net[max], a size_t count */
	CONFTAB_CUSTOM,		/* parse (or item), show and free hooks */
};

struct conftab_key;

/* Sets obj's value of k from value; 0, or -1 with a message in err. */
typedef int	conftab_parse_fn(void *obj, const struct conftab_key *k,
		    const char *value, char *err, size_t errlen);
/* The i-th value of k as the file would write it, or NULL past the end. */
typedef const char *conftab_show_fn(const void *obj,
		    const struct conftab_key *k, size_t i, char *buf,
		    size_t len);
/* Frees what parse allocated. */
typedef void	conftab_free_fn(void *obj, const struct conftab_key *k);
/* Whether a STR or CHARS value has the key's form. */
typedef int	conftab_valid_fn(const char *value);

struct conftab_key {
	const char		*name;
	enum conftab_type	 type;
	size_t			 off;		/* the value in the object */
	size_t			 size;		/* its size */
	size_t			 off2;		/* LIST, NETS: the count */
							/* CUSTOM: the hooks' */
	uint64_t		 min, max;	/* UINT, SECS, SIZE */
	const char *const	*words;		/* ENUM, NULL-terminated */
	conftab_valid_fn	*valid;		/* STR, CHARS: NULL for any */
	const char		*form;		/* what valid wants, in words */
	conftab_parse_fn	*parse;		/* CUSTOM */
	/* CUSTOM without parse: the value is a LIST, each item for item. */
	int			(*item)(void *obj, const char *item,
				    char *err, size_t errlen);
	conftab_show_fn		*show;		/* CUSTOM */
	conftab_free_fn		*free;		/* CUSTOM, may be NULL */
	unsigned		 flags;
#define CONFTAB_JOIN		0x1	/* CUSTOM: values on one line, a, b */
#define CONFTAB_ADD		0x2	/* NETS: lines add up */
#define CONFTAB_NONE		0x4	/* NETS: "none" is the empty list */
	const char		*def;		/* as in the file; NULL: none */
	const char		*doc;		/* one line */
};

/*
 * Table rows. T is the object's type (the config struct, or a named
 * section's struct), F the field in it.
 */
#define CONFTAB_KEY_STR(N, T, F, DEF, DOC) \
	{ .name = N, .type = CONFTAB_STR, .off = offsetof(T, F), \
	  .def = DEF, .doc = DOC }
#define CONFTAB_KEY_CHECKED(N, TYPE, T, F, VALID, FORM, DEF, DOC) \
	{ .name = N, .type = TYPE, .off = offsetof(T, F), \
	  .size = sizeof(((T *)0)->F), .valid = VALID, .form = FORM, \
	  .def = DEF, .doc = DOC }
#define CONFTAB_KEY_BOOL(N, T, F, DEF, DOC) \
	{ .name = N, .type = CONFTAB_BOOL, .off = offsetof(T, F), \
	  .def = DEF, .doc = DOC }
#define CONFTAB_KEY_NUM(N, TYPE, T, F, MIN, MAX, DEF, DOC) \
	{ .name = N, .type = TYPE, .off = offsetof(T, F), \
	  .size = sizeof(((T *)0)->F), .min = MIN, .max = MAX, \
	  .def = DEF, .doc = DOC }
#define CONFTAB_KEY_UINT(N, T, F, MIN, MAX, DEF, DOC) \
	CONFTAB_KEY_NUM(N, CONFTAB_UINT, T, F, MIN, MAX, DEF, DOC)
#define CONFTAB_KEY_SECS(N, T, F, MIN, MAX, DEF, DOC) \
	CONFTAB_KEY_NUM(N, CONFTAB_SECS, T, F, MIN, MAX, DEF, DOC)
#define CONFTAB_KEY_SIZE(N, T, F, MIN, MAX, DEF, DOC) \
	CONFTAB_KEY_NUM(N, CONFTAB_SIZE, T, F, MIN, MAX, DEF, DOC)
#define CONFTAB_KEY_ENUM(N, T, F, WORDS, DEF, DOC) \
	{ .name = N, .type = CONFTAB_ENUM, .off = offsetof(T, F), \
	  .words = WORDS, .def = DEF, .doc = DOC }
#define CONFTAB_KEY_LIST(N, T, F, NF, DOC) \
	{ .name = N, .type = CONFTAB_LIST, .off = offsetof(T, F), \
	  .off2 = offsetof(T, NF), .doc = DOC }
#define CONFTAB_KEY_CUSTOM(N, PARSE, SHOW, FREE, DEF, DOC) \
	{ .name = N, .type = CONFTAB_CUSTOM, .parse = PARSE, .show = SHOW, \
	  .free = FREE, .def = DEF, .doc = DOC }
#define CONFTAB_KEY_NETS(N, T, F, NF, FLAGS, DEF, DOC) \
	{ .name = N, .type = CONFTAB_NETS, .off = offsetof(T, F), \
	  .off2 = offsetof(T, NF), .max = sizeof(((T *)0)->F) / \
	  sizeof(((T *)0)->F[0]), .flags = FLAGS, .def = DEF, .doc = DOC }
/* CUSTOM with the value at F and F2 (the hooks' business), and flags. */
#define CONFTAB_KEY_AT(N, T, F, F2, PARSE, SHOW, FREE, FLAGS, DEF, DOC) \
	{ .name = N, .type = CONFTAB_CUSTOM, .off = offsetof(T, F), \
	  .off2 = offsetof(T, F2), .parse = PARSE, .show = SHOW, \
	  .free = FREE, .flags = FLAGS, .def = DEF, .doc = DOC }
#define CONFTAB_KEY_ITEMS(N, ITEM, SHOW, FREE, DOC) \
	{ .name = N, .type = CONFTAB_CUSTOM, .item = ITEM, .show = SHOW, \
	  .free = FREE, .doc = DOC }
#define CONFTAB_KEY_END		{ .name = NULL }

/* Items of one LIST value at most. */
#define CONFTAB_LIST_MAX	256

/*
 * A section: plain ([limits], its keys in the config struct), or named
 * ([pool NAME], arg "NAME"), each name an object of its own. Named
 * sections are kept either in a growing array in the config struct, of
 * structs that start with char name[], or by the get and nth hooks.
 */
struct conftab_section {
	const char		*name;		/* "limits", or "pool" */
	const char		*arg;		/* NULL, or "NAME" */
	const struct conftab_key *keys;
	size_t			 array_off;	/* T * in the config struct */
	size_t			 count_off;	/* its size_t count */
	size_t			 elem_size;	/* sizeof(T) */
	size_t			 name_size;	/* sizeof(T.name) */
	conftab_valid_fn	*name_ok;	/* NULL: any */
	const char		*name_form;	/* what name_ok wants */
	/* Or hooks: the object for name, found or added (NULL: -1, err). */
	void			*(*get)(void *conf, const char *name,
				    char *err, size_t errlen);
	/* The i-th object and its name; NULL past the end. */
	void			*(*nth)(const void *conf, size_t i,
				    const char **name);
};
#define CONFTAB_SECTION(N, KEYS) \
	{ .name = N, .keys = KEYS }
#define CONFTAB_SECTION_ARRAY(N, ARG, KEYS, T, F, NF, VALID, FORM) \
	{ .name = N, .arg = ARG, .keys = KEYS, .array_off = offsetof(T, F), \
	  .count_off = offsetof(T, NF), .elem_size = sizeof(*((T *)0)->F), \
	  .name_size = sizeof(((T *)0)->F->name), .name_ok = VALID, \
	  .name_form = FORM }
#define CONFTAB_SECTION_HOOKS(N, ARG, KEYS, GET, NTH) \
	{ .name = N, .arg = ARG, .keys = KEYS, .get = GET, .nth = NTH }
#define CONFTAB_SECTION_END	{ .name = NULL }

/* Where each key of one file was set, for the checks after parsing. */
struct conftab_set;
struct conftab_file {
	const char			*path;
	const struct conftab_section	*sections;	/* name NULL ends */
	void				*conf;
	struct conftab_set		*set;
	size_t				 nset;
};

/*
 * Parses path into conf (whose own defaults the caller has set) and then
 * gives every key the file did not set its default; 0, or -1 with
 * "path:line: message" in err. f must be conftab_done'd either way.
 */
int	conftab_load(struct conftab_file *f, const char *path,
	    const struct conftab_section *sections, void *conf, char *err,
	    size_t errlen);
void	conftab_done(struct conftab_file *f);
/* The line that set key (NULL: the section's first) in [sect name]; 0. */
int	conftab_line(const struct conftab_file *f, const char *sect,
	    const char *name, const char *key);
/*
 * "path:line: " + fmt into err; the line that set key, else the first of
 * the section, else none ("path: "). Returns -1.
 */
int	conftab_error(const struct conftab_file *f, const char *sect,
	    const char *name, const char *key, char *err, size_t errlen,
	    const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Sets one key of a section's object from a value as in the file. */
int	conftab_set(void *obj, const struct conftab_key *k, const char *value,
	    char *err, size_t errlen);
/* Prints every section and key with its value, as a file would set it. */
void	conftab_dump(const struct conftab_section *sections, const void *conf,
	    FILE *fp);
/* Frees the values of every key of every section, and the arrays. */
void	conftab_free(const struct conftab_section *sections, void *conf);
/* Prints "[section] key: type, bounds; default; doc" a line per key. */
void	conftab_list(const struct conftab_section *sections, FILE *fp);

/* Formats a message into err; returns -1, for "return conftab_err(...)". */
int	conftab_err(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Splits value as a LIST and hands each item to fn; 0 or -1 with err. */
int	conftab_each(void *obj, const struct conftab_key *k, const char *value,
	    int (*fn)(void *obj, const char *item, char *err, size_t errlen),
	    char *err, size_t errlen);
/*
 * show and free hooks for a CUSTOM key kept as char *F[] with a size_t
 * count F2 (CONFTAB_KEY_AT): lines that add up to a fixed array.
 */
const char *conftab_strs_show(const void *obj, const struct conftab_key *k,
	    size_t i, char *buf, size_t len);
void	conftab_strs_free(void *obj, const struct conftab_key *k);
/* Frees a LIST's items (the hooks of lists kept elsewhere use it). */
void	conftab_list_free(char **list, size_t n);
/* Splits "a, b ,c" and adds the items to *list; -1 on an empty item. */
int	conftab_list_add(const char *value, char ***list, size_t *n,
	    char *err, size_t errlen);

#endif
