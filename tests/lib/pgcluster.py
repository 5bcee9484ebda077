# SPDX-License-Identifier: ISC
"""A private PostgreSQL cluster for a test: initdb and pg_ctl from Debian's
postgresql-15 under a temporary directory, no system service. It listens on
a free loopback port and its own socket directory, and asks for a password
(SCRAM) as a real deployment would; the password sits in a passfile that
the URLs name, never in the URL itself.

The server refuses to run as root, so a test that runs as root runs it as
Debian's postgres user (the package creates it)."""

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile

import paprikatest

PG_BIN = "/usr/lib/postgresql/15/bin"
USER = "paprika"


class Cluster:
    def __init__(self, prefix="paprika-pg."):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.sockets = os.path.join(self.dir, "sockets")
        self.log = os.path.join(self.dir, "postgresql.log")
        self.passfile = os.path.join(self.dir, "pgpass")
        self.password = secrets.token_hex(16)
        self.port = None
        self.running = False

    def _as_owner(self, argv, **kw):
        """argv as the cluster's owner: postgres when we are root."""
        if os.geteuid() == 0:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, **kw)

    def start(self):
        """initdb (once) and start; raises with the server's words on failure."""
        for tool in ("initdb", "pg_ctl"):
            if not os.access(os.path.join(PG_BIN, tool), os.X_OK):
                raise paprikatest.Missing(f"{PG_BIN}/{tool}: scripts/deps.sh installs postgresql-15")
        owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if not os.path.isdir(self.data):
            os.makedirs(self.sockets)
            pwfile = os.path.join(self.dir, "initdb-password")
            with open(pwfile, "w") as f:
                f.write(self.password + "\n")
            if owner is not None:
                for p in (self.dir, self.sockets, pwfile):
                    os.chown(p, owner.pw_uid, owner.pw_gid)
            r = self._as_owner([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", USER,
                                "--auth=scram-sha-256", "--pwfile", pwfile, "-E", "UTF8",
                                "--no-sync", "--locale=C"])
            os.unlink(pwfile)
            if r.returncode != 0:
                raise RuntimeError(f"initdb failed: {r.stdout}{r.stderr}")
        # libpq refuses a passfile others can read; it is the test's (root's).
        with open(self.passfile, "w") as f:
            f.write(f"127.0.0.1:*:*:{USER}:{self.password}\n")
        os.chmod(self.passfile, 0o600)
        for attempt in range(3):
            # A restart keeps the port the brokers' URLs name.
            if self.port is None or attempt > 0:
                self.port = paprikatest.free_port()
            opts = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                    "-c max_connections=200")
            r = self._as_owner([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log,
                                "-o", opts, "-w", "-t", "60", "start"])
            if r.returncode == 0:
                self.running = True
                return self
        raise RuntimeError(f"pg_ctl start failed: {r.stdout}{r.stderr}\n"
                           f"{paprikatest.read_text(self.log)[-2000:]}")

    def start_again(self):
        """Starts the stopped server on the same port."""
        return self.start()

    def url(self, db="postgres"):
        """The URL a broker's configuration names: no password in it."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{db}?passfile={self.passfile}"

    def base(self):
        """The URL up to the database's name (brokertest.c's PAPRIKA_TEST_PG)."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/"

    def env(self):
        """The environment that lets libpq find the password of base()."""
        return dict(os.environ, PGPASSFILE=self.passfile)

    def psql(self, sql, db="postgres"):
        """Runs sql with psql; its output, unaligned, tuples only."""
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-d", self.url(db), "-c", sql],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {r.stderr.strip()}")
        return r.stdout.strip()

    def create_db(self, name):
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self, mode="fast"):
        if self.running:
            self._as_owner([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", mode,
                            "-w", "stop"])
            self.running = False

    def cleanup(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)
