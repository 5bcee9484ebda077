# SPDX-License-Identifier: ISC
# lib/auth: who a user is. Passwords through the local users file (users.c,
# libsodium only) or PAM (auth.c, on a thread pool), the PAM helper's messages (authmsg.c: pure and
# fuzzed), failed-login throttling (throttle.c), TOTP codes (totp.c) and the
# QR code of an enrolment (qr.c). It knows nothing of the broker.
noinst_LIBRARIES += lib/auth/libauth.a
lib_auth_libauth_a_SOURCES = lib/auth/auth.c lib/auth/auth.h \
	lib/auth/authpriv.h lib/auth/users.c \
	lib/auth/authmsg.c lib/auth/authmsg.h \
	lib/auth/throttle.c lib/auth/throttle.h \
	lib/auth/totp.c lib/auth/totp.h \
	lib/auth/qr.c lib/auth/qr.h
AUTH_CPPFLAGS = -I$(top_srcdir)/lib/auth
lib_auth_libauth_a_CFLAGS = $(AM_CFLAGS) $(AUTH_CPPFLAGS) $(OPENSSL_CFLAGS) \
	$(LIBSODIUM_CFLAGS) $(LIBQRENCODE_CFLAGS)
AUTH_LIBS = lib/auth/libauth.a $(LIBSODIUM_LIBS) $(LIBQRENCODE_LIBS) \
	$(PAM_LIBS) -lpthread
# What paprika-users needs: the users file and libsodium, no PAM.
AUTH_USERS_LIBS = lib/auth/libauth.a $(LIBSODIUM_LIBS) -lpthread
