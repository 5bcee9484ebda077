/* SPDX-License-Identifier: ISC */
/*
 * pam-check: runs auth_check once for the shell tests. The password is one
 * line of standard input. Prints "OK source group,group" ("OK name" with
 * -N: the account's own name), "DENIED" (with -N, and a reason, "DENIED:
 * reason") or "ERROR message"; exits 0, 1 or 2 (64 for usage). -h sets
 * PAM_RHOST, -u pam_min_uid (default 0), -r pam_allow_root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"

int
main(int argc, char *argv[])
{
	struct auth_config	 cfg = { NULL, NULL, NULL, 0, 0, NULL };
	struct auth_user	 u;
	char			 password[AUTH_PASSWORD_MAX + 2], err[512];
	size_t			 i;
	int			 ch, rc, names = 0;

	while ((ch = getopt(argc, argv, "Nf:h:rs:u:")) != -1) {
		switch (ch) {
		case 'N':
			names = 1;
			break;
		case 'h':
			cfg.rhost = optarg;
			break;
		case 'r':
			cfg.pam_allow_root = 1;
			break;
		case 'u':
			cfg.pam_min_uid = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'f':
			cfg.users_file = optarg;
			break;
		case 's':
			cfg.pam_service = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 1)
		goto usage;
	if (fgets(password, sizeof password, stdin) == NULL)
		password[0] = '\0';
	password[strcspn(password, "\n")] = '\0';

	rc = auth_check(&cfg, argv[optind], password, &u, err, sizeof err);
	explicit_bzero(password, sizeof password);
	switch (rc) {
	case AUTH_OK:
		if (names) {
			printf("OK %s\n", u.name);
			return 0;
		}
		printf("OK %s ", u.source);
		for (i = 0; i < u.ngroups; i++)
			printf("%s%s", i ? "," : "", u.groups[i]);
		printf("\n");
		return 0;
	case AUTH_DENIED:
		if (names && err[0] != '\0')
			printf("DENIED: %s\n", err);
		else
			printf("DENIED\n");
		return 1;
	default:
		printf("ERROR %s\n", err);
		return 2;
	}
 usage:
	fprintf(stderr, "usage: pam-check [-Nr] [-f users-file] [-h rhost] "
	    "[-s pam-service] [-u min-uid] user <password\n");
	return 64;
}
