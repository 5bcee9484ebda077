# tools/: paprikactl, the admin and helpdesk command line.
bin_PROGRAMS += paprikactl
paprikactl_SOURCES = tools/paprikactl.c
paprikactl_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
paprikactl_LDADD = $(PAPRIKA_COMMON_LIBS) $(JANSSON_LIBS)

# paprika-users: the broker's local users file, like htpasswd. It shares
# the file's parser and the password hashing with the broker.
bin_PROGRAMS += paprika-users
paprika_users_SOURCES = tools/paprika-users.c
paprika_users_CFLAGS = $(BROKER_CFLAGS)
paprika_users_LDADD = $(BROKER_LIBS)
