"""Microsoft's validation suite, direct test "Credentials", replayed over real HTTP.

The suite (AzureAD/SCIMReferenceCode) asks the token endpoint for a token with the client
credentials an admin typed into Entra, checks that the token lives 60 to 360 minutes, and
then makes a SCIM call with it, which must succeed. Entra sends the client id and secret in
the form body; HTTP Basic is checked too.
"""

import requests
from sqlalchemy import select

from models import AccessToken, Company
from service.company.tenant import create_company
from service.oauth import clients as oauth_clients


def test_credentials_token_endpoint_lifetime_then_a_scim_call(live_server, sessions):
    with sessions() as s:
        company = create_company(s, "Contoso")
        client, _secret, secret = oauth_clients.create_client(s, company.id, "Entra ID gallery")
        s.commit()
        company_id, client_id = company.id, client.client_id
    token_endpoint = f"{live_server.url}/oauth/token"
    tenant_url = f"{live_server.url}/scim/v2/{company_id}"

    for how in ("body", "basic"):
        if how == "body":
            kw = {"data": {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}}
        else:
            kw = {"data": {"grant_type": "client_credentials"}, "auth": (client_id, secret)}
        resp = requests.post(token_endpoint, timeout=10, **kw)
        assert resp.status_code == 200, resp.text
        assert resp.headers["Cache-Control"] == "no-store"
        body = resp.json()
        assert body["token_type"].lower() == "bearer"
        assert 60 * 60 <= body["expires_in"] <= 360 * 60
        users = requests.get(
            f"{tenant_url}/Users",
            params={"filter": 'userName eq "nobody@contoso.example"'},
            headers={"Authorization": f"Bearer {body['access_token']}"},
            timeout=10,
        )
        assert users.status_code == 200 and users.json()["totalResults"] == 0
        created = requests.post(
            f"{tenant_url}/Users",
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"{how}@contoso.example",
                "active": True,
            },
            headers={"Authorization": f"Bearer {body['access_token']}", "Content-Type": "application/scim+json"},
            timeout=10,
        )
        assert created.status_code == 201, created.text

    # The gallery's lifetime bounds hold for a company's own setting too.
    with sessions() as s:
        oauth_clients.set_token_minutes(s, s.get(Company, company_id), 360)
        s.commit()
    resp = requests.post(
        token_endpoint, data={"grant_type": "client_credentials"}, auth=(client_id, secret), timeout=10
    )
    assert resp.json()["expires_in"] == 360 * 60
    # A wrong secret: 401 invalid_client with WWW-Authenticate, and no token stored.
    with sessions() as s:
        before = s.scalar(select(AccessToken.id).order_by(AccessToken.id.desc()).limit(1))
    wrong = requests.post(
        token_endpoint, data={"grant_type": "client_credentials"}, auth=(client_id, secret + "x"), timeout=10
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in wrong.headers
    with sessions() as s:
        assert s.scalar(select(AccessToken.id).order_by(AccessToken.id.desc()).limit(1)) == before
