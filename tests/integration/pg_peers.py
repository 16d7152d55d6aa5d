"""A real PostgreSQL 15 for the integration tests: its own cluster (initdb)
in a temporary directory, on a free loopback port, made, started and
stopped (by PID) by scripts/postgresql.py.

Fixtures: `postgresql` (one started server, stopped and removed in
teardown). Tests are skipped, saying why, only when the PostgreSQL 15
binaries are absent (scripts/deps.sh installs them)."""
import importlib.util
import os
import shutil
import tempfile

import pytest

from conftest import SOURCE_DIR

_spec = importlib.util.spec_from_file_location(
    "mamori_postgresql", os.path.join(SOURCE_DIR, "scripts", "postgresql.py"))
pg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pg)


class PostgreSQL:
    """One cluster in a directory under /tmp (searchable by the postgres user
    the script runs the server as when the tests run as root)."""

    def __init__(self, fsync=False):
        self.dir = tempfile.mkdtemp(prefix="mamori-pg-", dir="/tmp")
        self.url = None
        self.port = None
        self.fsync = fsync

    def start(self):
        self.url = pg.start(self.dir, port=self.port, fsync=self.fsync)
        self.port = pg.read_port(self.dir)
        return self

    def stop(self):
        pg.stop(self.dir)

    def pid(self):
        return pg.read_pid(self.dir)

    def psql(self, sql):
        """Runs `sql` as the superuser in the mamori database; returns its rows
        as lists of strings."""
        out = pg.psql(self.dir, sql, database="mamori", port=self.port)
        return [line.split("|") for line in out.splitlines() if line]

    def value(self, sql):
        rows = self.psql(sql)
        return rows[0][0] if rows else None

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def store_toml(url, pool=4):
    """The config lines that put a node's durable store on `url`."""
    return '[store]\nbackend = "postgresql"\n\n[postgresql]\nurl = "%s"\npool = %d\n' % (url, pool)


@pytest.fixture
def postgresql():
    if not pg.binaries_present():
        pytest.skip("PostgreSQL 15 is not installed (%s); scripts/deps.sh installs postgresql-15"
                    % pg.BIN)
    server = PostgreSQL()
    try:
        server.start()
        yield server
    finally:
        server.remove()
