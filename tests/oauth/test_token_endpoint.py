"""POST /oauth/token: OAuth 2.0 client credentials (RFC 6749 §4.4) and its errors (§5.2),
and what the access tokens it issues open."""

import base64
import logging
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select, update

from models import AccessToken, Company, OAuthSecret, utcnow
from service.oauth import clients as oauth_clients

TOKEN_URL = "/oauth/token"
GRANT = {"grant_type": "client_credentials"}


def basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def new_client(sessions, company_id, name="Entra ID gallery"):
    with sessions() as s:
        client, _secret, plain = oauth_clients.create_client(s, company_id, name)
        s.commit()
        return client.client_id, plain


def add_secret(sessions, client_id):
    with sessions() as s:
        _secret, plain = oauth_clients.add_secret(s, oauth_clients.find_client(s, client_id))
        s.commit()
        return plain


def token_for(http, client_id, secret, **kw):
    resp = http.post(TOKEN_URL, data=GRANT, headers=basic(client_id, secret), **kw)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["access_token"]


def assert_invalid_client(resp):
    assert resp.status_code == 401, resp.get_data(as_text=True)
    assert resp.get_json()["error"] == "invalid_client"
    assert resp.headers["WWW-Authenticate"].startswith("Basic ")
    assert resp.headers["Cache-Control"] == "no-store"


@pytest.fixture()
def oauth(tenant, sessions):
    """(client_id, secret) of a client of ``tenant``'s company."""
    return new_client(sessions, tenant.id)


def test_basic_authentication_issues_a_bearer_token_that_opens_scim_and_the_api(client, tenant, oauth):
    resp = client.post(TOKEN_URL, data=GRANT, headers=basic(*oauth))
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert resp.headers["Cache-Control"] == "no-store"
    assert client.get(f"{tenant.base}/Users", headers=bearer(body["access_token"])).status_code == 200
    assert client.get("/api/v1/learners", headers=bearer(body["access_token"])).status_code == 200


def test_credentials_in_the_body_work_too(client, tenant, oauth):
    client_id, secret = oauth
    resp = client.post(TOKEN_URL, data={**GRANT, "client_id": client_id, "client_secret": secret})
    assert resp.status_code == 200
    assert client.get(f"{tenant.base}/Users", headers=bearer(resp.get_json()["access_token"])).status_code == 200


def test_a_token_is_stored_only_as_a_hash(client, tenant, oauth, sessions):
    token = token_for(client, *oauth)
    with sessions() as s:
        row = s.scalar(select(AccessToken).where(AccessToken.oauth_client_id.is_not(None)))
        assert token not in (row.token_hash, row.display_prefix) and token.startswith(row.display_prefix)
        secrets = s.scalars(select(OAuthSecret)).all()
        assert all(oauth[1] not in (x.secret_hash, x.display_prefix) for x in secrets)


@pytest.mark.parametrize(
    "credentials",
    [
        lambda cid, secret: {"headers": basic(cid, secret + "x")},
        lambda cid, secret: {"headers": basic("herdc_unknown", secret)},
        lambda cid, secret: {"data_extra": {"client_id": cid, "client_secret": "wrong"}},
        lambda cid, secret: {"data_extra": {"client_id": "herdc_unknown", "client_secret": secret}},
        lambda cid, secret: {"data_extra": {"client_id": cid}},
        lambda cid, secret: {},
        lambda cid, secret: {"headers": {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()}},
        lambda cid, secret: {"headers": {"Authorization": "Basic !!!not-base64"}},
        lambda cid, secret: {"headers": basic("x" * 5000, secret)},
    ],
    ids=[
        "wrong-basic",
        "unknown-client",
        "wrong-body",
        "unknown-body",
        "no-secret",
        "nothing",
        "not-utf8",
        "not-base64",
        "huge-id",
    ],
)
def test_wrong_credentials_are_invalid_client_401(client, oauth, credentials):
    kw = credentials(*oauth)
    data = {**GRANT, **kw.pop("data_extra", {})}
    assert_invalid_client(client.post(TOKEN_URL, data=data, **kw))


def test_an_expired_secret_is_refused(client, oauth, sessions):
    with sessions() as s:
        s.execute(update(OAuthSecret).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()
    assert_invalid_client(client.post(TOKEN_URL, data=GRANT, headers=basic(*oauth)))


def test_a_secret_expires_after_its_days(client, oauth):
    # Two years by default: still good the day before, refused the day after.
    with time_machine.travel(utcnow() + timedelta(days=729), tick=False):
        token_for(client, *oauth)
    with time_machine.travel(utcnow() + timedelta(days=731), tick=False):
        assert_invalid_client(client.post(TOKEN_URL, data=GRANT, headers=basic(*oauth)))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "code": "x"}, "unsupported_grant_type"),
        ({"grant_type": ["client_credentials", "client_credentials"]}, "invalid_request"),
    ],
)
def test_request_errors_are_400s_in_rfc_6749_shape(client, oauth, data, error):
    resp = client.post(TOKEN_URL, data=data, headers=basic(*oauth))
    assert resp.status_code == 400 and resp.get_json()["error"] == error
    assert resp.headers["Cache-Control"] == "no-store"


def test_credentials_in_the_url_or_a_json_body_are_refused(client, oauth):
    client_id, secret = oauth
    resp = client.post(f"{TOKEN_URL}?client_id={client_id}&client_secret={secret}", data=GRANT)
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_request"
    resp = client.post(TOKEN_URL, json={**GRANT, "client_id": client_id, "client_secret": secret})
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_request"
    hostile = client.post(TOKEN_URL, data={**GRANT, "client_id": "a\x00b", "client_secret": "c"})
    assert hostile.status_code in (400, 401) and hostile.is_json


def test_a_token_is_refused_after_its_lifetime(client, tenant, oauth):
    start = utcnow()
    with time_machine.travel(start, tick=False):
        token = token_for(client, *oauth)
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        assert client.get(f"{tenant.base}/Users", headers=bearer(token)).status_code == 200
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        assert client.get(f"{tenant.base}/Users", headers=bearer(token)).status_code == 401


def test_the_company_sets_the_lifetime_from_one_to_six_hours(client, tenant, oauth, sessions):
    with sessions() as s:
        company = s.get(Company, tenant.id)
        oauth_clients.set_token_minutes(s, company, 360)
        s.commit()
        with pytest.raises(oauth_clients.ClientError):
            oauth_clients.set_token_minutes(s, company, 59)
        with pytest.raises(oauth_clients.ClientError):
            oauth_clients.set_token_minutes(s, company, 361)
    start = utcnow()
    with time_machine.travel(start, tick=False):
        resp = client.post(TOKEN_URL, data=GRANT, headers=basic(*oauth))
        assert resp.get_json()["expires_in"] == 6 * 3600
        token = resp.get_json()["access_token"]
    with time_machine.travel(start + timedelta(minutes=359), tick=False):
        assert client.get(f"{tenant.base}/Users", headers=bearer(token)).status_code == 200
    with time_machine.travel(start + timedelta(minutes=361), tick=False):
        assert client.get(f"{tenant.base}/Users", headers=bearer(token)).status_code == 401


def test_a_token_is_refused_on_another_companys_tenant_url(client, tenant, other_tenant, oauth):
    token = token_for(client, *oauth)
    assert client.get(f"{other_tenant.base}/Users", headers=bearer(token)).status_code == 401
    assert client.get(f"{tenant.base}/Users", headers=bearer(token)).status_code == 200


def test_a_token_opens_nothing_outside_scim_and_the_api(client, oauth):
    token = token_for(client, *oauth)
    resp = client.get("/dashboard/settings/integrations/api", headers=bearer(token))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_two_secrets_are_active_at_once_and_rotation_keeps_provisioning_going(client, tenant, oauth, sessions):
    client_id, old = oauth
    old_token = token_for(client, client_id, old)
    new = add_secret(sessions, client_id)
    assert new != old
    new_token = token_for(client, client_id, new)
    token_for(client, client_id, old)  # both secrets work during the switch-over
    with sessions() as s:
        oauth_clients.revoke_secret(s, oauth_clients.find_client(s, client_id), old[:8])
        s.commit()
    # The old secret and every token it obtained are refused on the very next request.
    assert_invalid_client(client.post(TOKEN_URL, data=GRANT, headers=basic(client_id, old)))
    assert client.get(f"{tenant.base}/Users", headers=bearer(old_token)).status_code == 401
    assert client.get(f"{tenant.base}/Users", headers=bearer(new_token)).status_code == 200
    token_for(client, client_id, new)


def test_a_disabled_client_and_its_tokens_are_refused_at_once(client, tenant, oauth, sessions):
    client_id, secret = oauth
    token = token_for(client, client_id, secret)
    other_id, other_secret = new_client(sessions, tenant.id, "Second app")
    other_token = token_for(client, other_id, other_secret)
    with sessions() as s:
        oauth_clients.disable_client(s, oauth_clients.find_client(s, client_id))
        s.commit()
    assert client.get(f"{tenant.base}/Users", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/learners", headers=bearer(token)).status_code == 401
    assert_invalid_client(client.post(TOKEN_URL, data=GRANT, headers=basic(client_id, secret)))
    assert client.get(f"{tenant.base}/Users", headers=bearer(other_token)).status_code == 200


def test_oauth_only_refuses_static_tokens_at_once(client, tenant, oauth, sessions):
    token = token_for(client, *oauth)
    assert tenant.get("Users").status_code == 200  # the seed's static token
    with sessions() as s:
        oauth_clients.set_oauth_only(s, s.get(Company, tenant.id), True)
        s.commit()
    assert tenant.get("Users").status_code == 401
    assert client.get("/api/v1/learners", headers=tenant.headers()).status_code == 401
    assert client.get(f"{tenant.base}/Users", headers=bearer(token)).status_code == 200
    with sessions() as s:
        oauth_clients.set_oauth_only(s, s.get(Company, tenant.id), False)
        s.commit()
    assert tenant.get("Users").status_code == 200


def test_no_secret_or_token_reaches_a_log_line(client, oauth, caplog):
    caplog.set_level(logging.DEBUG)
    client_id, secret = oauth
    token = token_for(client, client_id, secret)
    client.post(TOKEN_URL, data={**GRANT, "client_id": client_id, "client_secret": secret})
    client.post(TOKEN_URL, data=GRANT, headers=basic(client_id, secret + "nope"))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert secret not in logged and token not in logged and token[5:] not in logged


def test_guessing_costs_the_guesser_not_the_company(client, app, oauth):
    client_id, secret = oauth
    guesser = app.test_client()
    guesser.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    answers = [
        guesser.post(TOKEN_URL, data=GRANT, headers=basic(client_id, f"guess{i}")).status_code for i in range(12)
    ]
    assert answers[:10] == [401] * 10 and answers[-1] == 429
    refused = guesser.post(TOKEN_URL, data=GRANT, headers=basic(client_id, secret))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.get_json()["error"] == "temporarily_unavailable"
    # The company's own IdP, from its own address, still gets its token.
    token_for(client, client_id, secret)


def test_a_client_cannot_mint_tokens_without_end(client, app, oauth):
    client_id, secret = oauth
    statuses = []
    for i in range(21):
        http = app.test_client()
        http.environ_base["REMOTE_ADDR"] = f"198.51.100.{i + 1}"
        statuses.append(http.post(TOKEN_URL, data=GRANT, headers=basic(client_id, secret)).status_code)
    assert statuses[:20] == [200] * 20 and statuses[20] == 429


def test_plain_http_is_refused_except_on_loopback(client, oauth):
    # Behind a TLS proxy (TRUSTED_PROXIES) the request is https; bare http to a public name is not.
    resp = client.post(TOKEN_URL, data=GRANT, headers=basic(*oauth), base_url="http://herd.example")
    assert resp.status_code == 400 and resp.get_json()["error"] == "insecure_transport"
    resp = client.post(TOKEN_URL, data=GRANT, headers=basic(*oauth), base_url="https://herd.example")
    assert resp.status_code == 200


def test_a_secret_revoked_while_a_token_is_being_issued_gets_no_token(client, oauth, sessions, monkeypatch):
    from service.oauth import token_endpoint as oauth_token

    client_id, secret = oauth
    checked = oauth_token._Client.check_client_secret

    def check_then_revoke(self, presented):
        ok = checked(self, presented)
        # The operator revokes the secret just after it was found good.
        with sessions() as s:
            oauth_clients.revoke_secret(s, oauth_clients.find_client(s, client_id), secret[:8])
            s.commit()
        return ok

    monkeypatch.setattr(oauth_token._Client, "check_client_secret", check_then_revoke)
    assert_invalid_client(client.post(TOKEN_URL, data=GRANT, headers=basic(client_id, secret)))
    with sessions() as s:
        assert s.scalars(select(AccessToken).where(AccessToken.oauth_client_id.is_not(None))).all() == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Basic"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"Authorization": "Basic " + base64.b64encode(b":").decode()},
        {"Authorization": "Bearer herd_x"},
        {"Authorization": "Basic " + base64.b64encode(("a" * 3000 + ":" + "b" * 3000).encode()).decode()},
        {"Content-Type": "multipart/form-data; boundary=x"},
    ],
)
def test_malformed_requests_get_an_oauth_error_never_a_500(client, headers):
    resp = client.post(TOKEN_URL, data="grant_type=client_credentials", headers=headers)
    assert resp.status_code in (400, 401) and resp.is_json and "error" in resp.get_json()


def test_a_scim_call_with_an_access_token_is_the_same_one_statement_as_with_a_static_token(client, tenant, oauth):
    from tests.helpers import app_statements

    learner_id = tenant.post("Users", json={"userName": "jo@example.com"}).get_json()["id"]
    access = token_for(client, *oauth)
    # Both tokens used once already: last_used_at is written at most once a minute.
    assert client.get(f"{tenant.base}/Users/{learner_id}", headers=bearer(access)).status_code == 200
    assert tenant.get(f"Users/{learner_id}").status_code == 200
    app = client.application
    with app_statements(app) as with_static:
        assert tenant.get(f"Users/{learner_id}").status_code == 200
    with app_statements(app) as with_access:
        assert client.get(f"{tenant.base}/Users/{learner_id}", headers=bearer(access)).status_code == 200
    assert len(with_access) == len(with_static) == 1 and with_access == with_static
