# tools/: paprikactl, the admin and helpdesk command line.
bin_PROGRAMS += paprikactl
paprikactl_SOURCES = tools/paprikactl.c
paprikactl_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
paprikactl_LDADD = $(PAPRIKA_COMMON_LIBS) $(JANSSON_LIBS)
