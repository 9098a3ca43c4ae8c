"""One SQLAlchemy session per request; the request boundary commits, never the store."""

from flask import current_app, g

from models import make_engine, make_session_factory


def init_app(app, settings):
    """Create the engine and session factory for this app and close sessions on teardown."""
    engine = make_engine(settings.database_url)
    app.extensions["herd.engine"] = engine
    app.extensions["herd.sessions"] = make_session_factory(engine)
    app.teardown_appcontext(_close_session)


def session():
    """The current request's session (created on first use)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["herd.sessions"]()
    return g.db_session


def _close_session(_exc):
    s = g.pop("db_session", None)
    if s is not None:
        s.rollback()
        s.close()
