"""Fewer round trips to PostgreSQL without losing a guarantee: no ping before a
connection is lent (a dropped one must not fail the next request), one statement to
authenticate, SCIM reads outside a transaction."""

import pytest
from sqlalchemy import text

from tests.conftest import make_tenant


def _backend_pids(engine):
    """The server-side pids of the connections the app's pool holds idle."""
    pids = []
    conns = [engine.connect() for _ in range(engine.pool.checkedin())]
    for conn in conns:
        pids.append(conn.execute(text("SELECT pg_backend_pid()")).scalar())
    for conn in conns:
        conn.close()
    return pids


def test_a_connection_killed_by_the_database_does_not_fail_the_next_request(app, sessions, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("terminating a backend needs PostgreSQL")
    tenant = make_tenant(sessions, app.test_client(), "Acme", 7)
    assert tenant.get("Users").status_code == 200  # the app's pool now holds an idle connection
    app_engine = app.extensions["herd.engine"]
    pids = _backend_pids(app_engine)
    assert pids
    with engine.connect() as admin:
        for pid in pids:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    resp = tenant.get("Users")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    # And the request after it too (the dead connections were all replaced).
    assert tenant.get("Users").status_code == 200


def test_authentication_is_one_statement(app, sessions, engine):
    """The token and its company in one round trip (the last_used_at write aside)."""
    from sqlalchemy import event

    tenant = make_tenant(sessions, app.test_client(), "Acme", 7)
    tenant.get("ServiceProviderConfig")  # the token's last_used_at is written here, once a minute
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    app_engine = app.extensions["herd.engine"]
    event.listen(app_engine, "before_cursor_execute", count)
    try:
        assert tenant.get("ServiceProviderConfig").status_code == 200
    finally:
        event.remove(app_engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1, statements


def test_a_scim_read_opens_no_transaction_and_a_write_does(app, sessions, engine):
    """GETs run in autocommit (no BEGIN / ROLLBACK round trips); writes stay one transaction."""
    if engine.dialect.name != "postgresql":
        pytest.skip("autocommit reads are a PostgreSQL setting")
    from sqlalchemy import event

    tenant = make_tenant(sessions, app.test_client(), "Acme", 7)
    tenant.get("ServiceProviderConfig")  # the token's last_used_at is written here, once a minute
    seen = []

    def note(conn, _cursor, statement, *_args):
        seen.append((statement.split()[0].upper(), conn.connection.dbapi_connection.autocommit))

    app_engine = app.extensions["herd.engine"]
    event.listen(app_engine, "before_cursor_execute", note)
    try:
        assert tenant.get("Users", query_string={"filter": 'userName eq "nobody"'}).status_code == 200
        reads, seen[:] = list(seen), []
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "jo@example.com"}
        assert tenant.post("Users", json=body).status_code == 201
        writes = list(seen)
    finally:
        event.remove(app_engine, "before_cursor_execute", note)
    assert reads and all(autocommit for _, autocommit in reads), reads
    inserts = [autocommit for kind, autocommit in writes if kind == "INSERT"]
    assert inserts and not any(inserts), writes
