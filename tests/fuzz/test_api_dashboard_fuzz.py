"""Fuzzing /api/v1 and the dashboard: no generated query string, body or form gets a 5xx."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.dashboard.conftest import Dashboard, make_admin
from tests.fuzz import strategies as fs


def _no_server_error(resp):
    assert resp.status_code < 500, resp.get_data(as_text=True)[:500]


@given(
    path=st.sampled_from(["learners", "learner_trainings", "audit_events", "trainings"]),
    params=st.dictionaries(
        st.sampled_from(["search", "page", "per_page", "learner_id", "status", "after", "cursor"])
        | fs.hostile_text(20),
        fs.hostile_text() | fs.huge_int(),
        max_size=3,
    ),
)
def test_api_query_strings(client, tenant, path, params):
    headers = {"Authorization": f"Bearer {tenant.token}"}
    query = "&".join(f"{fs.url_quote(k)}={fs.url_quote(v)}" for k, v in params.items())
    _no_server_error(client.get(f"/api/v1/{path}?{query}", headers=headers))
    assert client.get("/api/v1/learners", headers=headers).status_code == 200


@given(body=fs.json_values(), deep=st.integers(0, 3000), item=fs.hostile_text())
def test_api_bodies_and_ids(client, tenant, body, deep, item):
    headers = {"Authorization": f"Bearer {tenant.token}"}
    raw = "[" * deep + "]" * deep if deep else None
    resp = client.patch(
        "/api/v1/learner_trainings/1",
        data=raw,
        json=None if raw else {"progress": body, "status": item},
        headers=headers,
        content_type="application/json",
    )
    _no_server_error(resp)
    _no_server_error(client.get(f"/api/v1/learners/{fs.url_quote(item)}", headers=headers))
    assert client.get("/api/v1/learners", headers=headers).status_code == 200


@pytest.fixture()
def signed_in(app, sessions, tenant):

    make_admin(sessions, tenant.id, "fuzz@acme.example")
    dash = Dashboard(app.test_client())
    assert dash.login("fuzz@acme.example").status_code == 302
    return dash


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch):
    from argon2 import PasswordHasher

    from service.dashboard import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@given(
    page=st.sampled_from(["/dashboard/learners", "/dashboard/activity"]),
    params=st.dictionaries(
        st.sampled_from(["q", "status", "location", "role", "after", "before", "learner", "kind"]),
        fs.hostile_text()
        | st.builds(
            lambda d, k: f"{d}~{k}",
            st.sampled_from(["2026-01-01T00:00:00", "9999-12-31T23:59:59.999999", "0001-01-01", "x"]),
            fs.hostile_text(60),
        ),
        max_size=3,
    ),
)
def test_dashboard_query_strings(signed_in, page, params):
    query = "&".join(f"{k}={fs.url_quote(v)}" for k, v in params.items())
    _no_server_error(signed_in.get(f"{page}?{query}"))
    assert signed_in.get("/dashboard/learners").status_code == 200


@given(learner_id=fs.hostile_text())
def test_dashboard_learner_ids(signed_in, learner_id):
    _no_server_error(signed_in.get(f"/dashboard/learners/{fs.url_quote(learner_id)}"))
    assert signed_in.get("/dashboard/learners").status_code == 200


@settings(max_examples=20)
@given(email=fs.hostile_text(), password=fs.hostile_text(60))
def test_sign_in_form(app, tenant, email, password):
    anon = Dashboard(app.test_client())
    token = anon.csrf()
    # Encoded by hand: the test client cannot encode a lone surrogate, a browser or a script can send its bytes.
    form = f"csrf_token={token}&email={fs.url_quote(email)}&password={fs.url_quote(password)}"
    _no_server_error(anon.client.post("/dashboard/login", data=form, content_type="application/x-www-form-urlencoded"))
    assert anon.get("/dashboard/login").status_code == 200
