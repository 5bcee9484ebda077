/* SPDX-License-Identifier: ISC */
/*
 * The office login portal: a few static files (HTML, script, style) that
 * use the same JSON API as every other client. They are read once at
 * start-up from portal_dir and served from memory; only names in that
 * directory's fixed list are served.
 *
 * The browser console (console.html) runs spice-html5, Debian's JavaScript
 * SPICE client: its ES modules are read the same way from spice_html5_dir,
 * a fixed list of them, and served under /spice-html5/ from the portal's
 * own origin, so the portal's CSP (default-src 'self') holds for them too.
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
	{ "console.html", "text/html; charset=utf-8", NULL, 0 },
	{ "console.js", "text/javascript; charset=utf-8", NULL, 0 },
	{ "console.css", "text/css; charset=utf-8", NULL, 0 },
};
#define PORTAL_NFILES	(sizeof(portal_files) / sizeof(portal_files[0]))

#define SPICE_JS	"text/javascript; charset=utf-8"

/* spice-html5 0.3's modules, main.js and what it imports. */
static struct portal_file spice_files[] = {
	{ "atKeynames.js", SPICE_JS, NULL, 0 },
	{ "bitmap.js", SPICE_JS, NULL, 0 },
	{ "cursor.js", SPICE_JS, NULL, 0 },
	{ "display.js", SPICE_JS, NULL, 0 },
	{ "enums.js", SPICE_JS, NULL, 0 },
	{ "filexfer.js", SPICE_JS, NULL, 0 },
	{ "inputs.js", SPICE_JS, NULL, 0 },
	{ "lz.js", SPICE_JS, NULL, 0 },
	{ "main.js", SPICE_JS, NULL, 0 },
	{ "playback.js", SPICE_JS, NULL, 0 },
	{ "png.js", SPICE_JS, NULL, 0 },
	{ "port.js", SPICE_JS, NULL, 0 },
	{ "quic.js", SPICE_JS, NULL, 0 },
	{ "resize.js", SPICE_JS, NULL, 0 },
	{ "simulatecursor.js", SPICE_JS, NULL, 0 },
	{ "spicearraybuffer.js", SPICE_JS, NULL, 0 },
	{ "spiceconn.js", SPICE_JS, NULL, 0 },
	{ "spicedataview.js", SPICE_JS, NULL, 0 },
	{ "spicemsg.js", SPICE_JS, NULL, 0 },
	{ "spicetype.js", SPICE_JS, NULL, 0 },
	{ "ticket.js", SPICE_JS, NULL, 0 },
	{ "utils.js", SPICE_JS, NULL, 0 },
	{ "webm.js", SPICE_JS, NULL, 0 },
	{ "wire.js", SPICE_JS, NULL, 0 },
	{ "thirdparty/jsbn.js", SPICE_JS, NULL, 0 },
	{ "thirdparty/prng4.js", SPICE_JS, NULL, 0 },
	{ "thirdparty/rng.js", SPICE_JS, NULL, 0 },
	{ "thirdparty/rsa.js", SPICE_JS, NULL, 0 },
	{ "thirdparty/sha1.js", SPICE_JS, NULL, 0 },
};
#define SPICE_NFILES	(sizeof(spice_files) / sizeof(spice_files[0]))

/* Reads every file of the list from dir; 0, or -1 with err. */
static int
portal_load_list(struct portal_file *files, size_t nfiles, const char *dir,
    char *err, size_t errlen)
{
	struct portal_file	*f;
	FILE			*fp;
	char			 path[1024];
	size_t			 i;

	for (i = 0; i < nfiles; i++) {
		f = &files[i];
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

/* Reads every file of the portal from dir; 0, or -1 with err. */
int
portal_load(const char *dir, char *err, size_t errlen)
{
	return portal_load_list(portal_files, PORTAL_NFILES, dir, err, errlen);
}

/* Reads spice-html5's modules from dir; 0, or -1 with err. */
int
portal_spice_load(const char *dir, char *err, size_t errlen)
{
	return portal_load_list(spice_files, SPICE_NFILES, dir, err, errlen);
}

static void
portal_send_from(struct http_req *req, const struct portal_file *files,
    size_t nfiles, const char *name)
{
	size_t	i;

	for (i = 0; i < nfiles; i++) {
		if (files[i].data != NULL && strcmp(files[i].name, name) == 0) {
			http_reply_data(req, 200, files[i].type, files[i].data,
			    files[i].len, NULL);
			return;
		}
	}
	http_reply_error(req, 404, "not_found", "no such page");
}

static void
portal_send(struct http_req *req, const char *name)
{
	portal_send_from(req, portal_files, PORTAL_NFILES, name);
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

/* GET /spice-html5/{file}: one of spice-html5's modules. */
void
portal_spice_file(struct http_req *req)
{
	portal_send_from(req, spice_files, SPICE_NFILES, req->params[0]);
}

/* GET /spice-html5/thirdparty/{file}: the modules main.js's imports use. */
void
portal_spice_thirdparty(struct http_req *req)
{
	char	name[HTTP_PARAM_MAX + sizeof("thirdparty/")];

	snprintf(name, sizeof(name), "thirdparty/%s", req->params[0]);
	portal_send_from(req, spice_files, SPICE_NFILES, name);
}
