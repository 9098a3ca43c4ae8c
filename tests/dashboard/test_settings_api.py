"""Settings > Integrations > API: Company ID, tenant URL, tokens shown once, revoke, groups switch."""

import re
from datetime import timedelta

from sqlalchemy import select

from models import AccessToken, Company, utcnow

SECRET = re.compile(r'id="new-secret"[^>]*value="([^"]+)"')


def create_token(dash, name="Entra ID production", expires=""):
    resp = dash.post("/dashboard/settings/integrations/api/tokens", {"name": name, "expires": expires})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return SECRET.search(resp.get_data(as_text=True)).group(1), resp


def test_page_shows_company_id_tenant_url_and_tokens(dash, tenant):
    text = dash.get("/dashboard/settings/integrations/api").get_data(as_text=True)
    assert f'id="company-id">{tenant.id}<' in text
    assert 'value="https://herd.test/scim/v2/7"' in text and 'data-copy="tenant-url"' in text
    assert "Acme token" in text and tenant.token[:12] in text
    assert tenant.token not in text


def test_a_created_token_is_shown_once_and_works_for_scim(dash, tenant, sessions):
    secret, resp = create_token(dash, expires="90")
    text = resp.get_data(as_text=True)
    assert "it will not be shown again" in text and 'data-copy="new-secret"' in text
    assert resp.headers["Cache-Control"] == "no-store"
    with sessions() as s:
        row = s.scalar(select(AccessToken).where(AccessToken.name == "Entra ID production"))
        assert row.company_id == tenant.id and secret not in (row.token_hash, row.display_prefix)
        assert timedelta(days=89) < row.expires_at - utcnow() <= timedelta(days=90)
    again = dash.get("/dashboard/settings/integrations/api").get_data(as_text=True)
    assert secret not in again and secret[:12] in again
    resp = tenant.client.get(f"{tenant.base}/Users", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 200


def test_a_token_needs_a_name(dash, sessions):
    resp = dash.post("/dashboard/settings/integrations/api/tokens", {"name": "  ", "expires": ""})
    assert resp.status_code == 400 and "Give the token a name." in resp.get_data(as_text=True)
    with sessions() as s:
        assert s.scalars(select(AccessToken.name)).all() == ["Acme token"]


def test_revoke_asks_first_then_the_next_scim_call_fails(dash, tenant, sessions):
    secret, _ = create_token(dash)
    with sessions() as s:
        token_id = s.scalar(select(AccessToken.id).where(AccessToken.name == "Entra ID production"))
    confirm = dash.get(f"/dashboard/settings/integrations/api/tokens/{token_id}/revoke")
    assert confirm.status_code == 200 and "Revoke token “Entra ID production”?" in confirm.get_data(as_text=True)
    auth = {"Authorization": f"Bearer {secret}"}
    assert tenant.client.get(f"{tenant.base}/Users", headers=auth).status_code == 200

    resp = dash.post(f"/dashboard/settings/integrations/api/tokens/{token_id}/revoke")
    assert resp.status_code == 302
    assert tenant.client.get(f"{tenant.base}/Users", headers=auth).status_code == 401
    # The other token is untouched.
    assert tenant.get("Users").status_code == 200
    text = dash.get("/dashboard/settings/integrations/api").get_data(as_text=True)
    assert "is revoked" in text and "Revoked" in text


def test_groups_switch_turns_group_provisioning_on_and_off(dash, tenant, sessions):
    text = dash.get("/dashboard/settings/integrations/api").get_data(as_text=True)
    assert "off by default" in text and "Currently off" in text
    dash.post("/dashboard/settings/integrations/api/groups", {"enabled": "y"})
    with sessions() as s:
        assert s.get(Company, tenant.id).groups_enabled is True
    assert "Currently on" in dash.get("/dashboard/settings/integrations/api").get_data(as_text=True)
    # An unchecked checkbox sends nothing: off.
    dash.post("/dashboard/settings/integrations/api/groups", {})
    with sessions() as s:
        assert s.get(Company, tenant.id).groups_enabled is False


def test_pages_carry_a_strict_content_security_policy(dash):
    resp = dash.get("/dashboard/settings/integrations/api")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    css = dash.get("/dashboard/static/dashboard.css")
    assert css.status_code == 200 and "focus-visible" in css.get_data(as_text=True)
    css.close()
