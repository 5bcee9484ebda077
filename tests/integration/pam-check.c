/*
 * pam-check: runs auth_check once for the shell tests. The password is one
 * line of standard input. Prints "OK source group,group", "DENIED" or
 * "ERROR message"; exits 0, 1 or 2 (64 for usage).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"

int
main(int argc, char *argv[])
{
	struct auth_config	 cfg = { NULL, NULL };
	struct auth_user	 u;
	char			 password[AUTH_PASSWORD_MAX + 2], err[512];
	size_t			 i;
	int			 ch, rc;

	while ((ch = getopt(argc, argv, "f:s:")) != -1) {
		switch (ch) {
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
		printf("OK %s ", u.source);
		for (i = 0; i < u.ngroups; i++)
			printf("%s%s", i ? "," : "", u.groups[i]);
		printf("\n");
		return strcmp(u.name, argv[optind]) == 0 ? 0 : 2;
	case AUTH_DENIED:
		printf("DENIED\n");
		return 1;
	default:
		printf("ERROR %s\n", err);
		return 2;
	}
 usage:
	fprintf(stderr, "usage: pam-check [-f users-file] [-s pam-service] "
	    "user <password\n");
	return 64;
}
