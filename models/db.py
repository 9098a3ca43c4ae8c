"""Engine and session factory. No Flask here: the web app and the workers both use it."""

import json
from datetime import UTC, datetime

import orjson
from sqlalchemy import JSON, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, sessionmaker

from models.prebuilt import PREPARE_OPTION

# Stable constraint names so Alembic migrations are reproducible on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, path operators); plain JSON text on SQLite.
Document = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow():
    """Naive UTC now: every timestamp in the database is UTC without tzinfo."""
    return datetime.now(UTC).replace(tzinfo=None)


def json_text(value):
    """The JSON text stored for a JSON/JSONB column's ``value``.

    orjson, at a tenth of ``json``'s CPU (a learner write stores several documents); ``json``
    for what orjson refuses: integers beyond 64 bits and keys that are not strings. orjson
    would write a non-finite float as null where ``json`` wrote NaN, which PostgreSQL
    refused: client JSON cannot hold one (``service.edge.input_limits.loads``).
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value)


def driver_url(url):
    """Pin plain ``postgresql://`` URLs to psycopg2 (SQLAlchemy 2.1 would pick psycopg 3)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def _timeouts(statement_timeout, idle_in_transaction_timeout):
    """libpq's ``options`` setting PostgreSQL's two timeouts (seconds; 0 or None: the server's
    default), or None when neither is set."""
    options = [
        f"-c {name}={int(seconds * 1000)}"
        for name, seconds in (
            ("statement_timeout", statement_timeout),
            ("idle_in_transaction_session_timeout", idle_in_transaction_timeout),
        )
        if seconds
    ]
    return " ".join(options) or None


def make_engine(
    url,
    autocommit=False,
    pool_size=10,
    max_overflow=20,
    prepared_statements=False,
    pre_ping=False,
    statement_timeout=None,
    idle_in_transaction_timeout=None,
):
    """Create an engine; SQLite gets WAL and a busy timeout so web and workers can share it.

    ``hide_parameters``: a failed statement's error (and so its log line) never carries the
    bound values, which are learners' names and emails. ``autocommit`` (PostgreSQL): every
    connection of the pool runs each statement on its own, set once when it connects.
    ``prepared_statements`` (PostgreSQL): ``models.prebuilt`` statements are prepared once
    per connection and then only executed. ``pre_ping``: a round trip checks each
    connection as it leaves the pool (for a pool whose callers do not retry).
    ``statement_timeout``, ``idle_in_transaction_timeout`` (PostgreSQL, seconds): the
    server cancels a statement that runs longer, and ends a session whose transaction
    stays idle longer (a request or task that stalled while holding locks); set once per
    connection, in its startup packet, so they cost no round trip.
    """
    url = driver_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            hide_parameters=True,
            json_serializer=json_text,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # No pool_pre_ping by default: it cost a round trip on every checkout. A connection the server
    # dropped is detected on use instead (SQLAlchemy then discards it and every older
    # one); the web retries a request's first statement once (service/db/retry.py) and
    # the workers' tasks retry database errors. pool_recycle replaces connections before
    # an idle timeout on the way (a proxy, a firewall) can cut them silently.
    # pool_size + max_overflow bound the statements one process runs at once: a gevent
    # worker serves up to worker_connections requests, and 30 in flight per process
    # (60 for two) keeps within PostgreSQL's default max_connections of 100 (the web
    # splits its 30 between a write pool and an autocommit read pool: service/db/__init__.py).
    options = _timeouts(statement_timeout, idle_in_transaction_timeout)
    return create_engine(
        url,
        connect_args={"options": options} if options else {},
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=600,
        pool_pre_ping=pre_ping,
        hide_parameters=True,
        json_serializer=json_text,
        isolation_level="AUTOCOMMIT" if autocommit else None,
        # An autocommit connection holds no transaction to roll back when it is returned.
        pool_reset_on_return=None if autocommit else "rollback",
        execution_options={PREPARE_OPTION: True} if prepared_statements else {},
    )


def make_session_factory(engine):
    """A session factory whose objects stay usable after commit (we answer from them)."""
    return sessionmaker(bind=engine, expire_on_commit=False)
