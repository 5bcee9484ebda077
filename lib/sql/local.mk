# SPDX-License-Identifier: ISC
# lib/sql: one SQL interface over SQLite (sqlite.c, the embedded default)
# and PostgreSQL (postgresql.c, on libpq, for several brokers sharing their
# state), with append-only migrations written for each (sql.c). It knows
# nothing of the broker's tables.
noinst_LIBRARIES += lib/sql/libsql.a
lib_sql_libsql_a_SOURCES = lib/sql/sql.c lib/sql/sql.h lib/sql/sqlpriv.h \
	lib/sql/sqlite.c lib/sql/postgresql.c
SQL_CPPFLAGS = -I$(top_srcdir)/lib/sql
lib_sql_libsql_a_CFLAGS = $(AM_CFLAGS) $(SQL_CPPFLAGS) $(SQLITE3_CFLAGS) \
	$(LIBPQ_CFLAGS)
SQL_LIBS = lib/sql/libsql.a $(SQLITE3_LIBS) $(LIBPQ_LIBS) -lpthread
