/*
 * The office login portal: a few static files (HTML, script, style) that
 * use the same JSON API as every other client. They are read once at
 * start-up from portal_dir and served from memory; only names in that
 * directory's fixed list are served.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"

#define PORTAL_FILE_MAX	(256 * 1024)

struct portal_file {
	const char	*name;
	const char	*type;
	char		*data;
	size_t		 len;
};

static struct portal_file portal_files[] = {
	{ "index.html", "text/html; charset=utf-8", NULL, 0 },
	{ "portal.js", "text/javascript; charset=utf-8", NULL, 0 },
	{ "portal.css", "text/css; charset=utf-8", NULL, 0 },
	{ "helpdesk.html", "text/html; charset=utf-8", NULL, 0 },
	{ "helpdesk.js", "text/javascript; charset=utf-8", NULL, 0 },
	{ "helpdesk.css", "text/css; charset=utf-8", NULL, 0 },
};
#define PORTAL_NFILES	(sizeof(portal_files) / sizeof(portal_files[0]))

/* Reads every file of the portal from dir; 0, or -1 with err. */
int
portal_load(const char *dir, char *err, size_t errlen)
{
	struct portal_file	*f;
	FILE			*fp;
	char			 path[1024];
	size_t			 i;

	for (i = 0; i < PORTAL_NFILES; i++) {
		f = &portal_files[i];
		snprintf(path, sizeof(path), "%s/%s", dir, f->name);
		if ((fp = fopen(path, "r")) == NULL) {
			snprintf(err, errlen, "portal: %s: %s", path,
			    strerror(errno));
			return -1;
		}
		free(f->data);
		f->data = xmalloc(PORTAL_FILE_MAX);
		f->len = fread(f->data, 1, PORTAL_FILE_MAX, fp);
		fclose(fp);
		if (f->len == PORTAL_FILE_MAX) {
			snprintf(err, errlen, "portal: %s: larger than %d bytes",
			    path, PORTAL_FILE_MAX);
			return -1;
		}
	}
	return 0;
}

static void
portal_send(struct http_req *req, const char *name)
{
	size_t	i;

	for (i = 0; i < PORTAL_NFILES; i++) {
		if (portal_files[i].data != NULL &&
		    strcmp(portal_files[i].name, name) == 0) {
			http_reply_data(req, 200, portal_files[i].type,
			    portal_files[i].data, portal_files[i].len, NULL);
			return;
		}
	}
	http_reply_error(req, 404, "not_found", "no such page");
}

void
portal_index(struct http_req *req)
{
	portal_send(req, "index.html");
}

void
portal_file(struct http_req *req)
{
	portal_send(req, req->params[0]);
}
