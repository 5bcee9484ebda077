# SPDX-License-Identifier: ISC
# tools/: paprikactl, the admin and helpdesk command line, and
# paprika-users, the broker's local users file, like htpasswd. Each links
# only what it needs (ldd shows no libvirt, SQLite or PAM): the commands
# that read the broker's configuration and state (paprikactl gpus and audit,
# paprika-users totp) run in paprika-brokertool, which links the broker.
bin_PROGRAMS += paprikactl
paprikactl_SOURCES = tools/paprikactl.c tools/brokerexec.c \
	tools/brokertool.h
paprikactl_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS) \
	-DPKGLIBEXECDIR='"$(pkglibexecdir)"'
paprikactl_LDADD = $(PAPRIKA_COMMON_LIBS) $(JANSSON_LIBS)

bin_PROGRAMS += paprika-users
paprika_users_SOURCES = tools/paprika-users.c tools/brokerexec.c \
	tools/brokertool.h
paprika_users_CFLAGS = $(AM_CFLAGS) $(AUTH_CPPFLAGS) $(LIBSODIUM_CFLAGS) \
	-DPKGLIBEXECDIR='"$(pkglibexecdir)"'
paprika_users_LDADD = $(AUTH_USERS_LIBS) $(PAPRIKA_COMMON_LIBS)

pkglibexec_PROGRAMS = paprika-brokertool
paprika_brokertool_SOURCES = tools/brokertool.c tools/brokertool.h \
	tools/gpus.c tools/audit.c tools/totp.c
paprika_brokertool_CFLAGS = $(BROKER_CFLAGS)
paprika_brokertool_LDADD = $(BROKER_LIBS)

# paprika-helpdesk: the helpdesk's views and actions over the broker's HTTPS
# API, for a helpdesk person's machine: OpenSSL and jansson only.
bin_PROGRAMS += paprika-helpdesk
paprika_helpdesk_SOURCES = tools/paprika-helpdesk.c tools/brokerhttp.c \
	tools/brokerhttp.h
paprika_helpdesk_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
paprika_helpdesk_LDADD = $(PAPRIKA_COMMON_LIBS) $(JANSSON_LIBS)
