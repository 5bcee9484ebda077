# SPDX-License-Identifier: ISC
# client/: paprika-client, the GTK thin client on spice-gtk. Optional:
# configure builds it when spice-client-gtk-3.0 and gtk+-3.0 are there.
# HTTPS to the broker is libsoup-3.0 (spice-glib links it already),
# JSON is jansson, as in the rest of the project.
if BUILD_CLIENT
bin_PROGRAMS += paprika-client
paprika_client_SOURCES = \
	client/client.h \
	client/main.c \
	client/config.c \
	client/broker.c client/brokerasync.c \
	client/session.c \
	client/tunnel.c \
	client/dn.c client/dn.h \
	client/monitors.c \
	client/headless.c \
	client/window.c client/windowpriv.h \
	client/windowactions.c \
	client/windowdisplay.c \
	client/windowpages.c
paprika_client_CFLAGS = $(AM_CFLAGS) $(CLIENT_CFLAGS) $(JANSSON_CFLAGS)
paprika_client_LDADD = $(CLIENT_LIBS) $(JANSSON_LIBS)
endif
# Installed with the gateway's documentation (gateway/local.mk).
dist_paprikadoc_DATA += docs/client.md
