# SPDX-License-Identifier: ISC
# man/: the manual pages, written by hand in mdoc. Each page.N.in names the
# directories configure chose as @sysconfdir@ and the like; make fills them
# in, so the pages show the paths this build really uses.
# tests/loopback/test-man.py checks them against the programs.
MAN_SERVER_PAGES = \
	man/paprika-brokerd.8 \
	man/paprika-gatewayd.8 \
	man/paprikactl.8 \
	man/paprika-certs.8 \
	man/paprika-users.8 \
	man/paprika-brokerd.conf.5 \
	man/paprika-gatewayd.conf.5
MAN_CLIENT_PAGES = man/paprika-client.1
if BUILD_CLIENT
man_MANS = $(MAN_SERVER_PAGES) $(MAN_CLIENT_PAGES)
else
man_MANS = $(MAN_SERVER_PAGES)
endif
MAN_ALL_PAGES = $(MAN_SERVER_PAGES) $(MAN_CLIENT_PAGES)
EXTRA_DIST += $(MAN_ALL_PAGES:=.in)
CLEANFILES += $(MAN_ALL_PAGES)

# Directories as make knows them: configure leaves ${prefix} in them.
MAN_SUBST = sed \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@runstatedir[@]|$(runstatedir)|g' \
	-e 's|@datadir[@]|$(datadir)|g' \
	-e 's|@docdir[@]|$(docdir)|g' \
	-e 's|@pkglibexecdir[@]|$(pkglibexecdir)|g'

$(MAN_ALL_PAGES): Makefile
	$(AM_V_GEN)$(MKDIR_P) man && \
	$(MAN_SUBST) '$(srcdir)/$@.in' > '$@.tmp' && mv '$@.tmp' '$@'
man/paprika-brokerd.8: man/paprika-brokerd.8.in
man/paprika-gatewayd.8: man/paprika-gatewayd.8.in
man/paprikactl.8: man/paprikactl.8.in
man/paprika-certs.8: man/paprika-certs.8.in
man/paprika-users.8: man/paprika-users.8.in
man/paprika-brokerd.conf.5: man/paprika-brokerd.conf.5.in
man/paprika-gatewayd.conf.5: man/paprika-gatewayd.conf.5.in
man/paprika-client.1: man/paprika-client.1.in

# paprika-helpdesk runs on a helpdesk person's machine; it needs no GTK.
MAN_SERVER_PAGES += man/paprika-helpdesk.1
man/paprika-helpdesk.1: man/paprika-helpdesk.1.in
