/* SPDX-License-Identifier: ISC */
/*
 * paprika-brokertool: not run by people. paprikactl and paprika-users
 * hand it their commands that read the broker's configuration and state
 * (brokertool.h); argv[0] is theirs, so that messages carry their name.
 */
#include <stdio.h>
#include <string.h>

#include "brokertool.h"

int
main(int argc, char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "gpus") == 0)
		return cmd_gpus(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "audit") == 0)
		return cmd_audit(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "totp") == 0)
		return cmd_totp(argc - 1, argv + 1);
	fprintf(stderr, "usage: paprika-brokertool gpus|audit|totp ...: run "
	    "by paprikactl and paprika-users, not by hand\n");
	return 2;
}
