"""Fuzzing the edge (issue 21): ids of every size in every URL, invented methods, case-expanding
names. Never a 5xx; an id answers the same whatever its size; /metrics keeps its closed label set."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from limits import RateLimitItemPerSecond

from service.edge import metrics
from service.ratelimit import limiter
from tests.dashboard.conftest import Dashboard, make_admin
from tests.fuzz import strategies as fs


@pytest.fixture(autouse=True)
def _no_address_budget(monkeypatch):
    """Hundreds of refused examples a second from one address would spend its budget (20/s,
    300/min: tests/edge/test_rate_limits.py holds it) and answer 429 instead of what is fuzzed."""
    monkeypatch.setattr(limiter, "_ANONYMOUS_ITEMS", (RateLimitItemPerSecond(10**9),))


NO_TOKEN = [{}, {"Authorization": "Bearer bogus"}, {"Authorization": "bogus"}, {"Authorization": "Basic eDp5"}]


@given(
    company_id=fs.path_ids(),
    path=st.sampled_from(["Users/x", "Users", "Groups/x", "Schemas", "Users/.search"]),
    method=st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE"]),
    headers=st.sampled_from(NO_TOKEN),
)
def test_tenant_ids_of_every_size_without_a_token(client, company_id, path, method, headers):
    """A bogus token: 401 for an id a company can have, 404 for any other; never a 500."""
    resp = client.open(f"/scim/v2/{company_id}/{path}", method=method, headers=headers, json={})
    assert resp.status_code < 500, resp.get_data(as_text=True)[:300]
    # A method the route does not take is a 405 whatever the id (routing answers first).
    if resp.status_code != 405:
        assert resp.status_code == (401 if fs.in_range_id(company_id) else 404)


@given(company_id=fs.path_ids(), path=st.sampled_from(["Users/x", "Users", "Groups/x"]))
def test_tenant_ids_of_every_size_with_a_valid_token(groups_on, client, company_id, path):
    """A valid token on another id: 401 when a company could have it, 404 when none can."""
    resp = client.get(f"/scim/v2/{company_id}/{path}", headers=groups_on.headers())
    assert resp.status_code < 500, resp.get_data(as_text=True)[:300]
    if not fs.in_range_id(company_id):
        assert resp.status_code == 404
    elif int(company_id) != groups_on.id:
        assert resp.status_code == 401


@given(number=fs.path_ids(), method=st.sampled_from(["GET", "PATCH"]), valid=st.booleans())
def test_api_ids_of_every_size(client, tenant, number, method, valid):
    headers = tenant.headers() if valid else {"Authorization": "Bearer bogus"}
    resp = client.open(f"/api/v1/learner_trainings/{number}", method=method, headers=headers, json={})
    assert resp.status_code < 500, resp.get_data(as_text=True)[:300]
    if not fs.in_range_id(number):
        assert resp.status_code == 404
    elif not valid:
        assert resp.status_code == 401


@pytest.fixture()
def signed_in(app, sessions, tenant, monkeypatch):
    from argon2 import PasswordHasher

    from service.dashboard import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    make_admin(sessions, tenant.id, "edge@acme.example")
    dash = Dashboard(app.test_client())
    assert dash.login("edge@acme.example").status_code == 302
    return dash


@given(number=fs.path_ids())
def test_dashboard_ids_of_every_size(signed_in, number):
    assert signed_in.get(f"/dashboard/smart-assign/jobs/{number}").status_code == 404
    for path in (
        f"/dashboard/settings/integrations/api/tokens/{number}/revoke",
        f"/dashboard/smart-assign/group-rules/{number}/delete",
    ):
        resp = signed_in.post(path)
        assert resp.status_code < 500, resp.get_data(as_text=True)[:300]
        if not fs.in_range_id(number):
            assert resp.status_code == 404


def _labels(text, name):
    return set(re.findall(rf'{name}="([^"]*)"', text))


@given(
    method=fs.invented_methods(),
    path=st.sampled_from(["/healthz", "/metrics", "/scim/v2/1/Users", "/api/v1/learners", "/dashboard/", "/nope"]),
    suffix=fs.hostile_text(30),
)
def test_invented_methods_keep_metrics_labels_closed(app, client, method, path, suffix):
    # The registry is the process's: other tests' apps have added routes of their own.
    seen = _labels(client.get("/metrics").get_data(as_text=True), "route")
    resp = client.open(path + "/" + fs.url_quote(suffix), method=method)
    assert resp.status_code < 500, resp.get_data(as_text=True)[:300]
    text = client.get("/metrics").get_data(as_text=True)
    assert _labels(text, "method") <= metrics.METHODS | {metrics.OTHER_METHOD}
    templates = {rule.rule for rule in app.url_map.iter_rules()} | {metrics.UNMATCHED}
    assert _labels(text, "route") - seen <= templates


@given(
    char=st.sampled_from(fs.CASE_EXPANDING),
    n=st.sampled_from([1, 100, 150, 151, 299, 300]),
    where=st.sampled_from(["userName", "externalId", "email"]),
)
def test_case_expanding_names_of_any_length(tenant, char, n, where):
    """Too long once lower-cased is a 400 naming the attribute; anything shorter is stored."""
    value = char * n
    body = {"userName": f"edge{n}@acme.example"}
    if where == "email":
        body["emails"] = [{"value": value, "type": "work"}]
    else:
        body[where] = value
    resp = tenant.post("Users", json=body)
    assert resp.status_code < 500, resp.get_data(as_text=True)[:300]
    if len(value.lower()) > 300:
        assert resp.status_code == 400 and "lower-cased" in resp.get_json()["detail"]
    else:
        assert resp.status_code in (201, 409)
