/* SPDX-License-Identifier: ISC */
/*
 * paprika-users totp enroll|remove|status NAME, run by paprika-brokertool:
 * a user's second factor in the broker's state, sealed with its TOTP key.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "brokertool.h"
#include "privsep.h"
#include "qr.h"
#include "twofactor.h"

/* The broker's state and TOTP key, from its configuration; exits on
 * errors. */
static struct db *
totp_state_open(const char *config, struct totp_keys *k)
{
	struct broker_config	*c;
	struct db		*db;
	char			 err[1024];

	if ((c = conf_load(config, err, sizeof(err))) == NULL)
		errx(1, "%s", err);
	if (c->totp == CONF_TOTP_OFF)
		errx(1, "%s: [broker] totp is off: set it to optional or "
		    "required first", config);
	if (totp_keys_load(c->totp_key, k, err, sizeof(err)) == -1)
		errx(1, "%s", err);
	/*
	 * The state is the broker's user's (privsep.c): run as root, become
	 * that user first, so that the database and its journal stay its.
	 */
	if (geteuid() == 0)
		privsep_drop(c->user);
	if ((db = db_open(conf_database(c), 0, err, sizeof(err))) == NULL)
		errx(1, "%s", err);
	conf_free(c);
	return db;
}

/* totp [--config FILE] enroll|remove|status NAME */
static int
totp_run(const char *config, const char *what, const char *name)
{
	struct totp_keys	 k;
	struct db		*db;
	char			 uri[TOTP_URI_MAX];
	char			 codes[TOTP_RECOVERY_CODES][TOTP_RECOVERY_TEXT];
	time_t			 now = time(NULL);
	size_t			 i;
	int			 rc, left, ret = 1;

	db = totp_state_open(config, &k);
	if (strcmp(what, "status") == 0) {
		if ((rc = twofactor_enrolled(db, name, &left)) == -1)
			goto out;
		if (rc == 1)
			printf("%s: enrolled, %d recovery codes left\n", name,
			    left);
		else
			printf("%s: not enrolled\n", name);
		ret = 0;
	} else if (strcmp(what, "remove") == 0) {
		if ((rc = twofactor_remove(db, name)) == -1)
			goto out;
		if (rc == 0) {
			warnx("%s has no second factor", name);
			goto out;
		}
		db_audit(db, "paprika-users", "", "totp remove", name, "ok",
		    "second factor removed");
		ret = 0;
	} else {
		if ((rc = twofactor_begin(db, &k, name, now, uri,
		    sizeof(uri))) == 1) {
			warnx("%s has a second factor: totp remove first",
			    name);
			goto out;
		}
		if (rc == -1 || twofactor_confirm(db, &k, name, NULL, now,
		    codes) != 0) {
			warnx("cannot save the second factor");
			goto out;
		}
		db_audit(db, "paprika-users", "", "totp enrol", name, "ok",
		    "enrolled by paprika-users");
		printf("Scan this with the authenticator app, or enter the "
		    "URI:\n%s\n\n", uri);
		qr_print(uri, stdout);
		printf("\nRecovery codes, each good for one login without the "
		    "app (shown only now):\n");
		for (i = 0; i < TOTP_RECOVERY_CODES; i++)
			printf("  %s\n", codes[i]);
		fflush(stdout);
		explicit_bzero(uri, sizeof(uri));
		explicit_bzero(codes, sizeof(codes));
		ret = 0;
	}
out:
	explicit_bzero(&k, sizeof(k));
	db_close(db);
	return ret;
}

int
cmd_totp(int argc, char *argv[])
{
	static const struct option	 opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*config = BROKER_DEFAULT_CONFIG;
	int		 ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'c')
			errx(2, "usage: totp [--config FILE] "
			    "enroll|remove|status NAME");
		config = optarg;
	}
	if (argc - optind != 2 || (strcmp(argv[optind], "enroll") != 0 &&
	    strcmp(argv[optind], "remove") != 0 &&
	    strcmp(argv[optind], "status") != 0))
		errx(2, "usage: totp [--config FILE] enroll|remove|status NAME");
	return totp_run(config, argv[optind], argv[optind + 1]);
}
