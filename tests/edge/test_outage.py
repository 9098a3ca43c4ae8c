"""The database away: every surface answers 503 with ``Retry-After`` (never a 500), a valid
token is not rate-limited as a stranger meanwhile, and the log gets one line, no traceback.

``database_away`` makes every new connection of the app's engines fail as an unreachable
server does (the pooled ones are closed first); the real drill, with PostgreSQL cut off
behind a proxy while gunicorn serves POSTs, is tests/e2e/test_database_drills.py.
"""

import contextlib
import logging

import pytest
from limits import RateLimitItemPerMinute
from sqlalchemy import event

from service.edge import outage
from service.ratelimit import limiter as ratelimit
from tests.dashboard.conftest import Dashboard, make_admin
from tests.dashboard.helpers import user_body


@contextlib.contextmanager
def database_away(app):
    """Until exit, the app's database refuses connections (psycopg2's or sqlite3's own error)."""
    engines = {id(e): e for e in (app.extensions["herd.engine"], app.extensions["herd.read_engine"])}.values()

    def refuse(dialect, _record, _cargs, _cparams):
        raise dialect.loaded_dbapi.OperationalError("unable to open database file: connection refused")

    for engine in engines:
        engine.dispose()
        event.listen(engine, "do_connect", refuse)
    try:
        yield
    finally:
        for engine in engines:
            event.remove(engine, "do_connect", refuse)


@pytest.fixture(autouse=True)
def fresh_log_throttle(monkeypatch):
    monkeypatch.setattr(outage, "_throttle", outage._Throttle(outage.LOG_EVERY))


@pytest.fixture()
def small_address_budget(monkeypatch):
    """Strangers get 3 calls a minute per address (20/s in production), so a few calls show it."""
    monkeypatch.setattr(ratelimit, "_ANONYMOUS_ITEMS", (RateLimitItemPerMinute(3),))


def test_scim_answers_503_with_a_scim_error_and_retry_after_then_serves_again(app, tenant):
    with database_away(app):
        posted = tenant.post("Users", json=user_body("jo@acme.example"))
        listed = tenant.get("Users")
    for resp in (posted, listed):
        assert resp.status_code == 503, resp.get_data(as_text=True)
        assert resp.headers["Content-Type"].startswith("application/scim+json")
        assert resp.headers["Retry-After"] == str(outage.RETRY_AFTER_SECONDS)
        body = resp.get_json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and body["status"] == "503"
        assert "Retry after" in body["detail"]
    assert tenant.post("Users", json=user_body("jo@acme.example")).status_code == 201
    assert tenant.get("Users").get_json()["totalResults"] == 1


def test_the_api_answers_503_as_json_with_retry_after(app, client, tenant):
    with database_away(app):
        resp = client.get("/api/v1/learners", headers=tenant.headers())
    assert resp.status_code == 503 and resp.headers["Content-Type"] == "application/json"
    assert resp.headers["Retry-After"] == str(outage.RETRY_AFTER_SECONDS)
    assert "cannot reach its database" in resp.get_json()["error"]


def test_the_dashboard_answers_a_plain_503_page(app, client, sessions, tenant):
    make_admin(sessions, tenant.id, "ann@acme.example")
    dashboard = Dashboard(client)
    token = dashboard.csrf()
    with database_away(app):
        resp = client.post(
            "/dashboard/login", data={"csrf_token": token, "email": "ann@acme.example", "password": "x" * 12}
        )
    assert resp.status_code == 503 and resp.headers["Retry-After"] == str(outage.RETRY_AFTER_SECONDS)
    assert "Traceback" not in resp.get_data(as_text=True)


def test_a_valid_token_is_never_rate_limited_as_a_stranger_while_the_database_is_away(
    app, client, tenant, small_address_budget
):
    """The limiter could not read the token's company and counted its calls per address:
    Entra's steady POSTs got 429s instead of 503s during the outage."""
    app.extensions["herd.rate_limit_tokens"].clear()
    with database_away(app):
        statuses = [tenant.post("Users", json=user_body(f"u{n}@acme.example")).status_code for n in range(8)]
    assert statuses == [503] * 8
    assert tenant.post("Users", json=user_body("u0@acme.example")).status_code == 201
    # The address's budget is whole: the outage spent nothing of it.
    bogus = {"Authorization": "Bearer herd_made-up"}
    statuses = [client.get(f"/scim/v2/{tenant.id}/Users", headers=bogus).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_an_outage_logs_one_line_and_no_traceback(app, tenant, caplog):
    caplog.set_level(logging.INFO)
    with database_away(app):
        for n in range(6):
            assert tenant.post("Users", json=user_body(f"u{n}@acme.example")).status_code == 503
    # (The test settings' Redis is dead too: its own lines say so, once.)
    redis_lines = ("service.ratelimit.window_counter", "service.broker")
    about_database = [r.getMessage() for r in caplog.records if r.name not in redis_lines]
    assert len(about_database) == 1, about_database
    assert "database unreachable" in about_database[0] and "503" in about_database[0]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text


def test_another_database_error_is_still_a_500_with_its_traceback(app, tenant, monkeypatch, caplog):
    """Only an unreachable database is an outage: a wrong statement stays a bug, logged in full."""
    from sqlalchemy.exc import ProgrammingError

    def broken(*_args, **_kwargs):
        raise ProgrammingError("SELECT nope", {}, Exception("no such column: nope"))

    monkeypatch.setattr("service.auth._read_records", broken)
    resp = tenant.get("Users")
    assert resp.status_code == 500 and "Retry-After" not in resp.headers
    assert any(r.exc_info for r in caplog.records)
