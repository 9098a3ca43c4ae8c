"""An admin of one company can neither see nor change anything of another company."""

import pytest
from sqlalchemy import select

from config.celery import RERUN_COMPANY
from models import AccessToken, Company, GroupRule, Job
from tests.dashboard.conftest import Dashboard
from tests.dashboard.helpers import post_learner, run_events


@pytest.fixture()
def globex(app, sessions, other_tenant, admin_b, enqueued):
    """Company 8 with a learner (processed), a failed SCIM call, a group rule and a job."""
    learner_id = post_learner(other_tenant, "secret.person@globex.example", given="Secret", family="Person")
    run_events(sessions)
    assert other_tenant.post("Users", json={"userName": ""}).status_code == 400
    with sessions() as s:
        company = s.get(Company, other_tenant.id)
        company.groups_enabled = True
        rule = GroupRule(
            company_id=company.id,
            group_name="Globex Managers",
            group_name_lower="globex managers",
            training_code="HP-ALL-SUP",
        )
        job = Job(company_id=company.id, kind="rerun_smart_assign", status="done", total=1, done=1)
        s.add_all([rule, job])
        s.commit()
        token_id = s.scalar(select(AccessToken.id).where(AccessToken.company_id == company.id))
        return {"learner": learner_id, "rule": rule.id, "job": job.id, "token": token_id}


def test_lists_show_only_the_own_company(dash, globex, tenant):
    post_learner(tenant, "own@acme.example", given="Own", family="Learner")
    for path in (
        "/dashboard/learners",
        "/dashboard/learners?q=secret",
        "/dashboard/activity",
        "/dashboard/activity?kind=failed",
        "/dashboard/settings/integrations/api",
        "/dashboard/smart-assign",
    ):
        text = dash.get(path).get_data(as_text=True)
        for leak in ("secret.person", "Secret Person", "Globex", globex["learner"]):
            assert leak not in text, (path, leak)
    assert "own@acme.example" in dash.get("/dashboard/learners").get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/learners/{learner}",
        "/dashboard/jobs/{job}",
        "/dashboard/settings/integrations/api/tokens/{token}/revoke",
    ],
)
def test_another_companys_pages_do_not_exist(dash, globex, path):
    resp = dash.get(path.format(**globex))
    assert resp.status_code == 404
    assert "secret.person" not in resp.get_data(as_text=True)


def test_activity_filtered_on_another_companys_learner_finds_nothing(dash, globex):
    for value in (globex["learner"], "secret.person@globex.example"):
        text = dash.get("/dashboard/activity", query_string={"learner": value}).get_data(as_text=True)
        assert "No learner of your company" in text and "Secret" not in text


def test_another_companys_token_cannot_be_revoked(dash, globex, other_tenant):
    resp = dash.post(f"/dashboard/settings/integrations/api/tokens/{globex['token']}/revoke")
    assert resp.status_code == 404
    assert other_tenant.get("Users").status_code == 200


def test_another_companys_group_rule_cannot_be_removed(dash, globex, sessions):
    resp = dash.post(f"/dashboard/smart-assign/group-rules/{globex['rule']}/delete", page="/dashboard/smart-assign")
    assert resp.status_code == 404
    with sessions() as s:
        assert s.get(GroupRule, globex["rule"]) is not None


def test_settings_forms_change_only_the_own_company(dash, globex, sessions, tenant, other_tenant, enqueued):
    dash.post(
        "/dashboard/smart-assign/settings",
        {"due_days": "14", "industry": "hospitality"},
        page="/dashboard/smart-assign",
    )
    dash.post("/dashboard/settings/integrations/api/groups", {"enabled": "y"})
    dash.post("/dashboard/settings/integrations/api/tokens", {"name": "mine", "expires": ""})
    dash.post("/dashboard/smart-assign/rerun", page="/dashboard/smart-assign")
    with sessions() as s:
        own, other = s.get(Company, tenant.id), s.get(Company, other_tenant.id)
        assert (own.due_days, own.industry, own.groups_enabled) == (14, "hospitality", True)
        assert (other.due_days, other.industry, other.groups_enabled) == (30, None, True)
        assert s.scalars(select(AccessToken.company_id).where(AccessToken.name == "mine")).all() == [tenant.id]
        assert s.scalars(select(Job.company_id).where(Job.status == "queued")).all() == [tenant.id]
    assert [args[0] for name, args in enqueued.sent if name == RERUN_COMPANY] == [tenant.id]


def test_the_session_cannot_be_pointed_at_another_company(app, dash, globex, admin_b):
    # Signing in as Bob gives Bob's company only; Alice's session is unaffected.
    bob = Dashboard(app.test_client())
    bob.login(admin_b)
    assert "secret.person@globex.example" in bob.get("/dashboard/learners").get_data(as_text=True)
    assert "secret.person@globex.example" not in dash.get("/dashboard/learners").get_data(as_text=True)
    assert bob.get(f"/dashboard/learners/{globex['learner']}").status_code == 200
