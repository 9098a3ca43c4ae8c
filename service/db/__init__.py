"""One SQLAlchemy session per request; the request boundary commits, never the store."""

import contextlib
from concurrent.futures import ThreadPoolExecutor

from flask import current_app, g

from models import make_engine, make_session_factory


def init_app(app, settings):
    """Create the engines and session factories for this app and close sessions on teardown."""
    postgres = settings.database_url.startswith("postgres")
    # Transactions: 10 connections; autocommit: 20 more (30 per process, as models.db
    # explains). Each is opened when first needed and then kept (no overflow): a connection
    # closed after a burst would cost the next burst a new PostgreSQL backend and its
    # prepared statements.
    # The transaction pool pings each connection it lends: its first statement is no longer
    # authentication's read, which is retried on a dead connection (service/db/retry.py),
    # and a write must not be. The round trip is paid only here: SCIM's common requests
    # run on the autocommit pool.
    prepared = settings.prepared_statements
    # A statement or an idle transaction past its limit is cancelled by PostgreSQL
    # (config: DATABASE_STATEMENT_TIMEOUT, DATABASE_IDLE_IN_TRANSACTION_TIMEOUT).
    timeouts = {
        "statement_timeout": settings.statement_timeout,
        "idle_in_transaction_timeout": settings.idle_in_transaction_timeout,
    }
    engine = (
        make_engine(
            settings.database_url, pool_size=10, max_overflow=0, prepared_statements=prepared, pre_ping=True, **timeouts
        )
        if postgres
        else make_engine(settings.database_url)
    )
    app.extensions["herd.engine"] = engine
    app.extensions["herd.sessions"] = make_session_factory(engine)
    # Statements without BEGIN and COMMIT/ROLLBACK: authentication, every SCIM read, and a
    # learner written with its event in one statement (atomic by itself). Under
    # PostgreSQL's READ COMMITTED every statement sees its own snapshot anyway, so a
    # read sees exactly what it would inside a transaction. Most SCIM traffic runs here,
    # hence the larger pool. In autocommit from the moment each connection opens:
    # switching a pooled connection in and out of autocommit costs psycopg2 a round trip
    # on every return.
    readers = (
        make_engine(
            settings.database_url,
            autocommit=True,
            pool_size=20,
            max_overflow=0,
            prepared_statements=prepared,
            **timeouts,
        )
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


def session_factory():
    """The app's session factory, for work outside a request's session (commands, streams, hooks)."""
    return current_app.extensions["herd.sessions"]


def read_engine():
    """The engine of autocommit statements (on SQLite, the one engine, in transactions)."""
    return current_app.extensions["herd.read_engine"]


def autocommit_engine():
    """The engine whose connections run each statement on its own (PostgreSQL's), or None
    where there is none (SQLite: one engine, transactions only)."""
    readers = current_app.extensions["herd.read_engine"]
    return None if readers is current_app.extensions["herd.engine"] else readers


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


class LazySession:
    """The current request's session, made only when something uses it.

    A SCIM write whose learner and event are one autocommit statement
    (``service.scim.users.rows.write``) asks only whether a transaction is open: it never
    needs a session, and making one, committing it empty and closing it cost such a request
    more CPU than its statement's own Python. Any other use makes the session (``session()``)
    and is passed on to it.
    """

    __slots__ = ()

    def in_transaction(self):
        """True when the request's session exists and holds a transaction."""
        made = g.get("db_session")
        return made is not None and made.in_transaction()

    def __getattr__(self, name):
        return getattr(session(), name)


_LAZY = LazySession()


def lazy_session():
    """The current request's session, made on first use (``LazySession``)."""
    return _LAZY


def commit(session):
    """Commit the request's work; its provisioning event (if any) is published by the outbox
    relay (workers/relay.py), never from inside the request. A ``LazySession`` never made
    has nothing to commit."""
    if isinstance(session, LazySession):
        session = g.get("db_session")
        if session is None:
            return
    session.commit()


class Aside:
    """A read started on a session of its own, in another thread, while the request goes on
    with its own session: ``result()`` waits for it (raising its error, if any). The thread is
    a greenlet under gunicorn's gevent workers (psycopg2 waits on the event loop there), so the
    two statements overlap in PostgreSQL either way. Its session is closed by ``result()`` or,
    at the latest, when the request ends."""

    def __init__(self, fn, args):
        self.session = session_factory()()
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="herd-aside")
        self._future = pool.submit(fn, self.session, *args)
        pool.shutdown(wait=False)  # the thread ends with its one task
        g.setdefault("db_aside", []).append(self)

    def result(self):
        """The read's value, once it is done."""
        try:
            return self._future.result()
        finally:
            self.session.close()


def run_aside(fn, *args):
    """Start ``fn(session, *args)`` (a read: nothing is committed) on a connection of its own;
    returns its ``Aside``. For a page's independent heavy statements, which then take as
    long as the longest of them instead of their sum."""
    return Aside(fn, args)


def _close_session(_exc):
    for aside in g.pop("db_aside", ()):
        # Never close a session another thread still uses; its error was the view's to raise.
        with contextlib.suppress(Exception):
            aside.result()
    s = g.pop("db_session", None)
    if s is not None:
        # close() ends the transaction (the pool rolls the connection back) and drops every
        # object; a rollback() first would also expire each object it is about to drop.
        s.close()
