# tools/: paprikactl, the admin and helpdesk command line.
bin_PROGRAMS += paprikactl
paprikactl_SOURCES = tools/paprikactl.c tools/paprikactl.h tools/gpus.c \
	tools/audit.c
# gpus shares the broker's configuration reader and GPU inventory.
paprikactl_CFLAGS = $(BROKER_CFLAGS)
paprikactl_LDADD = $(BROKER_LIBS)

# paprika-users: the broker's local users file, like htpasswd. It shares
# the file's parser and the password hashing with the broker.
bin_PROGRAMS += paprika-users
paprika_users_SOURCES = tools/paprika-users.c
paprika_users_CFLAGS = $(BROKER_CFLAGS)
paprika_users_LDADD = $(BROKER_LIBS)

# paprika-helpdesk: the helpdesk's views and actions over the broker's HTTPS
# API, for a helpdesk person's machine: OpenSSL and jansson only.
bin_PROGRAMS += paprika-helpdesk
paprika_helpdesk_SOURCES = tools/paprika-helpdesk.c tools/brokerhttp.c \
	tools/brokerhttp.h
paprika_helpdesk_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
paprika_helpdesk_LDADD = $(PAPRIKA_COMMON_LIBS) $(JANSSON_LIBS)
