/* SPDX-License-Identifier: ISC */
/*
 * Revocations: sessions and tickets refused until a time, kept in memory
 * and in state_dir/revocations across restarts.
 *
 * The loop only touches the table. Each new revocation is handed to a
 * writer thread, which appends it to the file (a line, then fdatasync)
 * and, once the file holds more dead lines than live ones, rewrites it
 * with only the live ones: neither the disk nor a large rewrite ever
 * holds up the tunnels. Being the file's only writer, the thread needs no
 * lock on it; the queue between the two has one.
 *
 * The table is bounded (REVOKE_MAX): when it is full, an expired entry
 * makes room, or else the one that would expire first. A revocation is
 * therefore never refused; at worst the oldest-ending one is forgotten
 * early, with a warning.
 */
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway.h"
#include "log.h"

#define REVOKE_MAX		100000	/* entries in memory */
#define REVOKE_QUEUE_MAX	REVOKE_MAX	/* lines waiting for the disk */
#define REVOKE_COMPACT_MIN	1024	/* lines before a rewrite pays */
#define REVOKE_TICKET_SALT	0x5a5a5a5a5a5a5a5aULL

struct revocation {
	uint64_t	key;		/* id, salted for tickets */
	char		kind;		/* 's' or 't' */
	time_t		until;
	UT_hash_handle	hh;
};

struct revoke_line {
	char			 kind;
	uint64_t		 id;
	time_t			 until;
	STAILQ_ENTRY(revoke_line) entry;
};

/* Read by every worker, written by worker 0: under revoke_table_lock. */
static pthread_rwlock_t		 revoke_table_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct revocation	*revocations;
static size_t			 nrevocations;
static char			*revoke_path;
static int			 revoke_warned_full;

/* Shared with the writer thread, under revoke_lock. */
static pthread_mutex_t		 revoke_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		 revoke_wake = PTHREAD_COND_INITIALIZER;
static STAILQ_HEAD(, revoke_line) revoke_queue =
    STAILQ_HEAD_INITIALIZER(revoke_queue);
static size_t			 revoke_queued;
static int			 revoke_stopping;
static int			 revoke_running;
static pthread_t		 revoke_thread;

/* The writer thread's own. */
static size_t			 revoke_file_lines;	/* in the file now */
static size_t			 revoke_file_live;	/* at the last rewrite */

static uint64_t
revoke_key(char kind, uint64_t id)
{
	return id ^ (kind == 't' ? REVOKE_TICKET_SALT : 0);
}

static void
revoke_remove(struct revocation *r)
{
	HASH_DEL(revocations, r);
	free(r);
	nrevocations--;
}

/* Drops the expired entries; returns the one that ends soonest. */
static struct revocation *
revoke_sweep(time_t now)
{
	struct revocation	*r, *tmp, *soonest = NULL;

	HASH_ITER(hh, revocations, r, tmp) {
		if (r->until <= now)
			revoke_remove(r);
		else if (soonest == NULL || r->until < soonest->until)
			soonest = r;
	}
	return soonest;
}

/* Makes room for one entry: expired ones first, else the soonest to end. */
static void
revoke_make_room(time_t now)
{
	struct revocation	*soonest = revoke_sweep(now);

	if (nrevocations < REVOKE_MAX || soonest == NULL)
		return;
	if (!revoke_warned_full)
		log_warnx("revocations: %d held, the most: forgetting the "
		    "ones that end soonest first", REVOKE_MAX);
	revoke_warned_full = 1;
	revoke_remove(soonest);
}

/* Adds or extends an entry; 1 when the table changed, 0 when not. */
static int
revoke_insert(char kind, uint64_t id, time_t until, time_t now)
{
	struct revocation	*r;
	uint64_t		 k = revoke_key(kind, id);

	if (until <= now)
		return 0;
	HASH_FIND(hh, revocations, &k, sizeof k, r);
	if (r != NULL) {
		if (until <= r->until)
			return 0;
		r->until = until;
		return 1;
	}
	if (nrevocations >= REVOKE_MAX)
		revoke_make_room(now);
	if ((r = calloc(1, sizeof *r)) == NULL) {
		/* Out of memory: the soonest-ending entry makes way. */
		revoke_make_room(now);
		if ((r = calloc(1, sizeof *r)) == NULL)
			return 0;
	}
	r->key = k;
	r->kind = kind;
	r->until = until;
	HASH_ADD(hh, revocations, key, sizeof r->key, r);
	nrevocations++;
	return 1;
}

static int
revoke_lookup(char kind, uint64_t id, time_t now)
{
	struct revocation	*r;
	uint64_t		 k = revoke_key(kind, id);

	HASH_FIND(hh, revocations, &k, sizeof k, r);
	return r != NULL && r->kind == kind && r->until > now;
}

/* "session ID UNTIL" or "ticket ID UNTIL"; 0, or -1 if malformed. */
static int
revoke_parse(const char *line, char *kind, uint64_t *id, time_t *until)
{
	char			 word[16];
	unsigned long long	 i;
	long long		 u;
	int			 end = 0;

	if (sscanf(line, "%15s %llx %lld %n", word, &i, &u, &end) != 3 ||
	    line[end] != '\0')
		return -1;
	if (strcmp(word, "session") == 0)
		*kind = 's';
	else if (strcmp(word, "ticket") == 0)
		*kind = 't';
	else
		return -1;
	*id = (uint64_t)i;
	*until = (time_t)u;
	return 0;
}

static int
revoke_format(char *buf, size_t len, char kind, uint64_t id, time_t until)
{
	return snprintf(buf, len, "%s %016" PRIx64 " %lld\n",
	    kind == 's' ? "session" : "ticket", id, (long long)until);
}

int
revoke_load(const char *state_dir)
{
	char		 line[256];
	char		 kind;
	uint64_t	 id;
	time_t		 until, now = time(NULL);
	FILE		*fp;
	size_t		 lines = 0;
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
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		lines++;
		if (revoke_parse(line, &kind, &id, &until) == -1) {
			log_warnx("%s:%d: ignoring malformed line",
			    revoke_path, lineno);
			continue;
		}
		revoke_insert(kind, id, until, now);
	}
	fclose(fp);
	revoke_file_lines = lines;
	revoke_file_live = nrevocations;
	log_info("loaded %zu revocation(s) from %s", nrevocations, revoke_path);
	return 0;
}

/* Writer thread: rewrites the file with the live lines only. */
static void
revoke_compact(void)
{
	char			 path[4096], line[256], kind;
	struct revocation	*table = NULL, *r, *tmp;
	uint64_t		 id;
	time_t			 until, now = time(NULL);
	FILE			*in, *out = NULL;
	size_t			 live = 0;
	int			 fd;

	if ((in = fopen(revoke_path, "re")) == NULL)
		return;
	/* The newest line of a key wins, like revoke_insert's longest. */
	while (fgets(line, sizeof line, in) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (revoke_parse(line, &kind, &id, &until) == -1 ||
		    until <= now)
			continue;
		id = revoke_key(kind, id);
		HASH_FIND(hh, table, &id, sizeof id, r);
		if (r == NULL) {
			if ((r = calloc(1, sizeof *r)) == NULL)
				goto out;
			r->key = id;
			r->kind = kind;
			HASH_ADD(hh, table, key, sizeof r->key, r);
		}
		if (until > r->until)
			r->until = until;
	}
	snprintf(path, sizeof path, "%s.tmp", revoke_path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || (out = fdopen(fd, "w")) == NULL) {
		log_warn("revocations: %s", path);
		if (fd != -1)
			close(fd);
		goto out;
	}
	fprintf(out, "# paprika-gatewayd revocations: kind id until\n");
	HASH_ITER(hh, table, r, tmp) {
		revoke_format(line, sizeof line, r->kind,
		    revoke_key(r->kind, r->key), r->until);
		fputs(line, out);
		live++;
	}
	if (fflush(out) == EOF || fsync(fileno(out)) == -1 ||
	    rename(path, revoke_path) == -1) {
		log_warn("revocations: rewriting %s", revoke_path);
		goto out;
	}
	log_debug("revocations: rewrote %s: %zu live of %zu lines",
	    revoke_path, live, revoke_file_lines);
	revoke_file_lines = live;
	revoke_file_live = live;
out:
	if (out != NULL)
		fclose(out);
	fclose(in);
	HASH_ITER(hh, table, r, tmp) {
		HASH_DEL(table, r);
		free(r);
	}
}

/* Writer thread: appends the lines taken off the queue. */
static void
revoke_append(struct revoke_line *first)
{
	struct revoke_line	*l, *next;
	char			 line[256];
	int			 fd, len, ok = 1;

	if ((fd = open(revoke_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) == -1) {
		log_warn("revocations: %s", revoke_path);
		ok = 0;
	}
	for (l = first; l != NULL; l = next) {
		next = STAILQ_NEXT(l, entry);
		len = revoke_format(line, sizeof line, l->kind, l->id,
		    l->until);
		if (ok && write(fd, line, (size_t)len) != len) {
			log_warn("revocations: %s", revoke_path);
			ok = 0;
		}
		if (ok)
			revoke_file_lines++;
		free(l);
	}
	if (fd != -1) {
		if (ok && fdatasync(fd) == -1)
			log_warn("revocations: %s", revoke_path);
		close(fd);
	}
}

static void *
revoke_writer(void *arg)
{
	struct revoke_line	*batch;
	int			 stop;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&revoke_lock);
		while (STAILQ_EMPTY(&revoke_queue) && !revoke_stopping)
			pthread_cond_wait(&revoke_wake, &revoke_lock);
		batch = STAILQ_FIRST(&revoke_queue);
		STAILQ_INIT(&revoke_queue);
		revoke_queued = 0;
		stop = revoke_stopping;
		pthread_mutex_unlock(&revoke_lock);
		if (batch != NULL)
			revoke_append(batch);
		if (revoke_file_lines >= REVOKE_COMPACT_MIN &&
		    revoke_file_lines > 2 * revoke_file_live)
			revoke_compact();
		if (stop)
			return NULL;
	}
}

void
revoke_start(void)
{
	if (revoke_path == NULL || revoke_running)
		return;
	if (pthread_create(&revoke_thread, NULL, revoke_writer, NULL) != 0)
		fatalx("cannot start the revocation writer");
	revoke_running = 1;
	/* A file left long by the last run is rewritten at once. */
	pthread_mutex_lock(&revoke_lock);
	pthread_cond_signal(&revoke_wake);
	pthread_mutex_unlock(&revoke_lock);
}

void
revoke_stop(void)
{
	struct revocation	*r, *tmp;

	if (revoke_running) {
		pthread_mutex_lock(&revoke_lock);
		revoke_stopping = 1;
		pthread_cond_signal(&revoke_wake);
		pthread_mutex_unlock(&revoke_lock);
		pthread_join(revoke_thread, NULL);
		revoke_running = 0;
	}
	HASH_ITER(hh, revocations, r, tmp)
		revoke_remove(r);
	free(revoke_path);
	revoke_path = NULL;
}

/* Hands a new revocation to the writer (dropped if the disk is stuck). */
static void
revoke_persist(char kind, uint64_t id, time_t until)
{
	struct revoke_line	*l;

	if (!revoke_running)
		return;
	if ((l = calloc(1, sizeof *l)) == NULL)
		return;
	l->kind = kind;
	l->id = id;
	l->until = until;
	pthread_mutex_lock(&revoke_lock);
	if (revoke_queued >= REVOKE_QUEUE_MAX) {
		pthread_mutex_unlock(&revoke_lock);
		log_warnx("revocations: the disk is behind by %d lines: this "
		    "one holds until a restart only", REVOKE_QUEUE_MAX);
		free(l);
		return;
	}
	STAILQ_INSERT_TAIL(&revoke_queue, l, entry);
	revoke_queued++;
	pthread_cond_signal(&revoke_wake);
	pthread_mutex_unlock(&revoke_lock);
}

/* Adds a revocation; never fails (see revoke_make_room). */
static void
revoke_add(char kind, uint64_t id, time_t until)
{
	static time_t	 last_sweep;
	time_t		 now = time(NULL);

	int		 changed;

	pthread_rwlock_wrlock(&revoke_table_lock);
	/* Expired entries leave the table (and revoke_count) each minute. */
	if (now - last_sweep >= 60) {
		last_sweep = now;
		revoke_sweep(now);
	}
	changed = revoke_insert(kind, id, until, now);
	pthread_rwlock_unlock(&revoke_table_lock);
	if (changed)
		revoke_persist(kind, id, until);
}

int
revoke_add_session(uint64_t id, time_t until)
{
	revoke_add('s', id, until);
	return 0;
}

int
revoke_add_ticket(uint64_t id, time_t until)
{
	revoke_add('t', id, until);
	return 0;
}

int
revoke_check(const struct ticket *t)
{
	time_t	now = time(NULL);
	int	rc;

	pthread_rwlock_rdlock(&revoke_table_lock);
	rc = revoke_lookup('s', t->session_id, now) ||
	    revoke_lookup('t', t->ticket_id, now);
	pthread_rwlock_unlock(&revoke_table_lock);
	return rc;
}

size_t
revoke_count(void)
{
	size_t	n;

	pthread_rwlock_rdlock(&revoke_table_lock);
	n = nrevocations;
	pthread_rwlock_unlock(&revoke_table_lock);
	return n;
}
