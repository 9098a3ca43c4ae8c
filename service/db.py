"""One SQLAlchemy session per request; the request boundary commits, never the store."""

from flask import current_app, g

from models import make_engine, make_session_factory


def init_app(app, settings):
    """Create the engines and session factories for this app and close sessions on teardown."""
    postgres = settings.database_url.startswith("postgres")
    # Writes: 20 connections; reads: 10 more (30 per process, as models.db explains).
    prepared = settings.prepared_statements
    engine = (
        make_engine(settings.database_url, pool_size=10, max_overflow=10, prepared_statements=prepared)
        if postgres
        else make_engine(settings.database_url)
    )
    app.extensions["herd.engine"] = engine
    app.extensions["herd.sessions"] = make_session_factory(engine)
    # Reads without BEGIN and ROLLBACK: two round trips fewer for a SCIM GET. Under
    # PostgreSQL's READ COMMITTED every statement sees its own snapshot anyway, so a
    # read-only request sees exactly what it would inside a transaction. A pool of its
    # own, in autocommit from the moment each connection opens: switching a pooled
    # connection in and out of autocommit costs psycopg2 a round trip on every return.
    readers = (
        make_engine(settings.database_url, autocommit=True, pool_size=5, max_overflow=5, prepared_statements=prepared)
        if postgres
        else engine
    )
    app.extensions["herd.read_engine"] = readers
    app.extensions["herd.read_sessions"] = make_session_factory(readers)
    app.teardown_appcontext(_close_session)


def dispose_engines(app):
    """Close every pooled connection of the app's engines (tests and benches, before a fork or at the end)."""
    app.extensions["herd.engine"].dispose()
    app.extensions["herd.read_engine"].dispose()


def read_engine():
    """The engine of autocommit reads (on SQLite, the one engine)."""
    return current_app.extensions["herd.read_engine"]


def read_only():
    """Declare the current request read-only (before its first query): its statements run
    in autocommit. Only for requests that write nothing they need atomic."""
    g.db_read_only = True


def is_read_only():
    """Whether the current request was declared read-only (``read_only``)."""
    return g.get("db_read_only", False)


def session():
    """The current request's session (created on first use)."""
    if "db_session" not in g:
        factory = "herd.read_sessions" if is_read_only() else "herd.sessions"
        g.db_session = current_app.extensions[factory]()
    return g.db_session


def _close_session(_exc):
    s = g.pop("db_session", None)
    if s is not None:
        # close() ends the transaction (the pool rolls the connection back) and drops every
        # object; a rollback() first would also expire each object it is about to drop.
        s.close()
