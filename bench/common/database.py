"""Bench databases: a fresh migrated one per run (SQLite in a temp dir, or a PostgreSQL database dropped and created), never the one DATABASE_URL names."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models import make_engine, make_session_factory
from models.db import driver_url
from models.migrate import upgrade

# The database the seeded scenarios (backlog, Smart Assign throughput) drop and create.
SEEDED_DATABASE = "herd_bench2"


class BenchDatabase:
    """A fresh, migrated database for one bench run; ``drop()`` removes it (PostgreSQL) or its dir."""

    def __init__(self, requested_url, name=SEEDED_DATABASE, keep=False):
        self.tmp = Path(tempfile.mkdtemp(prefix="herd-bench-"))
        self.keep = keep
        self.admin_url = None
        self.name = name
        if not requested_url or requested_url.startswith("sqlite"):
            self.dialect = "sqlite"
            self.url = f"sqlite:///{self.tmp / 'herd.db'}"
        else:
            url = make_url(driver_url(requested_url))
            if url.get_backend_name() != "postgresql":
                raise SystemExit(f"unsupported DATABASE_URL {requested_url!r}")
            if url.database == name:
                raise SystemExit(f"DATABASE_URL already names {name!r}: the bench drops it; choose --db-name")
            if not name.replace("_", "").isalnum():
                raise SystemExit(f"bad database name {name!r}")
            self.dialect = "postgresql"
            self.admin_url = url.set(database="postgres").render_as_string(hide_password=False)
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
            self.url = url.set(database=name).render_as_string(hide_password=False)
        upgrade(self.url)
        self.engine = make_engine(self.url)
        self.sessions = make_session_factory(self.engine)

    def _admin(self, *statements):
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for statement in statements:
                    conn.execute(text(statement))
        finally:
            engine.dispose()

    def version(self):
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                version = conn.execute(text("SHOW server_version")).scalar()
                fsync = conn.execute(text("SHOW fsync")).scalar()
                sync = conn.execute(text("SHOW synchronous_commit")).scalar()
                return f"PostgreSQL {version} (fsync={fsync}, synchronous_commit={sync})"
            return f"SQLite {conn.execute(text('SELECT sqlite_version()')).scalar()} (WAL)"

    def analyze(self):
        with self.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()

    def vacuum(self):
        """VACUUM ANALYZE (PostgreSQL; ANALYZE elsewhere): rows freshly seeded in bulk, read
        as a live database's would be once autovacuum has been by (hint bits set, visibility
        map current), so the first reads do not pay for the seed."""
        if self.dialect != "postgresql":
            return self.analyze()
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))

    def drop(self):
        self.engine.dispose()
        if self.admin_url and not self.keep:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        if self.keep:
            print(f"kept the database {self.url} and the logs under {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _admin_url(url):
    return make_url(url).set(database="postgres")


def recreate_database(url):
    """Drop and create the bench database (on the same server, through the ``postgres`` database)."""
    name = make_url(url).database
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"refusing to use database {name!r} for the bench")
    admin = create_engine(_admin_url(url).set(drivername="postgresql+psycopg2"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def drop_database(url):
    admin = create_engine(_admin_url(url).set(drivername="postgresql+psycopg2"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def server_version(url):
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg2"))
    with engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar()
    engine.dispose()
    return version


def add_database_options(parser, default=SEEDED_DATABASE):
    """``--db-name`` (the PostgreSQL database the bench drops and creates) and ``--keep``."""
    parser.add_argument("--db-name", default=default, help=f"PostgreSQL database to create (default {default})")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
