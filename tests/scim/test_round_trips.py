"""Fewer round trips to PostgreSQL without losing a guarantee: no ping before a
connection is lent (a dropped one must not fail the next request), one statement to
authenticate, SCIM reads outside a transaction."""

import pytest
from sqlalchemy import event, func, select, text, update

from models import ProvisioningEvent
from tests.conftest import make_tenant
from tests.helpers import app_statements

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


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
    assert tenant.get("Users").status_code == 200  # the autocommit pool now holds an idle connection
    # A userName change is checked in a transaction: the transaction pool holds one too.
    learner_id = tenant.post("Users", json={"userName": "jo@example.com"}).get_json()["id"]
    rename = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "userName", "value": "jo2@example.com"}]}
    assert tenant.patch(f"Users/{learner_id}", json=rename).status_code == 200
    pids = _backend_pids(app.extensions["herd.engine"]) + _backend_pids(app.extensions["herd.read_engine"])
    assert len(pids) >= 2
    with engine.connect() as admin:
        for pid in pids:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    resp = tenant.get("Users")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    resp = tenant.post("Users", json={"userName": "al@example.com"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    rename["Operations"][0]["value"] = "jo3@example.com"
    resp = tenant.patch(f"Users/{learner_id}", json=rename)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    # And the requests after them too (the dead connections were all replaced).
    assert tenant.get("Users").status_code == 200
    assert tenant.post("Users", json={"userName": "bo@example.com"}).status_code == 201


def test_authentication_is_one_statement(app, sessions, engine):
    """The token and its company in one round trip (the last_used_at write aside)."""
    tenant = make_tenant(sessions, app.test_client(), "Acme", 7)
    tenant.get("ServiceProviderConfig")  # the token's last_used_at is written here, once a minute
    with app_statements(app) as statements:
        assert tenant.get("ServiceProviderConfig").status_code == 200
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1, statements


def _statements_of(app, request):
    """(first word, autocommit?) of each statement ``request()`` sends, on either engine."""
    seen = []

    def note(conn, _cursor, statement, *_args):
        seen.append((statement.split()[0].upper(), conn.connection.dbapi_connection.autocommit))

    engines = (app.extensions["herd.engine"], app.extensions["herd.read_engine"])
    for e in engines:
        event.listen(e, "before_cursor_execute", note)
    try:
        request()
    finally:
        for e in engines:
            event.remove(e, "before_cursor_execute", note)
    return seen


def test_a_scim_read_opens_no_transaction_and_a_learner_write_is_one_statement(app, sessions, engine):
    """GETs run in autocommit (no BEGIN / ROLLBACK round trips); a learner and its event are
    written by one statement, atomic by itself (no BEGIN / COMMIT round trips either)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("autocommit is a PostgreSQL setting")
    tenant = make_tenant(sessions, app.test_client(), "Acme", 7)
    tenant.get("ServiceProviderConfig")  # the token's last_used_at is written here, once a minute
    reads = _statements_of(app, lambda: tenant.get("Users", query_string={"filter": 'userName eq "nobody"'}))
    assert reads == [("SELECT", True)], reads
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "jo@example.com"}
    answers = []
    writes = _statements_of(app, lambda: answers.append(tenant.post("Users", json=body)))
    assert answers[0].status_code == 201
    assert writes == [("SELECT", True), ("WITH", True)], writes
    learner_id = answers[0].get_json()["id"]
    with engine.connect() as conn:
        events = conn.execute(
            select(func.count()).select_from(ProvisioningEvent).where(ProvisioningEvent.resource_id == learner_id)
        ).scalar()
    assert events == 1
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]}
    writes = _statements_of(app, lambda: answers.append(tenant.patch(f"Users/{learner_id}", json=patch)))
    assert answers[1].status_code == 200
    assert writes == [("SELECT", True), ("WITH", True)], writes


def test_a_learner_write_that_also_writes_its_company_is_one_transaction(app, sessions, engine):
    """The first learner in a new extension URN also records the URN on the company: all of it
    in one transaction, never the learner without the company's change or the other way round."""
    if engine.dialect.name != "postgresql":
        pytest.skip("autocommit is a PostgreSQL setting")
    tenant = make_tenant(sessions, app.test_client(), "Acme", 7)
    tenant.get("ServiceProviderConfig")
    urn = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
    body = {"userName": "jo@example.com", urn: {"state": "Ontario"}}
    answers = []
    writes = _statements_of(app, lambda: answers.append(tenant.post("Users", json=body)))
    assert answers[0].status_code == 201
    assert writes[0] == ("SELECT", True)
    assert [kind for kind, _ in writes[1:]] == ["UPDATE", "INSERT", "INSERT"], writes
    assert not any(autocommit for _, autocommit in writes[1:]), writes


def test_a_scim_read_costs_no_round_trip_besides_its_statements(app, sessions, engine):
    """A read connection goes back to its pool as it came (no isolation level switched back and
    forth: psycopg2 pays a round trip for each switch), and a write connection stays transactional."""
    if engine.dialect.name != "postgresql":
        pytest.skip("autocommit reads are a PostgreSQL setting")
    tenant = make_tenant(sessions, app.test_client(), "Acme", 7)
    for _ in range(2):  # the pool's connection is opened (and set to autocommit once)
        tenant.get("Users", query_string={"filter": 'userName eq "nobody"'})
    switched = []
    for name in ("herd.engine", "herd.read_engine"):
        dialect = app.extensions[name].dialect
        original = dialect.set_isolation_level
        dialect.set_isolation_level = lambda conn, level, original=original: (
            switched.append(level),
            original(conn, level),
        )
    try:
        for _ in range(3):
            assert tenant.get("Users", query_string={"filter": 'userName eq "nobody"'}).status_code == 200
    finally:
        for name in ("herd.engine", "herd.read_engine"):
            vars(app.extensions[name].dialect).pop("set_isolation_level", None)
    assert switched == []


def test_a_user_by_id_is_read_with_the_token_in_one_statement(app, sessions):
    """GET /Users/{id}: the token, its company and the learner in one round trip."""
    tenant = make_tenant(sessions, app.test_client(), "Acme", 7)
    learner_id = tenant.post("Users", json={"userName": "jo@example.com"}).get_json()["id"]
    with app_statements(app) as statements:
        resp = tenant.get(f"Users/{learner_id}")
    assert resp.status_code == 200 and resp.get_json()["userName"] == "jo@example.com"
    assert len(statements) == 1, statements


def test_the_row_read_with_the_token_is_only_ever_the_tokens_companys(app, sessions):
    """Another company's learner id under one's own tenant URL is a 404, never that learner."""
    acme = make_tenant(sessions, app.test_client(), "Acme", 7)
    globex = make_tenant(sessions, app.test_client(), "Globex", 8)
    learner_id = acme.post("Users", json={"userName": "jo@example.com"}).get_json()["id"]
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Taken over"}],
    }
    assert globex.get(f"Users/{learner_id}").status_code == 404
    assert globex.patch(f"Users/{learner_id}", json=patch).status_code == 404
    assert globex.delete(f"Users/{learner_id}").status_code == 404
    after = acme.get(f"Users/{learner_id}").get_json()
    assert after["userName"] == "jo@example.com" and "displayName" not in after


def test_a_new_learner_is_looked_up_with_the_token(app, sessions):
    """POST /Users: whether the userName is taken (or DELETEd, to bring back) is read in
    authentication's statement: one SELECT, then the learner and its event."""
    tenant = make_tenant(sessions, app.test_client(), "Acme", 7)
    tenant.get("ServiceProviderConfig")  # the token's last_used_at is written here, once a minute
    with app_statements(app) as statements:
        assert tenant.post("Users", json={"userName": "jo@example.com"}).status_code == 201
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1, statements
    assert tenant.post("Users", json={"userName": "JO@example.com"}).status_code == 409


def test_a_user_name_lookup_is_answered_with_the_token(app, sessions):
    """Entra's lookup before every write, ``userName eq``, is one statement; it finds live
    learners only, whatever the case or Unicode form of the name."""
    tenant = make_tenant(sessions, app.test_client(), "Acme", 7)
    learner_id = tenant.post("Users", json={"userName": "José@example.com"}).get_json()["id"]
    decomposed = "Jose\u0301@EXAMPLE.com"
    with app_statements(app) as statements:
        found = tenant.get("Users", query_string={"filter": f'userName eq "{decomposed}"'}).get_json()
    assert [r["id"] for r in found["Resources"]] == [learner_id] and found["totalResults"] == 1
    assert len(statements) == 1, statements
    assert tenant.delete(f"Users/{learner_id}").status_code == 204
    gone = tenant.get("Users", query_string={"filter": 'userName eq "josé@example.com"'}).get_json()
    assert gone["totalResults"] == 0 and gone["Resources"] == []


def test_external_id_and_work_email_lookups_are_answered_with_the_token(app, sessions):
    """The other lookups IdPs make before a write, ``externalId eq`` and Entra's
    ``emails[type eq "work"].value eq``, are one statement too, and find live learners only.
    The work-email column narrows, the filter decides: a learner whose only email is a
    primary home address (the column's fallback) is no match for a work-email lookup."""
    tenant = make_tenant(sessions, app.test_client(), "Acme", 7)
    work = tenant.post(
        "Users",
        json={
            "userName": "jo@example.com",
            "externalId": "JO-1",
            "emails": [{"type": "work", "value": "Jo@Acme.example"}],
        },
    ).get_json()["id"]
    tenant.post(
        "Users",
        json={
            "userName": "kim@example.com",
            "emails": [{"type": "home", "primary": True, "value": "kim@home.example"}],
        },
    )
    lookups = {
        'externalId eq "jo-1"': [work],
        'emails[type eq "work"].value eq "JO@acme.example"': [work],
        'emails[type eq "work"].value eq "kim@home.example"': [],
        'emails[type eq "home"].value eq "kim@home.example"': None,  # not an IdP's lookup: SQL decides
    }
    for filter_text, expected in lookups.items():
        with app_statements(app) as statements:
            found = tenant.get("Users", query_string={"filter": filter_text}).get_json()
        if expected is not None:
            assert [r["id"] for r in found["Resources"]] == expected, filter_text
            assert found["totalResults"] == len(expected)
            assert len(statements) == 1, (filter_text, statements)
        else:
            assert found["totalResults"] == 1 and len(statements) == 2, (filter_text, statements)
    assert tenant.delete(f"Users/{work}").status_code == 204
    for filter_text in ('externalId eq "JO-1"', 'emails[type eq "work"].value eq "jo@acme.example"'):
        assert tenant.get("Users", query_string={"filter": filter_text}).get_json()["totalResults"] == 0, filter_text


def test_a_revoked_token_is_refused_on_its_very_next_write(tenant, sessions):
    # Writes authenticate in Core, with the learner read in the same statement: nothing of
    # the token is kept between requests, so revoking it takes effect on the next call.
    from models import AccessToken, Learner, ProvisioningEvent, utcnow
    from tests.idps.test_entra_users import fixture

    body = fixture("create_user.json")
    user = tenant.post("Users", json=body).get_json()
    with sessions() as s:
        s.execute(update(AccessToken).where(AccessToken.company_id == tenant.id).values(revoked_at=utcnow()))
        s.commit()
    url = f"Users/{user['id']}"
    ops = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "x"}],
    }
    assert tenant.patch(url, json=ops).status_code == 401
    assert tenant.put(url, json={**body, "title": "x"}).status_code == 401
    assert tenant.delete(url).status_code == 401
    assert tenant.post("Users", json={**body, "userName": "someone.else@acme.example"}).status_code == 401
    with sessions() as s:
        learners = s.scalars(select(Learner)).all()
        assert [(lr.version, lr.deleted_at, lr.resource.get("title")) for lr in learners] == [(1, None, None)]
        assert s.scalar(select(func.count()).select_from(ProvisioningEvent)) == 1


def test_a_revoked_token_is_refused_on_its_very_next_read(tenant, sessions):
    # Reads too: right after calls that the token passed (so the rate limiter remembers
    # it as accepted, and every per-process cache is warm), the first read after the
    # revocation is a 401, on every lookup Entra and Okta make, and no learner leaks.
    from models import AccessToken, utcnow

    user = tenant.post("Users", json={"userName": "kim@acme.example", "externalId": "K-1"}).get_json()
    reads = [
        (f"Users/{user['id']}", None),
        ("Users", {"filter": 'userName eq "kim@acme.example"'}),
        ("Users", {"filter": 'externalId eq "K-1"'}),
        ("Users", None),
    ]
    for path, query in reads:
        assert tenant.get(path, query_string=query).status_code == 200, path
    with sessions() as s:
        s.execute(update(AccessToken).where(AccessToken.company_id == tenant.id).values(revoked_at=utcnow()))
        s.commit()
    for path, query in reads:
        answer = tenant.get(path, query_string=query)
        assert answer.status_code == 401, (path, query)
        assert "kim@acme.example" not in answer.get_data(as_text=True)
