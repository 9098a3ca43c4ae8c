"""A web process keeps the tokens it accepted and checks only their company's
``auth_version`` on the next requests (service/auth_cache.py). Here, two apps stand for two
web processes, each with its own cache: a token both accepted, then revoked, expired,
deleted or turned away by its company's settings, is refused on the very next request of
each, on every path that reads the token (SCIM Users, Groups, Bulk, /api/v1, OAuth-issued
tokens). The test settings' Redis is dead: none of this needs it."""

from datetime import timedelta

import pytest
from sqlalchemy import delete, update

from models import AccessToken, Company, utcnow
from service.oauth import clients as oauth_clients
from tests.conftest import Tenant
from tests.dashboard.helpers import user_body
from tests.helpers import app_statements

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


@pytest.fixture()
def second(settings, tenant):
    """``tenant`` as seen through a second app: another process, another cache."""
    from service import create_app

    app = create_app(settings)
    app.config["TESTING"] = True
    return Tenant(app.test_client(), tenant.id, tenant.token)


def _learner(tenant):
    resp = tenant.post("Users", json=user_body("kept@acme.example"))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["id"]


def _calls(learner_id):
    """Each path that authenticates, as ``call(tenant) -> response``, with its success status."""
    names = (f"new{n}@acme.example" for n in range(100))
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "K"}]}
    bulk = {
        "schemas": [BULK_REQUEST],
        "Operations": [{"method": "PATCH", "path": f"/Users/{learner_id}", "data": patch}],
    }
    return {
        "get by id": (lambda t: t.get(f"Users/{learner_id}"), 200),
        "userName filter": (lambda t: t.get("Users", query_string={"filter": 'userName eq "kept@acme.example"'}), 200),
        "externalId filter": (lambda t: t.get("Users", query_string={"filter": 'externalId eq "kept"'}), 200),
        "work email filter": (
            lambda t: t.get("Users", query_string={"filter": 'emails[type eq "work"].value eq "kept@acme.example"'}),
            200,
        ),
        "post": (lambda t: t.post("Users", json=user_body(next(names))), 201),
        "patch": (lambda t: t.patch(f"Users/{learner_id}", json=patch), 200),
        "groups": (lambda t: t.get("Groups"), 200),
        "bulk": (lambda t: t.post("Bulk", json=bulk), 200),
        "discovery": (lambda t: t.get("ServiceProviderConfig"), 200),
        "api": (lambda t: t.client.get("/api/v1/learners", headers=t.headers()), 200),
    }


def _refused(resp):
    return resp.status_code == 401 or (resp.is_json and "401" in str(resp.get_json().get("Operations", "")))


@pytest.mark.parametrize("path", list(_calls("x")))
def test_a_revoked_token_is_refused_on_the_very_next_request_in_every_process(
    app, tenant, second, sessions, groups_on, path
):
    learner_id = _learner(tenant)
    call, ok = _calls(learner_id)[path]
    for each in (tenant, second):
        assert call(each).status_code == ok  # read in full, kept
    # Kept: the next request reads no token row (its company's version only).
    with app_statements(app) as statements:
        assert call(tenant).status_code == ok
    assert statements and not [s for s in statements if "access_tokens" in s], statements
    with sessions() as s:
        s.execute(update(AccessToken).where(AccessToken.company_id == tenant.id).values(revoked_at=utcnow()))
        s.commit()
    for each in (tenant, second):
        resp = call(each)
        assert _refused(resp), (path, resp.status_code, resp.get_data(as_text=True)[:300])


def test_a_kept_token_is_refused_once_it_expires_with_nothing_written(tenant, second, sessions, monkeypatch):
    import service.auth

    expires_at = utcnow() + timedelta(minutes=5)
    with sessions() as s:
        s.execute(update(AccessToken).where(AccessToken.company_id == tenant.id).values(expires_at=expires_at))
        s.commit()
    for each in (tenant, second):
        assert each.get("Users").status_code == 200
        assert each.get("Users").status_code == 200  # kept
    monkeypatch.setattr(service.auth, "utcnow", lambda: expires_at + timedelta(seconds=1))
    for each in (tenant, second):
        assert each.get("Users").status_code == 401


def test_a_deleted_token_and_a_company_turned_oauth_only_are_refused_next(tenant, second, sessions):
    for each in (tenant, second):
        assert each.get("Users").status_code == 200
    with sessions() as s:
        s.execute(update(Company).where(Company.id == tenant.id).values(oauth_only=True))
        s.commit()
    for each in (tenant, second):
        assert each.get("Users").status_code == 401  # a static token no longer opens it
    with sessions() as s:
        s.execute(update(Company).where(Company.id == tenant.id).values(oauth_only=False))
        s.commit()
    for each in (tenant, second):
        assert each.get("Users").status_code == 200
    with sessions() as s:
        s.execute(delete(AccessToken).where(AccessToken.company_id == tenant.id))
        s.commit()
    for each in (tenant, second):
        assert each.get("Users").status_code == 401


def test_a_company_setting_changed_elsewhere_applies_to_the_next_request(tenant, second, sessions):
    lookup = {"filter": 'displayName eq "Managers"'}
    for each in (tenant, second):
        assert each.get("Groups", query_string=lookup).status_code == 501  # groups off
        assert each.get("Groups", query_string=lookup).status_code == 501  # kept
    with sessions() as s:
        s.execute(update(Company).where(Company.id == tenant.id).values(groups_enabled=True))
        s.commit()
    for each in (tenant, second):
        assert each.get("Groups", query_string=lookup).status_code == 200


def test_last_used_at_does_not_send_a_kept_token_back_to_the_full_check(app, tenant, sessions):
    """The minute's ``last_used_at`` write is not a change of what authentication checks."""
    assert tenant.get("Users").status_code == 200
    with sessions() as s:
        s.execute(update(AccessToken).values(last_used_at=utcnow() - timedelta(hours=1)))
        s.commit()
    with app_statements(app) as statements:
        assert tenant.get("ServiceProviderConfig").status_code == 200
    assert not [s for s in statements if "FROM access_tokens" in s or "from access_tokens" in s], statements


def test_an_oauth_token_is_refused_next_once_its_client_is_disabled(client, tenant, second, sessions):
    from tests.oauth.test_token_endpoint import GRANT, TOKEN_URL, basic, bearer

    with sessions() as s:
        made, _secret, plain = oauth_clients.create_client(s, tenant.id, "Entra ID gallery")
        s.commit()
        client_id = made.client_id
    resp = client.post(TOKEN_URL, data=GRANT, headers=basic(client_id, plain))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    token = resp.get_json()["access_token"]
    for http in (client, second.client):
        for _ in range(2):
            assert http.get(f"{tenant.base}/Users", headers=bearer(token)).status_code == 200
            assert http.get("/api/v1/learners", headers=bearer(token)).status_code == 200
    with sessions() as s:
        oauth_clients.disable_client(s, oauth_clients.find_client(s, client_id))
        s.commit()
    for http in (client, second.client):
        assert http.get(f"{tenant.base}/Users", headers=bearer(token)).status_code == 401
        assert http.get("/api/v1/learners", headers=bearer(token)).status_code == 401


def test_with_the_cache_off_every_request_reads_its_token(settings, tenant):
    from dataclasses import replace

    from service import create_app

    app = create_app(replace(settings, auth_cache=False))
    off = Tenant(app.test_client(), tenant.id, tenant.token)
    assert off.get("Users").status_code == 200
    with app_statements(app) as statements:
        assert off.get("Users").status_code == 200
    assert [s for s in statements if "access_tokens" in s], statements
