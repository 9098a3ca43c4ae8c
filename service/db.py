"""One SQLAlchemy session per request; the request boundary commits, never the store."""

from flask import current_app, g

from models import make_engine, make_session_factory


def init_app(app, settings):
    """Create the engine and session factory for this app and close sessions on teardown."""
    engine = make_engine(settings.database_url)
    app.extensions["herd.engine"] = engine
    app.extensions["herd.sessions"] = make_session_factory(engine)
    # Reads without BEGIN and ROLLBACK: two round trips fewer for a SCIM GET. Under
    # PostgreSQL's READ COMMITTED every statement sees its own snapshot anyway, so a
    # read-only request sees exactly what it would inside a transaction. The same pool:
    # psycopg2 switches autocommit on the client side, without a round trip.
    readers = engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else engine
    app.extensions["herd.read_sessions"] = make_session_factory(readers)
    app.teardown_appcontext(_close_session)


def read_only():
    """Declare the current request read-only (before its first query): its statements run
    in autocommit. Only for requests that write nothing they need atomic."""
    g.db_read_only = True


def session():
    """The current request's session (created on first use)."""
    if "db_session" not in g:
        factory = "herd.read_sessions" if g.get("db_read_only") else "herd.sessions"
        g.db_session = current_app.extensions[factory]()
    return g.db_session


def _close_session(_exc):
    s = g.pop("db_session", None)
    if s is not None:
        s.rollback()
        s.close()
