/* SPDX-License-Identifier: ISC */
/*
 * paprika-helpdesk: the helpdesk console's views and actions for scripts,
 * over the broker's HTTPS API with a token. A program of its own, not a
 * paprikactl command: it runs on a helpdesk person's machine and needs only
 * OpenSSL and jansson, where paprikactl belongs on the broker's and the
 * gateways' hosts and links what their state needs.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <readpassphrase.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "brokerhttp.h"

#define PASSWORD_MAX	256	/* the broker's limit */
#define TOKEN_LEN	64

static struct brokerhttp	 broker;
static int			 json_out;
static const char		*token_file;
static char			 token[TOKEN_LEN + 1];
static int			 fresh;		/* logged in by -l */

/* The audit search's filters, passed as they are. */
static const char	*filter_names[] = { "user", "action", "target",
			    "result", "since", "until", "limit", "before" };
#define NFILTERS	(sizeof filter_names / sizeof filter_names[0])
static const char	*filters[NFILTERS];

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: paprika-helpdesk [-h] [-b URL] [--ca FILE] "
	    "[--token-file FILE]\n"
	    "         [-l NAME] [--json] command [arguments]\n"
	    "\n"
	    "  login                log in as -l NAME, keep the token in "
	    "--token-file\n"
	    "  logout               end the token and remove its file\n"
	    "  me                   who the token belongs to\n"
	    "  sessions             every session\n"
	    "  pools                every pool's use and every desktop\n"
	    "  user NAME            a user's sessions, desktops, logins, "
	    "lockout\n"
	    "  audit [--user U] [--action A] [--target T] [--result R]\n"
	    "        [--since TIME] [--until TIME] [--limit N] [--before ID]\n"
	    "                       search the audit log, newest first\n"
	    "  gpus                 every host's GPUs and their verdicts\n"
	    "  disconnect SESSION   drop a session's client, keep the session\n"
	    "  end SESSION          end a session\n"
	    "  force-logout NAME    end every login and session of a user\n"
	    "  unlock NAME          forget a user name's failed logins\n"
	    "  reset|reboot|shutdown|start POOL DESKTOP\n"
	    "                       power actions on a desktop\n"
	    "  repair POOL DESKTOP  clean a broken desktop again, then free it\n"
	    "  gpu-clear HOST DEVICE\n"
	    "                       put a quarantined GPU back in service\n"
	    "\n"
	    "The broker's URL, its CA and the token may also come from\n"
	    "PAPRIKA_BROKER, PAPRIKA_CA, PAPRIKA_TOKEN and PAPRIKA_TOKEN_FILE.\n");
	exit(2);
}

/* Ends a login of -l, best effort: the command is over. */
static void
logout_fresh(void)
{
	struct brokerhttp_reply	r;
	char			err[512];

	if (!fresh)
		return;
	fresh = 0;
	if (brokerhttp_request(&broker, "POST", "/api/v1/logout", NULL, &r,
	    err, sizeof err) == 0)
		brokerhttp_reply_clear(&r);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list	ap;

	fflush(stdout);
	fprintf(stderr, "paprika-helpdesk: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	logout_fresh();
	explicit_bzero(token, sizeof token);
	exit(1);
}

/* Writes s with control characters as '?': it comes from the broker. */
static void
pr(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		putchar(iscntrl((unsigned char)*s) ? '?' : *s);
}

static const char *
str(json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* A time of the API (Unix seconds) in the viewer's zone; "-" for none. */
static const char *
when(json_t *o, const char *key)
{
	static char	 buf[32];
	struct tm	 tm;
	time_t		 t = (time_t)json_integer_value(json_object_get(o, key));

	if (t <= 0 || localtime_r(&t, &tm) == NULL)
		return "-";
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

/* Appends s percent-encoded (all but unreserved characters) to f. */
static void
urlenc(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (isalnum((unsigned char)*s) || strchr("-._~", *s) != NULL)
			fputc(*s, f);
		else
			fprintf(f, "%%%02X", (unsigned char)*s);
	}
}

/* A path from a format where each %s is an argument, encoded. */
static char *
path_of(const char *fmt, ...)
{
	va_list	 ap;
	char	*p = NULL;
	size_t	 len = 0;
	FILE	*f;

	if ((f = open_memstream(&p, &len)) == NULL)
		die("out of memory");
	va_start(ap, fmt);
	for (; *fmt != '\0'; fmt++) {
		if (fmt[0] == '%' && fmt[1] == 's') {
			urlenc(f, va_arg(ap, const char *));
			fmt++;
		} else
			fputc(*fmt, f);
	}
	va_end(ap);
	if (fclose(f) != 0)
		die("out of memory");
	return p;
}

/*
 * Sends the request and returns the reply's JSON when the status is 2xx;
 * otherwise says what went wrong in words and exits.
 */
static json_t *
call(const char *method, const char *path, json_t *body)
{
	struct brokerhttp_reply	 r;
	json_t			*e, *j;
	const char		*code, *msg;
	char			 err[512];

	if (brokerhttp_request(&broker, method, path, body, &r, err,
	    sizeof err) == -1)
		die("%s", err);
	if (r.status >= 200 && r.status < 300 && r.json != NULL) {
		j = json_incref(r.json);
		brokerhttp_reply_clear(&r);
		return j;
	}
	e = json_object_get(r.json, "error");
	code = str(e, "code");
	msg = str(e, "message");
	if (r.json == NULL || *code == '\0')
		die("the broker answered %d to %s %s, without an error in "
		    "JSON", r.status, method, path);
	switch (r.status) {
	case 401:
		if (strcmp(code, "unauthenticated") == 0)
			die("the broker refused the token: it expired or was "
			    "ended; log in again (401 %s)", code);
		break;
	case 403:
		if (strcmp(code, "forbidden") == 0)
			die("not allowed: %s (403 %s)", msg, code);
		break;
	}
	die("%s (%d %s)", msg, r.status, code);
}

static void
print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
}

/* Reads the password (then, if asked, the second factor) from the terminal,
 * or a line each of standard input when it is not one. */
static void
read_secret(const char *prompt, char *buf, size_t size)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;

	if (isatty(STDIN_FILENO)) {
		if (readpassphrase(prompt, buf, size, RPP_REQUIRE_TTY) == NULL)
			die("cannot read from the terminal: %s",
			    strerror(errno));
	} else {
		if ((n = getline(&line, &cap, stdin)) == -1)
			die("nothing on standard input for \"%s\"", prompt);
		line[strcspn(line, "\r\n")] = '\0';
		if (strlcpy(buf, line, size) >= size)
			buf[0] = '\0';
		explicit_bzero(line, cap);
		free(line);
	}
	if (buf[0] == '\0')
		die("empty or too long: \"%s\"", prompt);
}

/* Logs in as user; the token goes to the global token. */
static void
login(const char *user)
{
	struct brokerhttp_reply	 r;
	json_t			*body, *e, *pw, *code = NULL;
	char			 password[PASSWORD_MAX + 2], totp[40];
	char			 prompt[128], err[512];
	const char		*t, *ecode;

	snprintf(prompt, sizeof prompt, "Password for %s: ", user);
	read_secret(prompt, password, sizeof password);
	if ((pw = json_string(password)) == NULL ||
	    (body = json_pack("{s:s, s:O}", "username", user, "password",
	    pw)) == NULL)
		die("the password is not UTF-8");
	explicit_bzero(password, sizeof password);
	for (;;) {
		if (brokerhttp_request(&broker, "POST", "/api/v1/login", body,
		    &r, err, sizeof err) == -1)
			die("%s", err);
		e = json_object_get(r.json, "error");
		ecode = str(e, "code");
		if (r.status != 401 || strcmp(ecode, "totp_required") != 0 ||
		    code != NULL)
			break;
		brokerhttp_reply_clear(&r);
		read_secret("Code: ", totp, sizeof totp);
		code = json_string(totp);
		explicit_bzero(totp, sizeof totp);
		if (code == NULL)
			die("the code is not UTF-8");
		json_object_set(body, "totp", code);
	}
	/* jansson frees them unwiped: wipe them here. */
	explicit_bzero((char *)json_string_value(pw), json_string_length(pw));
	if (code != NULL)
		explicit_bzero((char *)json_string_value(code),
		    json_string_length(code));
	json_decref(code);
	json_decref(pw);
	json_decref(body);
	if (r.status == 401)
		die("login refused: wrong user name, password or code "
		    "(401 %s)", ecode);
	if (r.status == 429)
		die("login refused: %s (429 %s)", str(e, "message"), ecode);
	t = str(r.json, "token");
	if (r.status != 200 || strlen(t) != TOKEN_LEN)
		die("login refused: %s (%d %s)", str(e, "message"), r.status,
		    ecode);
	memcpy(token, t, TOKEN_LEN + 1);
	explicit_bzero((char *)t, TOKEN_LEN);
	explicit_bzero(r.body, r.len);
	brokerhttp_reply_clear(&r);
}

/* The token from PAPRIKA_TOKEN, or from the token file. */
static void
load_token(void)
{
	const char	*env = getenv("PAPRIKA_TOKEN");
	char		 buf[TOKEN_LEN + 2];
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	if (env != NULL && *env != '\0') {
		if (strlcpy(token, env, sizeof token) != TOKEN_LEN)
			die("PAPRIKA_TOKEN is not a token (64 hexadecimal "
			    "characters)");
		return;
	}
	if (token_file == NULL)
		die("no token: log in first (paprika-helpdesk -l NAME "
		    "--token-file FILE login), or set PAPRIKA_TOKEN");
	if ((fd = open(token_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		die("%s: %s (log in first: paprika-helpdesk -l NAME "
		    "--token-file %s login)", token_file, strerror(errno),
		    token_file);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0)
		die("%s: not a regular file only its owner may read",
		    token_file);
	n = read(fd, buf, sizeof buf);
	close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n != TOKEN_LEN || strspn(buf, "0123456789abcdef") < TOKEN_LEN)
		die("%s: not a token", token_file);
	memcpy(token, buf, TOKEN_LEN);
	token[TOKEN_LEN] = '\0';
	explicit_bzero(buf, sizeof buf);
}

static void
save_token(void)
{
	int	fd;

	if (token_file == NULL)
		die("login needs --token-file FILE (or PAPRIKA_TOKEN_FILE) "
		    "to keep the token in");
	unlink(token_file);
	if ((fd = open(token_file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		die("%s: %s", token_file, strerror(errno));
	if (write(fd, token, TOKEN_LEN) != TOKEN_LEN || write(fd, "\n", 1) != 1
	    || close(fd) != 0)
		die("%s: %s", token_file, strerror(errno));
}

/*
 * Prints o's fields as pairs of a text and a key, up to a NULL text: the
 * text, then the field's value. A key starting with '?' is left out, its
 * text too, when the field is empty; '@' prints a time.
 */
static void
fields(json_t *o, ...)
{
	va_list		 ap;
	const char	*text, *key, *v;

	va_start(ap, o);
	while ((text = va_arg(ap, const char *)) != NULL) {
		key = va_arg(ap, const char *);
		if (*key == '@') {
			printf("%s%s", text, when(o, key + 1));
			continue;
		}
		v = str(o, key + (*key == '?'));
		if (*key == '?' && *v == '\0')
			continue;
		fputs(text, stdout);
		pr(v);
	}
	va_end(ap);
	putchar('\n');
}

static void
print_session(json_t *s)
{
	fields(s, "", "id", " ", "user", " ", "pool", "/", "desktop", " on ",
	    "host", " ", "state", " from ", "source", " since ", "@created",
	    ": ", "?error", NULL);
}

static void
print_desktop(json_t *d)
{
	fields(d, "", "pool", "/", "name", " on ", "host", " ", "state",
	    " user ", "?user", " since ", "@updated", ": ", "?error", NULL);
}

static void
print_audit(json_t *a)
{
	printf("%lld ", json_integer_value(json_object_get(a, "id")));
	fields(a, "", "@time", " ", "actor", " from ", "source", " ", "action",
	    " ", "?target", " ", "result", ": ", "?detail", NULL);
}

static void
print_list(json_t *j, const char *key, void (*each)(json_t *),
    const char *none)
{
	json_t	*v;
	size_t	 i;

	json_array_foreach(json_object_get(j, key), i, v)
		each(v);
	if (json_array_size(json_object_get(j, key)) == 0 && none != NULL)
		printf("%s\n", none);
}

static void
print_pool(json_t *p)
{
	pr(str(p, "name"));
	printf(" (");
	pr(str(p, "kind"));
	printf("): capacity %lld, free %lld, assigned %lld, spare %lld, "
	    "cleaning %lld, creating %lld, broken %lld, sessions %lld",
	    json_integer_value(json_object_get(p, "capacity")),
	    json_integer_value(json_object_get(p, "free")),
	    json_integer_value(json_object_get(p, "assigned")),
	    json_integer_value(json_object_get(p, "spare")),
	    json_integer_value(json_object_get(p, "cleaning")),
	    json_integer_value(json_object_get(p, "creating")),
	    json_integer_value(json_object_get(p, "broken")),
	    json_integer_value(json_object_get(p, "sessions")));
	if (json_is_true(json_object_get(p, "gpu")))
		printf(", GPUs in use %lld",
		    json_integer_value(json_object_get(p, "gpus_in_use")));
	putchar('\n');
}

static void
print_gpu_host(json_t *h)
{
	json_t	*g;
	size_t	 i;

	pr(str(h, "name"));
	if (!json_is_true(json_object_get(h, "up"))) {
		printf(": down: ");
		pr(str(h, "error"));
		putchar('\n');
		return;
	}
	printf(": IOMMU %s\n", json_is_true(json_object_get(h, "iommu")) ?
	    "on" : "off");
	json_array_foreach(json_object_get(h, "gpus"), i, g)
		fields(g, "  ", "address", " ", "verdict", " ", "vendor", " ",
		    "product", " to ", "?allocated_to", ": ", "?reason", NULL);
}

static void
cmd_user(json_t *j)
{
	json_t	*t = json_object_get(j, "throttle");

	printf("user ");
	pr(str(j, "user"));
	printf(": %lld failed logins on record, %s",
	    json_integer_value(json_object_get(t, "failures")),
	    json_is_true(json_object_get(t, "locked")) ? "locked out" :
	    "not locked out");
	if (json_integer_value(json_object_get(t, "wait")) > 0)
		printf(", next attempt in %llds",
		    json_integer_value(json_object_get(t, "wait")));
	printf("\nsessions:\n");
	print_list(j, "sessions", print_session, "  none");
	printf("desktops:\n");
	print_list(j, "desktops", print_desktop, "  none");
	printf("recent logins:\n");
	print_list(j, "logins", print_audit, "  none");
}

/* The audit search's path with the filters given. */
static char *
audit_path(void)
{
	char	*p = NULL;
	size_t	 len = 0, i;
	FILE	*f;
	int	 first = 1;

	if ((f = open_memstream(&p, &len)) == NULL)
		die("out of memory");
	fputs("/api/v1/audit", f);
	for (i = 0; i < NFILTERS; i++) {
		if (filters[i] == NULL)
			continue;
		fprintf(f, "%c%s=", first ? '?' : '&', filter_names[i]);
		urlenc(f, filters[i]);
		first = 0;
	}
	if (fclose(f) != 0)
		die("out of memory");
	return p;
}

/* Runs command; 0 when it did what it says. */
static int
run(int argc, char *argv[])
{
	const char	*cmd = argv[0];
	json_t		*j = NULL;
	char		*path = NULL;
	size_t		 i;

	if (strcmp(cmd, "audit") != 0)
		for (i = 0; i < NFILTERS; i++)
			if (filters[i] != NULL)
				die("--%s goes with audit only",
				    filter_names[i]);

#define ARGS(n)	do { if (argc != (n) + 1) usage(); } while (0)
	if (strcmp(cmd, "me") == 0) {
		ARGS(0);
		j = call("GET", "/api/v1/me", NULL);
		if (!json_out) {
			pr(str(j, "user"));
			printf(": roles");
			for (i = 0; i < json_array_size(json_object_get(j,
			    "roles")); i++) {
				putchar(' ');
				pr(json_string_value(json_array_get(
				    json_object_get(j, "roles"), i)));
			}
			putchar('\n');
		}
	} else if (strcmp(cmd, "sessions") == 0) {
		ARGS(0);
		j = call("GET", "/api/v1/sessions", NULL);
		if (!json_out)
			print_list(j, "sessions", print_session, "no sessions");
	} else if (strcmp(cmd, "pools") == 0) {
		ARGS(0);
		j = call("GET", "/api/v1/pools", NULL);
		if (!json_out) {
			print_list(j, "pools", print_pool, NULL);
			print_list(j, "desktops", print_desktop, "no desktops");
		}
	} else if (strcmp(cmd, "user") == 0) {
		ARGS(1);
		j = call("GET", path = path_of("/api/v1/users/%s", argv[1]),
		    NULL);
		if (!json_out)
			cmd_user(j);
	} else if (strcmp(cmd, "audit") == 0) {
		ARGS(0);
		j = call("GET", path = audit_path(), NULL);
		if (!json_out) {
			print_list(j, "audit", print_audit, "no records");
			if (json_object_get(j, "next_before") != NULL)
				printf("more: --before %lld\n",
				    json_integer_value(json_object_get(j,
				    "next_before")));
		}
	} else if (strcmp(cmd, "gpus") == 0) {
		ARGS(0);
		j = call("GET", "/api/v1/gpus", NULL);
		if (!json_out)
			print_list(j, "hosts", print_gpu_host, "no hosts");
	} else if (strcmp(cmd, "disconnect") == 0 || strcmp(cmd, "end") == 0) {
		ARGS(1);
		j = call("POST", path = path_of("/api/v1/sessions/%s/%s",
		    argv[1], cmd), NULL);
		if (!json_out)
			printf("session %s: %s\n", argv[1], strcmp(cmd, "end") ==
			    0 ? "ended" : "disconnected");
	} else if (strcmp(cmd, "force-logout") == 0) {
		ARGS(1);
		j = call("POST", path = path_of("/api/v1/users/%s/logout",
		    argv[1]), NULL);
		if (!json_out)
			printf("%s: %lld logins and %lld sessions ended\n",
			    argv[1], json_integer_value(json_object_get(j,
			    "logins_ended")), json_integer_value(
			    json_object_get(j, "sessions_ended")));
	} else if (strcmp(cmd, "unlock") == 0) {
		ARGS(1);
		j = call("POST", path = path_of("/api/v1/users/%s/unlock",
		    argv[1]), NULL);
		if (!json_out)
			printf("%s: unlocked, %lld failed logins forgotten\n",
			    argv[1], json_integer_value(json_object_get(j,
			    "failures_cleared")));
	} else if (strcmp(cmd, "reset") == 0 || strcmp(cmd, "reboot") == 0 ||
	    strcmp(cmd, "shutdown") == 0 || strcmp(cmd, "start") == 0) {
		ARGS(2);
		j = call("POST", path = path_of("/api/v1/pools/%s/desktops/%s/%s",
		    argv[1], argv[2], cmd), NULL);
		if (!json_out) {
			printf("%s/%s: %s done, now ", argv[1], argv[2], cmd);
			pr(str(j, "state"));
			putchar('\n');
		}
	} else if (strcmp(cmd, "repair") == 0) {
		ARGS(2);
		j = call("POST", path = path_of("/api/v1/pools/%s/desktops/%s/"
		    "repair", argv[1], argv[2]), NULL);
		if (!json_out) {
			printf("%s/%s: repair started, now ", argv[1], argv[2]);
			pr(str(j, "state"));
			printf(" (pools shows the outcome)\n");
		}
	} else if (strcmp(cmd, "gpu-clear") == 0) {
		ARGS(2);
		j = call("POST", path = path_of("/api/v1/gpus/%s/%s/clear",
		    argv[1], argv[2]), NULL);
		if (!json_out)
			printf("%s %s: back in service\n", argv[1], argv[2]);
	} else
		usage();
#undef ARGS
	if (json_out)
		print_json(j);
	json_decref(j);
	free(path);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option	 opts[] = {
		{ "broker", required_argument, NULL, 'b' },
		{ "ca", required_argument, NULL, 'c' },
		{ "token-file", required_argument, NULL, 't' },
		{ "login", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "user", required_argument, NULL, 0x100 },
		{ "action", required_argument, NULL, 0x101 },
		{ "target", required_argument, NULL, 0x102 },
		{ "result", required_argument, NULL, 0x103 },
		{ "since", required_argument, NULL, 0x104 },
		{ "until", required_argument, NULL, 0x105 },
		{ "limit", required_argument, NULL, 0x106 },
		{ "before", required_argument, NULL, 0x107 },
		{ NULL, 0, NULL, 0 }
	};
	const char	*url = getenv("PAPRIKA_BROKER");
	const char	*ca = getenv("PAPRIKA_CA"), *user = NULL;
	char		 err[512];
	int		 ch, rc;

	token_file = getenv("PAPRIKA_TOKEN_FILE");
	while ((ch = getopt_long(argc, argv, "hb:l:", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			url = optarg;
			break;
		case 'c':
			ca = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'l':
			user = optarg;
			break;
		case 'j':
			json_out = 1;
			break;
		case 0x100: case 0x101: case 0x102: case 0x103:
		case 0x104: case 0x105: case 0x106: case 0x107:
			filters[ch - 0x100] = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (url == NULL || *url == '\0')
		die("which broker? give -b https://HOST:PORT or set "
		    "PAPRIKA_BROKER");
	if (ca != NULL && *ca == '\0')
		ca = NULL;
	if (brokerhttp_init(&broker, url, ca, err, sizeof err) == -1)
		die("%s", err);
	broker.token = token;

	if (strcmp(argv[0], "login") == 0) {
		if (argc != 1 || user == NULL)
			die("login needs -l NAME");
		login(user);
		save_token();
		fprintf(stderr, "logged in as %s; the token is in %s\n", user,
		    token_file);
		rc = 0;
	} else if (strcmp(argv[0], "logout") == 0) {
		if (argc != 1)
			usage();
		load_token();
		json_decref(call("POST", "/api/v1/logout", NULL));
		if (token_file != NULL && getenv("PAPRIKA_TOKEN") == NULL &&
		    unlink(token_file) == -1)
			die("%s: %s", token_file, strerror(errno));
		rc = 0;
	} else {
		/* -l logs in for this one command, and out after it. */
		if (user != NULL) {
			login(user);
			fresh = 1;
		} else
			load_token();
		rc = run(argc, argv);
		logout_fresh();
	}
	explicit_bzero(token, sizeof token);
	brokerhttp_free(&broker);
	return rc;
}
