/*
 * Sessions (the tunnels one ticket's session holds), connection counts per
 * source address, and revocations, which survive restarts in state_dir.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway.h"
#include "log.h"

#define REVOKE_MAX	100000

struct revocation {
	uint64_t	key;		/* session or ticket id */
	char		kind;		/* 's' or 't' */
	time_t		until;
	UT_hash_handle	hh;
};

static struct revocation	*revocations;
static size_t			 nrevocations;
static char			*revoke_path;

struct session *
session_find(uint64_t id)
{
	struct session	*s;

	HASH_FIND(hh, gw->sessions, &id, sizeof id, s);
	return s;
}

struct session *
session_get(uint64_t id, const char *user)
{
	struct session	*s;

	if ((s = session_find(id)) != NULL)
		return s;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	s->id = id;
	strlcpy(s->user, user, sizeof s->user);
	TAILQ_INIT(&s->tunnels);
	s->since = time(NULL);
	HASH_ADD(hh, gw->sessions, id, sizeof s->id, s);
	return s;
}

void
session_attach(struct session *s, struct tunnel *t)
{
	TAILQ_INSERT_TAIL(&s->tunnels, t, sentry);
	s->ntunnels++;
	t->session = s;
}

void
session_drop_empty(struct session *s)
{
	if (s->ntunnels > 0)
		return;
	HASH_DEL(gw->sessions, s);
	free(s);
}

void
session_detach(struct tunnel *t)
{
	struct session	*s = t->session;

	if (s == NULL)
		return;
	TAILQ_REMOVE(&s->tunnels, t, sentry);
	s->ntunnels--;
	t->session = NULL;
	session_drop_empty(s);
}

/* Closes every tunnel of a session; returns how many. */
unsigned int
session_kill(uint64_t id, const char *reason)
{
	struct session	*s;
	struct tunnel	*t;
	unsigned int	 n = 0;

	/* Each close may free the session with its last tunnel. */
	while ((s = session_find(id)) != NULL &&
	    (t = TAILQ_FIRST(&s->tunnels)) != NULL) {
		tunnel_close(t, reason);
		n++;
	}
	return n;
}

/*
 * Counts one more connection from an address's group (netaddr_group: the
 * address, or its /64); NULL when out of memory.
 */
struct source *
source_get(const struct sockaddr_storage *ss)
{
	struct source	*src;
	uint8_t		 key[NETADDR_GROUP_LEN];

	netaddr_group((const struct sockaddr *)ss, key);
	HASH_FIND(hh, gw->sources, key, sizeof key, src);
	if (src == NULL) {
		if ((src = calloc(1, sizeof *src)) == NULL)
			return NULL;
		memcpy(src->key, key, sizeof key);
		HASH_ADD(hh, gw->sources, key, sizeof src->key, src);
	}
	src->count++;
	return src;
}

void
source_put(struct source *src)
{
	if (src == NULL)
		return;
	if (--src->count == 0) {
		HASH_DEL(gw->sources, src);
		free(src);
	}
}

static int
revoke_insert(char kind, uint64_t key, time_t until)
{
	struct revocation	*r;
	uint64_t		 k = key ^ (kind == 't' ? 0x5a5a5a5a5a5a5a5aULL : 0);

	HASH_FIND(hh, revocations, &k, sizeof k, r);
	if (r != NULL) {
		if (until > r->until)
			r->until = until;
		return 0;
	}
	if (nrevocations >= REVOKE_MAX || (r = calloc(1, sizeof *r)) == NULL)
		return -1;
	r->key = k;
	r->kind = kind;
	r->until = until;
	HASH_ADD(hh, revocations, key, sizeof r->key, r);
	nrevocations++;
	return 0;
}

static int
revoke_lookup(char kind, uint64_t key, time_t now)
{
	struct revocation	*r;
	uint64_t		 k = key ^ (kind == 't' ? 0x5a5a5a5a5a5a5a5aULL : 0);

	HASH_FIND(hh, revocations, &k, sizeof k, r);
	return r != NULL && r->kind == kind && r->until > now;
}

/* Rewrites the revocation file without expired entries. */
static int
revoke_save(void)
{
	struct revocation	*r, *tmp;
	char			 path[4096];
	time_t			 now = time(NULL);
	FILE			*fp;
	int			 fd;

	if (revoke_path == NULL)
		return 0;
	snprintf(path, sizeof path, "%s.tmp", revoke_path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600))
	    == -1 || (fp = fdopen(fd, "w")) == NULL) {
		log_warn("%s", path);
		if (fd != -1)
			close(fd);
		return -1;
	}
	fprintf(fp, "# paprika-gatewayd revocations: kind id until\n");
	HASH_ITER(hh, revocations, r, tmp) {
		if (r->until <= now) {
			HASH_DEL(revocations, r);
			free(r);
			nrevocations--;
			continue;
		}
		fprintf(fp, "%s %016" PRIx64 " %lld\n",
		    r->kind == 's' ? "session" : "ticket",
		    (uint64_t)(r->key ^ (r->kind == 't' ? 0x5a5a5a5a5a5a5a5aULL : 0)),
		    (long long)r->until);
	}
	if (fflush(fp) == EOF || fsync(fileno(fp)) == -1) {
		log_warn("%s", path);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	if (rename(path, revoke_path) == -1) {
		log_warn("rename %s", path);
		return -1;
	}
	return 0;
}

int
revoke_load(const char *state_dir)
{
	char		 line[256], kind[16];
	unsigned long long id;
	long long	 until;
	FILE		*fp;
	int		 lineno = 0;

	free(revoke_path);
	revoke_path = NULL;
	if (state_dir == NULL)
		return 0;
	if (asprintf(&revoke_path, "%s/revocations", state_dir) == -1) {
		revoke_path = NULL;
		return -1;
	}
	if ((fp = fopen(revoke_path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		log_warn("%s", revoke_path);
		return -1;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%15s %llx %lld", kind, &id, &until) != 3 ||
		    (strcmp(kind, "session") != 0 &&
		    strcmp(kind, "ticket") != 0)) {
			log_warnx("%s:%d: ignoring malformed line", revoke_path,
			    lineno);
			continue;
		}
		revoke_insert(kind[0] == 's' ? 's' : 't', (uint64_t)id,
		    (time_t)until);
	}
	fclose(fp);
	log_info("loaded %zu revocation(s) from %s", nrevocations, revoke_path);
	return 0;
}

int
revoke_add_session(uint64_t id, time_t until)
{
	if (revoke_insert('s', id, until) == -1)
		return -1;
	return revoke_save();
}

int
revoke_add_ticket(uint64_t id, time_t until)
{
	if (revoke_insert('t', id, until) == -1)
		return -1;
	return revoke_save();
}

int
revoke_check(const struct ticket *t)
{
	time_t	now = time(NULL);

	return revoke_lookup('s', t->session_id, now) ||
	    revoke_lookup('t', t->ticket_id, now);
}

size_t
revoke_count(void)
{
	return nrevocations;
}
