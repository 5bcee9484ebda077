/* SPDX-License-Identifier: ISC */
/* Table-driven configuration: parsing, defaults, the dump (conftab.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conftab.h"
#include "log.h"
#include "netaddr.h"
#include "xmalloc.h"

/* One setting of the file: key in [section] on line. */
struct conftab_set {
	char		*section;	/* "limits", "pool office" */
	char		*key;		/* NULL: the section's first line */
	int		 line;
};

/* The value at off in obj: the table's offsets are into these objects. */
static void *
conftab_at(void *obj, size_t off)
{
	return (char *)obj + off;
}

static const void *
conftab_cat(const void *obj, size_t off)
{
	return (const char *)obj + off;
}

/* LIST's, NETS' and a CUSTOM array's count. */
static size_t
conftab_count(const void *obj, const struct conftab_key *k)
{
	size_t	n;

	memcpy(&n, conftab_cat(obj, k->off2), sizeof(n));
	return n;
}

/* "pool office" from "pool" and "office" (NULL for a plain section). */
static void
conftab_secname(char *buf, size_t len, const char *sect, const char *name)
{
	if (name != NULL)
		snprintf(buf, len, "%s %s", sect, name);
	else
		snprintf(buf, len, "%s", sect);
}

int
conftab_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void
conftab_store(void *obj, const struct conftab_key *k, uint64_t v)
{
	uint32_t	v32 = (uint32_t)v;

	if (k->size == sizeof(v32))
		memcpy(conftab_at(obj, k->off), &v32, sizeof(v32));
	else
		memcpy(conftab_at(obj, k->off), &v, sizeof(v));
}

static uint64_t
conftab_load_num(const void *obj, const struct conftab_key *k)
{
	uint32_t	v32;
	uint64_t	v;

	if (k->size == sizeof(v32)) {
		memcpy(&v32, conftab_cat(obj, k->off), sizeof(v32));
		return v32;
	}
	memcpy(&v, conftab_cat(obj, k->off), sizeof(v));
	return v;
}

/* A bound as the file would write it: "90s", "5m", "1d", "64k". */
static const char *
conftab_bound(char *buf, size_t len, enum conftab_type type, uint64_t v)
{
	static const struct {
		enum conftab_type	type;
		uint64_t		n;
		char			unit;
	} units[] = {
		{ CONFTAB_SECS, 86400, 'd' }, { CONFTAB_SECS, 3600, 'h' },
		{ CONFTAB_SECS, 60, 'm' }, { CONFTAB_SIZE, 1024 * 1024, 'm' },
		{ CONFTAB_SIZE, 1024, 'k' },
	};
	size_t	i;

	/* Under two minutes a duration stays in seconds: "60s", "90s". */
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (units[i].type == type && v % units[i].n == 0 &&
		    v >= (type == CONFTAB_SECS ? 120 : 1)) {
			snprintf(buf, len, "%llu%c", (unsigned long long)
			    (v / units[i].n), units[i].unit);
			return buf;
		}
	snprintf(buf, len, "%llu%s", (unsigned long long)v,
	    type == CONFTAB_SECS ? "s" : "");
	return buf;
}

/* UINT, SECS and SIZE: the number, then its bounds in the key's units. */
static int
conftab_number(void *obj, const struct conftab_key *k, const char *value,
    char *err, size_t errlen)
{
	char		msg[256], lo[32], hi[32];
	uint64_t	v;
	int		rc;

	if (k->type == CONFTAB_SECS)
		rc = config_seconds(value, UINT64_MAX, &v, msg, sizeof(msg));
	else if (k->type == CONFTAB_SIZE)
		rc = config_size(value, 0, UINT64_MAX, &v, msg, sizeof(msg));
	else
		rc = config_uint(value, 0, UINT64_MAX, &v, msg, sizeof(msg));
	if (rc == -1)
		return conftab_err(err, errlen, "%s: %s", k->name, msg);
	if (v < k->min || v > k->max)
		return conftab_err(err, errlen, "%s %s is out of range (%s to "
		    "%s)", k->name, value, conftab_bound(lo, sizeof(lo),
		    k->type, k->min), conftab_bound(hi, sizeof(hi), k->type,
		    k->max));
	conftab_store(obj, k, v);
	return 0;
}

/* ENUM: the index of value in k->words, or a message listing them. */
static int
conftab_enum(void *obj, const struct conftab_key *k, const char *value,
    char *err, size_t errlen)
{
	size_t	i, n, len;
	int	w;

	for (n = 0; k->words[n] != NULL; n++)
		if (strcmp(value, k->words[n]) == 0) {
			*(int *)conftab_at(obj, k->off) = (int)n;
			return 0;
		}
	w = snprintf(err, errlen, "%s \"%s\": use", k->name, value);
	for (i = 0; i < n && w >= 0 && (size_t)w < errlen; i++) {
		len = (size_t)w;
		w += snprintf(err + len, errlen - len, "%s %s",
		    i == 0 ? "" : i == n - 1 ? " or" : ",", k->words[i]);
	}
	return -1;
}

/* STR and CHARS: a string of the key's form. */
static int
conftab_string(void *obj, const struct conftab_key *k, const char *value,
    char *err, size_t errlen)
{
	char	**dst = conftab_at(obj, k->off);

	if ((k->valid != NULL && !k->valid(value)) || (k->type ==
	    CONFTAB_CHARS && (*value == '\0' || strlen(value) >= k->size)))
		return conftab_err(err, errlen, "%s \"%s\": %s", k->name,
		    value, k->form != NULL ? k->form : "not allowed");
	if (k->type == CONFTAB_CHARS) {
		strlcpy(conftab_at(obj, k->off), value, k->size);
		return 0;
	}
	free(*dst);
	*dst = value[0] == '\0' ? NULL : xstrdup(value);
	return 0;
}

/* NETS: "10.0.0.0/8, fd00::/8", added to the list or replacing it. */
static int
conftab_nets(void *obj, const struct conftab_key *k, const char *value,
    char *err, size_t errlen)
{
	struct netaddr_net	*nets = conftab_at(obj, k->off);
	size_t			*n = conftab_at(obj, k->off2), at;
	const char		*bad = NULL;
	int			 got;

	if ((k->flags & CONFTAB_NONE) && strcmp(value, "none") == 0) {
		*n = 0;
		return 0;
	}
	at = (k->flags & CONFTAB_ADD) ? *n : 0;
	if ((got = netaddr_nets_parse(value, nets + at, k->max - at,
	    &bad)) < 0)
		return conftab_err(err, errlen, "%s: bad network \"%s\" "
		    "(expected a comma-separated list such as 10.0.0.0/8, "
		    "fd00::/8; host bits must be zero; at most %llu)", k->name,
		    bad != NULL ? bad : value, (unsigned long long)k->max);
	*n = at + (size_t)got;
	return 0;
}

int
conftab_set(void *obj, const struct conftab_key *k, const char *value,
    char *err, size_t errlen)
{
	char	msg[256];
	int	b;

	switch (k->type) {
	case CONFTAB_STR:
	case CONFTAB_CHARS:
		return conftab_string(obj, k, value, err, errlen);
	case CONFTAB_BOOL:
		if (config_bool(value, &b, msg, sizeof(msg)) == -1)
			return conftab_err(err, errlen, "%s: %s", k->name, msg);
		*(int *)conftab_at(obj, k->off) = b;
		return 0;
	case CONFTAB_UINT:
	case CONFTAB_SECS:
	case CONFTAB_SIZE:
		return conftab_number(obj, k, value, err, errlen);
	case CONFTAB_ENUM:
		return conftab_enum(obj, k, value, err, errlen);
	case CONFTAB_LIST:
		if (conftab_list_add(value, conftab_at(obj, k->off),
		    conftab_at(obj, k->off2), msg, sizeof(msg)) == -1)
			return conftab_err(err, errlen, "%s: %s", k->name, msg);
		return 0;
	case CONFTAB_NETS:
		return conftab_nets(obj, k, value, err, errlen);
	case CONFTAB_CUSTOM:
		if (k->parse == NULL)
			return conftab_each(obj, k, value, k->item, err,
			    errlen);
		return k->parse(obj, k, value, err, errlen);
	}
	return conftab_err(err, errlen, "%s: no such type", k->name);
}

int
conftab_list_add(const char *value, char ***list, size_t *n, char *err,
    size_t errlen)
{
	char	*copy, *p, *item, *end;
	int	 ret = -1;

	copy = p = xstrdup(value);
	while ((item = strsep(&p, ",")) != NULL) {
		item += strspn(item, " \t");
		end = item + strlen(item);
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*item == '\0') {
			conftab_err(err, errlen, "empty item in \"%s\"", value);
			goto out;
		}
		if (*n >= CONFTAB_LIST_MAX) {
			conftab_err(err, errlen, "more than %d items",
			    CONFTAB_LIST_MAX);
			goto out;
		}
		*list = xreallocarray(*list, *n + 1, sizeof(**list));
		(*list)[(*n)++] = xstrdup(item);
	}
	ret = 0;
out:
	free(copy);
	return ret;
}

int
conftab_each(void *obj, const struct conftab_key *k, const char *value,
    int (*fn)(void *, const char *, char *, size_t), char *err,
    size_t errlen)
{
	char	**items = NULL, msg[256];
	size_t	  nitems = 0, i;
	int	  ret = -1;

	if (conftab_list_add(value, &items, &nitems, msg, sizeof(msg)) == -1) {
		conftab_err(err, errlen, "%s: %s", k->name, msg);
		goto out;
	}
	for (i = 0; i < nitems; i++)
		if (fn(obj, items[i], err, errlen) == -1)
			goto out;
	ret = 0;
out:
	conftab_list_free(items, nitems);
	return ret;
}

const char *
conftab_strs_show(const void *obj, const struct conftab_key *k, size_t i,
    char *buf, size_t len)
{
	char *const	*strs = conftab_cat(obj, k->off);

	return i < conftab_count(obj, k) ? strs[i] : NULL;
}

void
conftab_strs_free(void *obj, const struct conftab_key *k)
{
	char	**strs = conftab_at(obj, k->off);
	size_t	 *n = conftab_at(obj, k->off2);

	while (*n > 0)
		free(strs[--*n]);
}

void
conftab_list_free(char **list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static const struct conftab_key *
conftab_key_find(const struct conftab_key *keys, const char *name)
{
	for (; keys->name != NULL; keys++)
		if (strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

/* Appends " x", ", x" or " or x" (the last of n) to err. */
static void
conftab_choice(char *err, size_t errlen, size_t i, size_t n, const char *x)
{
	size_t	len = strlen(err);

	snprintf(err + len, errlen - len, "%s%s", i == 0 ? " " :
	    i == n - 1 ? " or " : ", ", x);
}

static int
conftab_unknown_section(const struct conftab_section *sections,
    const char *section, char *err, size_t errlen)
{
	char	 sec[64], name[80];
	size_t	 i, n;

	for (n = 0; sections[n].name != NULL; n++)
		;
	snprintf(err, errlen, "unknown section [%s]: use", section);
	for (i = 0; i < n; i++) {
		conftab_secname(sec, sizeof(sec), sections[i].name,
		    sections[i].arg);
		snprintf(name, sizeof(name), "[%s]", sec);
		conftab_choice(err, errlen, i, n, name);
	}
	return -1;
}

/* Sections of a few keys list them: "unknown ... in [roles]: use a or b". */
static int
conftab_unknown_key(const struct conftab_key *keys, const char *section,
    const char *name, char *err, size_t errlen)
{
	size_t	i, n;

	for (n = 0; keys[n].name != NULL; n++)
		;
	snprintf(err, errlen, "unknown setting \"%s\" in [%s]", name, section);
	if (n > 4)
		return -1;
	strlcat(err, ": use", errlen);
	for (i = 0; i < n; i++)
		conftab_choice(err, errlen, i, n, keys[i].name);
	return -1;
}

static void
conftab_record(struct conftab_file *f, const char *section, const char *key,
    int line)
{
	struct conftab_set	*s;

	f->set = xreallocarray(f->set, f->nset + 1, sizeof(*f->set));
	s = &f->set[f->nset++];
	s->section = xstrdup(section);
	s->key = key != NULL ? xstrdup(key) : NULL;
	s->line = line;
}

/* The last line that set key in section (NULL key: its first line), or 0. */
static int
conftab_find_line(const struct conftab_file *f, const char *section,
    const char *key)
{
	size_t	i;

	for (i = f->nset; i > 0; i--) {
		if (strcmp(f->set[i - 1].section, section) != 0)
			continue;
		if (key == NULL ? f->set[i - 1].key == NULL :
		    f->set[i - 1].key != NULL && strcmp(f->set[i - 1].key,
		    key) == 0)
			return f->set[i - 1].line;
	}
	return 0;
}

/* A named section's object for name: found, or added zeroed. */
static void *
conftab_get(const struct conftab_section *s, void *conf, const char *name,
    char *err, size_t errlen)
{
	char	**array = conftab_at(conf, s->array_off);
	size_t	 *n = conftab_at(conf, s->count_off), i;
	char	 *o;

	if (s->get != NULL)
		return s->get(conf, name, err, errlen);
	if ((s->name_ok != NULL && !s->name_ok(name)) || *name == '\0' ||
	    strlen(name) >= s->name_size) {
		conftab_err(err, errlen, "section name \"%s\": %s", name,
		    s->name_form != NULL ? s->name_form : "too long");
		return NULL;
	}
	for (i = 0; i < *n; i++)
		if (strcmp(*array + i * s->elem_size, name) == 0)
			return *array + i * s->elem_size;
	*array = xreallocarray(*array, *n + 1, s->elem_size);
	o = *array + (*n)++ * s->elem_size;
	memset(o, 0, s->elem_size);
	strlcpy(o, name, s->name_size);
	return o;
}

/* A named section's i-th object and its name, or NULL past the end. */
static void *
conftab_nth(const struct conftab_section *s, const void *conf, size_t i,
    const char **name)
{
	char *const	*array;
	size_t		 n;

	if (s->nth != NULL)
		return s->nth(conf, i, name);
	array = conftab_cat(conf, s->array_off);
	memcpy(&n, conftab_cat(conf, s->count_off), sizeof(n));
	if (i >= n)
		return NULL;
	*name = *array + i * s->elem_size;
	return *array + i * s->elem_size;
}

static int
conftab_handler(void *arg, int line, const char *section, const char *name,
    const char *value, char *err, size_t errlen)
{
	struct conftab_file		*f = arg;
	const struct conftab_section	*s;
	const struct conftab_key	*k;
	const char			*sub;
	char				 full[256];
	size_t				 len;
	void				*obj = f->conf;

	len = strcspn(section, " ");
	sub = section[len] == ' ' ? section + len + strspn(section + len, " ") :
	    NULL;
	for (s = f->sections; s->name != NULL; s++)
		if (strlen(s->name) == len &&
		    strncmp(s->name, section, len) == 0)
			break;
	if (s->name == NULL || (s->arg == NULL) != (sub == NULL))
		return conftab_unknown_section(f->sections, section, err,
		    errlen);
	if (sub != NULL && (obj = conftab_get(s, f->conf, sub, err,
	    errlen)) == NULL)
		return -1;
	conftab_secname(full, sizeof(full), s->name, sub);
	if ((k = conftab_key_find(s->keys, name)) == NULL)
		return conftab_unknown_key(s->keys, full, name, err, errlen);
	if (conftab_set(obj, k, value, err, errlen) == -1)
		return -1;
	if (conftab_find_line(f, full, NULL) == 0)
		conftab_record(f, full, NULL, line);
	conftab_record(f, full, k->name, line);
	return 0;
}

/* The defaults of the keys that [section] did not set. */
static void
conftab_apply(struct conftab_file *f, const struct conftab_section *s,
    const char *name, void *obj)
{
	const struct conftab_key	*k;
	char				 full[256], err[256];

	conftab_secname(full, sizeof(full), s->name, name);
	for (k = s->keys; k->name != NULL; k++) {
		if (k->def == NULL || conftab_find_line(f, full, k->name) != 0)
			continue;
		if (conftab_set(obj, k, k->def, err, sizeof(err)) == -1)
			fatalx("[%s] %s: bad default: %s", full, k->name, err);
	}
}

int
conftab_load(struct conftab_file *f, const char *path,
    const struct conftab_section *sections, void *conf, char *err,
    size_t errlen)
{
	const struct conftab_section	*s;
	const char			*name;
	void				*obj;
	size_t				 i;

	memset(f, 0, sizeof(*f));
	f->path = path;
	f->sections = sections;
	f->conf = conf;
	if (config_parse_lines(path, conftab_handler, f, err, errlen) == -1)
		return -1;
	for (s = sections; s->name != NULL; s++) {
		if (s->arg == NULL) {
			conftab_apply(f, s, NULL, conf);
			continue;
		}
		for (i = 0; (obj = conftab_nth(s, conf, i, &name)) != NULL; i++)
			conftab_apply(f, s, name, obj);
	}
	return 0;
}

void
conftab_done(struct conftab_file *f)
{
	size_t	i;

	for (i = 0; i < f->nset; i++) {
		free(f->set[i].section);
		free(f->set[i].key);
	}
	free(f->set);
	f->set = NULL;
	f->nset = 0;
}

int
conftab_line(const struct conftab_file *f, const char *sect,
    const char *name, const char *key)
{
	char	full[256];

	conftab_secname(full, sizeof(full), sect, name);
	return conftab_find_line(f, full, key);
}

int
conftab_error(const struct conftab_file *f, const char *sect,
    const char *name, const char *key, char *err, size_t errlen,
    const char *fmt, ...)
{
	va_list	ap;
	int	line, n;

	if ((line = conftab_line(f, sect, name, key)) == 0)
		line = conftab_line(f, sect, name, NULL);
	if (line > 0)
		n = snprintf(err, errlen, "%s:%d: ", f->path, line);
	else
		n = snprintf(err, errlen, "%s: ", f->path);
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* A CUSTOM key: its values a line each, or joined on one. */
static void
conftab_dump_custom(const void *obj, const struct conftab_key *k, FILE *fp)
{
	char		 buf[256];
	const char	*v;
	size_t		 i;

	for (i = 0; (v = k->show(obj, k, i, buf, sizeof(buf))) != NULL; i++) {
		if (i > 0 && (k->flags & CONFTAB_JOIN))
			fprintf(fp, ", %s", v);
		else
			fprintf(fp, "%s%s = %s", i > 0 ? "\n" : "", k->name, v);
	}
	if (i == 0)
		fprintf(fp, "%s = ", k->name);
	fputc('\n', fp);
}

static void
conftab_dump_key(const void *obj, const struct conftab_key *k, FILE *fp)
{
	const void		*p = conftab_cat(obj, k->off);
	const struct netaddr_net *nets = p;
	char *const		*list;
	char			 buf[NETADDR_STRLEN];
	size_t			 i, n;

	if (k->type == CONFTAB_CUSTOM) {
		conftab_dump_custom(obj, k, fp);
		return;
	}
	fprintf(fp, "%s = ", k->name);
	switch (k->type) {
	case CONFTAB_STR:
		if (*(char *const *)p != NULL)
			fputs(*(char *const *)p, fp);
		break;
	case CONFTAB_CHARS:
		fputs(p, fp);
		break;
	case CONFTAB_BOOL:
		fputs(*(const int *)p ? "yes" : "no", fp);
		break;
	case CONFTAB_ENUM:
		fputs(k->words[*(const int *)p], fp);
		break;
	case CONFTAB_LIST:
		list = *(char **const *)p;
		for (i = 0, n = conftab_count(obj, k); i < n; i++)
			fprintf(fp, "%s%s", i > 0 ? ", " : "", list[i]);
		break;
	case CONFTAB_NETS:
		for (i = 0, n = conftab_count(obj, k); i < n; i++)
			fprintf(fp, "%s%s", i > 0 ? ", " : "",
			    netaddr_net_str(&nets[i], buf, sizeof(buf)));
		if (n == 0 && (k->flags & CONFTAB_NONE))
			fputs("none", fp);
		break;
	default:
		fprintf(fp, "%llu%s", (unsigned long long)conftab_load_num(obj,
		    k), k->type == CONFTAB_SECS ? "s" : "");
		break;
	}
	fputc('\n', fp);
}

static void
conftab_dump_section(const struct conftab_section *s, const char *name,
    const void *obj, int *first, FILE *fp)
{
	const struct conftab_key	*k;

	fprintf(fp, "%s[%s%s%s]\n", *first ? "" : "\n", s->name,
	    name != NULL ? " " : "", name != NULL ? name : "");
	*first = 0;
	for (k = s->keys; k->name != NULL; k++)
		conftab_dump_key(obj, k, fp);
}

void
conftab_dump(const struct conftab_section *sections, const void *conf,
    FILE *fp)
{
	const struct conftab_section	*s;
	const char			*name;
	const void			*obj;
	size_t				 i;
	int				 first = 1;

	for (s = sections; s->name != NULL; s++) {
		if (s->arg == NULL) {
			conftab_dump_section(s, NULL, conf, &first, fp);
			continue;
		}
		for (i = 0; (obj = conftab_nth(s, conf, i, &name)) != NULL; i++)
			conftab_dump_section(s, name, obj, &first, fp);
	}
}

static void
conftab_free_keys(void *obj, const struct conftab_key *keys)
{
	char	*p;

	for (; keys->name != NULL; keys++) {
		p = conftab_at(obj, keys->off);
		if (keys->type == CONFTAB_STR) {
			free(*(char **)(void *)p);
			*(char **)(void *)p = NULL;
		} else if (keys->type == CONFTAB_LIST) {
			conftab_list_free(*(char ***)(void *)p,
			    conftab_count(obj, keys));
			*(char ***)(void *)p = NULL;
			*(size_t *)conftab_at(obj, keys->off2) = 0;
		} else if (keys->type == CONFTAB_CUSTOM && keys->free != NULL)
			keys->free(obj, keys);
	}
}

void
conftab_free(const struct conftab_section *sections, void *conf)
{
	const struct conftab_section	*s;
	const char			*name;
	void				*obj;
	size_t				 i;

	for (s = sections; s->name != NULL; s++) {
		if (s->arg == NULL) {
			conftab_free_keys(conf, s->keys);
			continue;
		}
		for (i = 0; (obj = conftab_nth(s, conf, i, &name)) != NULL; i++)
			conftab_free_keys(obj, s->keys);
		if (s->nth != NULL)
			continue;
		free(*(void **)conftab_at(conf, s->array_off));
		*(void **)conftab_at(conf, s->array_off) = NULL;
		*(size_t *)conftab_at(conf, s->count_off) = 0;
	}
}

static const char *const conftab_type_names[] = {
	"string", "name", "yes/no", "number", "seconds", "bytes", "word",
	"list", "networks", "special"
};

void
conftab_list(const struct conftab_section *sections, FILE *fp)
{
	const struct conftab_section	*s;
	const struct conftab_key	*k;
	char				 sec[64], lo[32], hi[32];

	for (s = sections; s->name != NULL; s++) {
		conftab_secname(sec, sizeof(sec), s->name, s->arg);
		for (k = s->keys; k->name != NULL; k++) {
			fprintf(fp, "[%s] %s: %s", sec, k->name,
			    conftab_type_names[k->type]);
			if (k->type == CONFTAB_UINT ||
			    k->type == CONFTAB_SECS || k->type == CONFTAB_SIZE)
				fprintf(fp, " %s to %s", conftab_bound(lo,
				    sizeof(lo), k->type, k->min),
				    conftab_bound(hi, sizeof(hi), k->type,
				    k->max));
			fprintf(fp, "; default %s; %s\n", k->def != NULL ?
			    k->def : "none", k->doc != NULL ? k->doc : "");
		}
	}
}
