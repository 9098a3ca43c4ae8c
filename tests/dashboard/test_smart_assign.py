"""The Smart Assign page: settings, group rules, and starting a re-run whose progress the page polls."""

from sqlalchemy import select

from config.celery import RERUN_COMPANY
from models import Company, GroupRule, Job
from service.dashboard.smart_assign import BROKER_DOWN
from tests.dashboard.helpers import post_learner
from workers.rerun import run

PAGE = "/dashboard/smart-assign"


def test_page_shows_catalog_settings_and_a_note_while_groups_are_off(dash):
    text = dash.get(PAGE).get_data(as_text=True)
    assert "HP-CA-SUP" in text and "California Workplace Violence Prevention (SB 553)" in text
    assert 'id="due_days"' in text and 'value="30"' in text
    assert "Group provisioning is off for your company" in text
    assert "Re-run Smart Assign" in text


def test_settings_are_saved_and_validated(dash, tenant, sessions):
    resp = dash.post(f"{PAGE}/settings", {"due_days": "45", "industry": "hospitality"}, page=PAGE)
    assert resp.status_code == 302
    with sessions() as s:
        company = s.get(Company, tenant.id)
        assert (company.due_days, company.industry) == (45, "hospitality")
    for bad in ("0", "-3", "abc", "99999"):
        resp = dash.post(f"{PAGE}/settings", {"due_days": bad, "industry": ""}, page=PAGE)
        assert resp.status_code == 400, bad
        assert 'aria-invalid="true"' in resp.get_data(as_text=True)
    resp = dash.post(f"{PAGE}/settings", {"due_days": "10", "industry": "<script>"}, page=PAGE)
    assert resp.status_code == 400
    with sessions() as s:
        assert s.get(Company, tenant.id).due_days == 45


def test_group_rules_are_edited_only_while_groups_are_on(dash, tenant, sessions):
    rule = {"group_name": "Managers", "training_code": "HP-ALL-SUP"}
    assert dash.post(f"{PAGE}/group-rules", rule, page=PAGE).status_code == 404
    with sessions() as s:
        s.get(Company, tenant.id).groups_enabled = True
        s.commit()
    assert dash.post(f"{PAGE}/group-rules", rule, page=PAGE).status_code == 302
    assert dash.post(f"{PAGE}/group-rules", rule, page=PAGE).status_code == 302  # idempotent
    text = dash.get(PAGE).get_data(as_text=True)
    assert "Managers" in text and "exists already" in text
    with sessions() as s:
        rules = s.scalars(select(GroupRule)).all()
        assert [(r.company_id, r.group_name, r.training_code) for r in rules] == [(tenant.id, "Managers", "HP-ALL-SUP")]
    assert dash.post(f"{PAGE}/group-rules/{rules[0].id}/delete", page=PAGE).status_code == 302
    with sessions() as s:
        assert s.scalars(select(GroupRule)).all() == []


def test_rerun_queues_a_job_and_the_page_polls_its_progress(dash, tenant, sessions, enqueued):
    for i in range(3):
        post_learner(tenant, f"l{i}@acme.example")
    resp = dash.post(f"{PAGE}/rerun", page=PAGE)
    assert resp.status_code == 302
    with sessions() as s:
        job = s.scalars(select(Job)).one()
    assert (job.company_id, job.status) == (tenant.id, "queued")
    assert (RERUN_COMPANY, [tenant.id, job.id]) in enqueued.sent
    text = dash.get(PAGE).get_data(as_text=True)
    assert f'data-job-url="/dashboard/jobs/{job.id}"' in text and "Queued" in text
    assert dash.get(f"/dashboard/jobs/{job.id}").get_json()["status"] == "queued"

    # A second click while it runs starts nothing new.
    dash.post(f"{PAGE}/rerun", page=PAGE)
    assert [n for n, _ in enqueued.sent].count(RERUN_COMPANY) == 1

    run(sessions, tenant.id, job.id)  # what the worker does
    status = dash.get(f"/dashboard/jobs/{job.id}").get_json()
    assert status["status"] == "done" and status["done"] == status["total"] == 3 and status["percent"] == 100
    assert status["added"] > 0
    assert "Done: 3 learners re-evaluated" in dash.get(PAGE).get_data(as_text=True)


def test_rerun_with_the_broker_down_says_so(app, dash, tenant, sessions, enqueued):
    enqueued.ok = False
    resp = dash.post(f"{PAGE}/rerun", page=PAGE)
    assert resp.status_code == 302
    text = dash.get(PAGE).get_data(as_text=True)
    assert "The job queue cannot be reached" in text
    with sessions() as s:
        job = s.scalars(select(Job)).one()
        assert (job.status, job.error) == ("failed", BROKER_DOWN)
