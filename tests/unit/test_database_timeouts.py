"""PostgreSQL cancels a web statement that runs past DATABASE_STATEMENT_TIMEOUT and ends a web
transaction left idle past DATABASE_IDLE_IN_TRANSACTION_TIMEOUT: a clean error, not a hang, and
the pool carries on. The workers get their own, longer limits."""

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from config import ConfigError, Settings


def test_settings_read_the_timeouts_in_seconds_with_defaults():
    defaults = Settings.from_env(env={})
    assert (defaults.statement_timeout, defaults.idle_in_transaction_timeout) == (30, 60)
    assert (defaults.worker_statement_timeout, defaults.worker_idle_in_transaction_timeout) == (300, 300)
    env = {
        "DATABASE_STATEMENT_TIMEOUT": "5",
        "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT": "0",
        "WORKER_STATEMENT_TIMEOUT": "900",
        "WORKER_IDLE_IN_TRANSACTION_TIMEOUT": "600",
    }
    got = Settings.from_env(env=env)
    assert (got.statement_timeout, got.idle_in_transaction_timeout) == (5, 0)
    assert (got.worker_statement_timeout, got.worker_idle_in_transaction_timeout) == (900, 600)
    for bad in ("-1", "30s"):
        with pytest.raises(ConfigError, match="DATABASE_STATEMENT_TIMEOUT"):
            Settings.from_env(env={"DATABASE_STATEMENT_TIMEOUT": bad})


@pytest.fixture()
def postgres_url(db_url):
    if not db_url.startswith("postgres"):
        pytest.skip("statement timeouts are PostgreSQL's")
    return db_url


def _shown(engine):
    with engine.connect() as conn:
        return (
            conn.execute(text("SHOW statement_timeout")).scalar(),
            conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar(),
        )


def _app(postgres_url, **timeouts):
    from service import create_app

    settings = Settings.from_env(
        env={}, database_url=postgres_url, redis_url="redis://127.0.0.1:1/0", secret_key="test-secret", **timeouts
    )
    return create_app(settings)


def test_the_web_engines_carry_the_configured_timeouts(postgres_url):
    from service.db import dispose_engines

    app = _app(postgres_url)
    try:
        for name in ("herd.engine", "herd.read_engine"):
            assert _shown(app.extensions[name]) == ("30s", "1min"), name
    finally:
        dispose_engines(app)


def test_a_statement_sleeping_past_the_timeout_is_cancelled_and_the_pool_carries_on(postgres_url):
    from service.db import dispose_engines

    app = _app(postgres_url, statement_timeout=1)
    try:
        for name in ("herd.engine", "herd.read_engine"):
            engine = app.extensions[name]
            with engine.connect() as conn, pytest.raises(OperationalError) as caught:
                conn.execute(text("SELECT pg_sleep(30)"))
            assert caught.value.orig.pgcode == "57014"  # query_canceled
            assert "statement timeout" in str(caught.value.orig)
            with engine.connect() as conn:  # the same pooled connection answers the next statement
                assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        dispose_engines(app)


def test_a_transaction_left_idle_past_the_timeout_is_ended(postgres_url):
    from service.db import dispose_engines

    app = _app(postgres_url, idle_in_transaction_timeout=1)
    engine = app.extensions["herd.engine"]
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))  # a transaction is open now, and left idle
            time.sleep(2.5)
            with pytest.raises(DBAPIError):
                conn.execute(text("SELECT 1"))
        # The pool replaces the connection the server closed.
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        dispose_engines(app)


def test_the_workers_engine_gets_the_workers_longer_timeouts(postgres_url, monkeypatch):
    from workers import celery_app

    monkeypatch.setattr(celery_app, "settings", Settings.from_env(env={}, database_url=postgres_url))
    monkeypatch.setattr(celery_app, "_state", {})
    celery_app.sessions()
    engine = celery_app._state["engine"]
    try:
        assert _shown(engine) == ("5min", "5min")
    finally:
        engine.dispose()
