/* SPDX-License-Identifier: ISC */
/*
 * Dropping root, for both daemons: while still root each makes its state
 * directory and hands it to the user it runs as, then becomes that user
 * for good. The policy (whether root without a user is allowed, which
 * groups to keep) stays with each daemon.
 */
#ifndef PAPRIKA_PRIVDROP_H
#define PAPRIKA_PRIVDROP_H

/* privdrop_become: keep the groups /etc/group gives the user (the broker's
 * way to libvirt's socket); without it, the user's primary group only. */
#define PRIVDROP_GROUPS	0x1

/*
 * Makes dir (0700; its parent 0755 when missing) and refuses anything but
 * a directory there. Running as root with user (not root), gives dir to
 * user unless it is user's already; a directory holding an entry that no
 * fnmatch pattern of ours (NULL-terminated) matches is shared with
 * something else and is refused, not handed over. daemon names the owner
 * in the messages. Fatal on any failure.
 */
void	privdrop_state_dir(const char *dir, const char *user,
	    const char *const *ours, const char *daemon);
/*
 * Becomes user (not NULL) for good: its uid and gid, and the groups that
 * flags say; checks that root cannot come back and sets no_new_privs, so
 * that whatever it runs gains nothing either. Without root it only checks
 * that it runs as user already. section names where "user" is set, for
 * the messages. Fatal on any failure.
 */
void	privdrop_become(const char *user, int flags, const char *section);

#endif
