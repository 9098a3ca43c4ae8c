"""Settings > Integrations > API, OAuth part: clients, secrets shown once, rotation, OAuth only."""

import base64
import re
from datetime import timedelta

from sqlalchemy import func, select

from models import Company, OAuthClient, OAuthSecret, utcnow
from service.oauth import clients as oauth_clients

PAGE = "/dashboard/settings/integrations/api"
SECRET = re.compile(r'id="new-client-secret"[^>]*value="([^"]+)"')
CLIENT_ID = re.compile(r'id="new-client-id"[^>]*value="([^"]+)"')
ONCE = re.compile(r'name="once" value="([^"]+)"')


def page_form(dash):
    """The CSRF token and one-time value of the page as a browser has them."""
    text = dash.get(PAGE).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1), ONCE.search(text).group(1)


def create_client(dash, name="Entra gallery", days="730"):
    csrf, once = page_form(dash)
    data = {"csrf_token": csrf, "once": once, "name": name, "secret_days": days}
    resp = dash.client.post(f"{PAGE}/oauth/clients", data=data)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    text = resp.get_data(as_text=True)
    return CLIENT_ID.search(text).group(1), SECRET.search(text).group(1), resp, data


def get_token(client, client_id, secret):
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {auth}"}
    )


def client_pk(sessions, client_id):
    with sessions() as s:
        return s.scalar(select(OAuthClient.id).where(OAuthClient.client_id == client_id))


def test_page_shows_the_token_endpoint_ready_to_copy(dash):
    text = dash.get(PAGE).get_data(as_text=True)
    assert 'id="token-endpoint"' in text and 'value="https://herd.test/oauth/token"' in text
    assert 'data-copy="token-endpoint"' in text and "No OAuth clients yet" in text


def test_a_new_client_shows_its_secret_once_and_it_works(dash, tenant, sessions, client):
    client_id, secret, resp, _ = create_client(dash)
    assert resp.headers["Cache-Control"] == "no-store" and "it will not be shown again" in resp.get_data(as_text=True)
    resp = get_token(client, client_id, secret)
    assert resp.status_code == 200
    access = resp.get_json()["access_token"]
    assert client.get(f"{tenant.base}/Users", headers={"Authorization": f"Bearer {access}"}).status_code == 200
    again = dash.get(PAGE).get_data(as_text=True)
    assert secret not in again and secret[:8] in again and client_id in again
    # Issued access tokens are not listed among the static tokens.
    assert access[:12] not in again


def test_a_reload_that_sends_the_form_again_creates_nothing(dash, sessions):
    _client_id, secret, _resp, data = create_client(dash)
    again = dash.client.post(f"{PAGE}/oauth/clients", data=data)
    assert again.status_code == 303 and again.headers["Location"].endswith(f"{PAGE}#oauth")
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(OAuthClient)) == 1
        assert s.scalar(select(func.count()).select_from(OAuthSecret)) == 1
    text = dash.get(PAGE).get_data(as_text=True)
    assert "already sent" in text and secret not in text


def test_rotation_add_a_secret_then_revoke_the_old_one(dash, tenant, sessions, client):
    client_id, old, _resp, _ = create_client(dash)
    pk = client_pk(sessions, client_id)
    old_access = get_token(client, client_id, old).get_json()["access_token"]
    csrf, once = page_form(dash)
    resp = dash.client.post(
        f"{PAGE}/oauth/clients/{pk}/secrets", data={"csrf_token": csrf, "once": once, "secret_days": "1095"}
    )
    assert resp.status_code == 201
    new = SECRET.search(resp.get_data(as_text=True)).group(1)
    assert get_token(client, client_id, new).status_code == 200
    assert get_token(client, client_id, old).status_code == 200
    with sessions() as s:
        old_pk = s.scalar(select(OAuthSecret.id).where(OAuthSecret.display_prefix == old[:8]))
    confirm = dash.get(f"{PAGE}/oauth/clients/{pk}/secrets/{old_pk}/revoke")
    assert confirm.status_code == 200 and f"Revoke secret {old[:8]}" in confirm.get_data(as_text=True)
    resp = dash.post(f"{PAGE}/oauth/clients/{pk}/secrets/{old_pk}/revoke")
    assert resp.status_code == 303
    assert get_token(client, client_id, old).status_code == 401
    headers = {"Authorization": f"Bearer {old_access}"}
    assert client.get(f"{tenant.base}/Users", headers=headers).status_code == 401
    assert get_token(client, client_id, new).status_code == 200


def test_disable_a_client(dash, tenant, sessions, client):
    client_id, secret, _resp, _ = create_client(dash)
    access = get_token(client, client_id, secret).get_json()["access_token"]
    pk = client_pk(sessions, client_id)
    assert "Disable client" in dash.get(f"{PAGE}/oauth/clients/{pk}/disable").get_data(as_text=True)
    assert dash.post(f"{PAGE}/oauth/clients/{pk}/disable").status_code == 303
    assert client.get(f"{tenant.base}/Users", headers={"Authorization": f"Bearer {access}"}).status_code == 401
    assert get_token(client, client_id, secret).status_code == 401
    assert "Disabled" in dash.get(PAGE).get_data(as_text=True)


def test_oauth_only_switch_and_lifetime(dash, tenant, sessions):
    assert tenant.get("Users").status_code == 200
    resp = dash.post(f"{PAGE}/oauth/mode", {"oauth_only": "y", "token_minutes": "240"})
    assert resp.status_code == 303
    with sessions() as s:
        company = s.get(Company, tenant.id)
        assert company.oauth_only is True and company.access_token_minutes == 240
    assert tenant.get("Users").status_code == 401
    text = dash.get(PAGE).get_data(as_text=True)
    assert "static access tokens are refused" in text and 'id="oauth-only-note"' in text
    dash.post(f"{PAGE}/oauth/mode", {"token_minutes": "999"})
    with sessions() as s:
        assert s.get(Company, tenant.id).access_token_minutes == 240
    dash.post(f"{PAGE}/oauth/mode", {"token_minutes": "60"})
    assert tenant.get("Users").status_code == 200


def test_the_page_warns_30_days_before_a_secret_expires(dash, sessions):
    create_client(dash)
    assert 'id="oauth-expiring"' not in dash.get(PAGE).get_data(as_text=True)
    with sessions() as s:
        s.scalars(select(OAuthSecret)).one().expires_at = utcnow() + timedelta(days=20)
        s.commit()
    text = dash.get(PAGE).get_data(as_text=True)
    assert 'id="oauth-expiring"' in text and "Expires within 30 days" in text


def test_another_companys_clients_do_not_exist_here(dash, other_tenant, sessions):
    with sessions() as s:
        other, secret_row, _plain = oauth_clients.create_client(s, other_tenant.id, "Globex app")
        s.commit()
        other_pk, secret_pk, other_id = other.id, secret_row.id, other.client_id
    assert other_id not in dash.get(PAGE).get_data(as_text=True)
    assert dash.get(f"{PAGE}/oauth/clients/{other_pk}/disable").status_code == 404
    assert dash.post(f"{PAGE}/oauth/clients/{other_pk}/disable").status_code == 404
    assert dash.post(f"{PAGE}/oauth/clients/{other_pk}/secrets/{secret_pk}/revoke").status_code == 404
    with sessions() as s:
        assert s.get(OAuthClient, other_pk).disabled_at is None


def test_forms_need_csrf(dash, sessions):
    _csrf, once = page_form(dash)
    resp = dash.post(f"{PAGE}/oauth/clients", {"once": once, "name": "x", "secret_days": "730"}, csrf=False)
    assert resp.status_code == 400
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(OAuthClient)) == 0


def test_each_form_keeps_its_own_fields(dash):
    # Creating a client fills nothing into the static-token form, and the other way round.
    _client_id, _secret, resp, _ = create_client(dash, name="Gallery client X")
    text = resp.get_data(as_text=True)
    token_input = re.search(r'<input id="token-name"[^>]*>', text).group(0)
    assert "Gallery client X" not in token_input
    resp = dash.post(f"{PAGE}/tokens", {"name": "Static token Y", "expires": ""})
    client_input = re.search(r'<input id="client-name"[^>]*>', resp.get_data(as_text=True)).group(0)
    assert "Static token Y" not in client_input
