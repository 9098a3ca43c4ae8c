"""Every dashboard form is refused without its CSRF token; SCIM and /api/v1 never need one."""

import pytest
from sqlalchemy import func, select

from models import AccessToken, Company, GroupRule, Job
from tests.dashboard.conftest import PASSWORD, Dashboard


def state(sessions, company_id):
    """What a forged form could change."""
    with sessions() as s:
        company = s.get(Company, company_id)
        return (
            s.scalar(select(func.count()).select_from(AccessToken)),
            s.scalar(select(func.count()).where(AccessToken.revoked_at.is_not(None))),
            company.groups_enabled,
            company.due_days,
            s.scalar(select(func.count()).select_from(GroupRule)),
            s.scalar(select(func.count()).select_from(Job)),
        )


def forms(tenant_token_id, rule_id):
    return [
        ("/dashboard/settings/integrations/api/tokens", {"name": "forged", "expires": ""}),
        (f"/dashboard/settings/integrations/api/tokens/{tenant_token_id}/revoke", {}),
        ("/dashboard/settings/integrations/api/groups", {}),
        ("/dashboard/smart-assign/settings", {"due_days": "5", "industry": ""}),
        ("/dashboard/smart-assign/group-rules", {"group_name": "Forged", "training_code": "CYBER"}),
        (f"/dashboard/smart-assign/group-rules/{rule_id}/delete", {}),
        ("/dashboard/smart-assign/rerun", {}),
        ("/dashboard/smart-assign/preview", {"alias_input": "state", "alias_value": "X", "alias_to": "US-CA"}),
        ("/dashboard/password", {"current": PASSWORD, "new": "x" * 20, "confirm": "x" * 20}),
        ("/dashboard/logout", {}),
    ]


@pytest.fixture()
def setup(dash, tenant, sessions, enqueued):
    with sessions() as s:
        s.get(Company, tenant.id).groups_enabled = True
        rule = GroupRule(
            company_id=tenant.id, group_name="Managers", group_name_lower="managers", training_code="HP-ALL-SUP"
        )
        s.add(rule)
        s.commit()
        token_id = s.scalar(select(AccessToken.id).where(AccessToken.company_id == tenant.id))
        return token_id, rule.id


@pytest.mark.parametrize("index", range(10))
@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "wrong"])
def test_forms_without_a_valid_csrf_token_are_refused(dash, tenant, sessions, setup, enqueued, index, token):
    path, data = forms(*setup)[index]
    before = state(sessions, tenant.id)
    if token:
        data = {**data, "csrf_token": token}
    resp = dash.client.post(path, data=data)
    assert resp.status_code == 400
    assert "Form expired" in resp.get_data(as_text=True)
    assert state(sessions, tenant.id) == before
    assert enqueued.sent == []
    # Still signed in: a refused logout did not sign out either.
    assert dash.get("/dashboard/learners").status_code == 200


def test_a_token_from_another_session_is_refused(app, dash, admin_a, tenant, sessions):
    other = Dashboard(app.test_client())
    other.login(admin_a)
    stolen = other.csrf("/dashboard/learners")
    before = state(sessions, tenant.id)
    resp = dash.client.post("/dashboard/settings/integrations/api/tokens", data={"csrf_token": stolen, "name": "x"})
    assert resp.status_code == 400 and state(sessions, tenant.id) == before


def test_the_login_form_needs_its_token_too(anon, admin_a):
    resp = anon.client.post("/dashboard/login", data={"email": admin_a, "password": PASSWORD})
    assert resp.status_code == 400
    assert anon.get("/dashboard/learners").status_code == 302


def test_scim_and_api_stay_exempt(dash, tenant):
    # The dashboard's session cookie is in this client, and still no token is asked for.
    resp = dash.client.post(
        f"/scim/v2/{tenant.id}/Users",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "csrf-free@acme.example"},
        headers={"Authorization": f"Bearer {tenant.token}"},
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    resp = dash.client.get("/api/v1/learners", headers={"Authorization": f"Bearer {tenant.token}"})
    assert resp.status_code == 200
