"""Smart Assign > Attribute mapping: shown with the defaults, changed and validated, the re-run
offered after a change; the learner page shows which source gave each Smart Assign input."""

from sqlalchemy import select

from config.celery import RERUN_COMPANY
from models import Company, Job
from tests.dashboard.helpers import run_events
from tests.idps.conftest import fixture
from workers.rerun import run

PAGE = "/dashboard/smart-assign/mapping"


def form(**changes):
    from models.attribute_mapping import DEFAULT_MAPPING

    data = {f"sources-{k}": "\n".join(v) for k, v in DEFAULT_MAPPING.items()}
    data.update({f"sources-{k}": v for k, v in changes.items()})
    return data


def test_page_shows_the_defaults_and_is_linked_from_smart_assign(dash):
    assert PAGE in dash.get("/dashboard/smart-assign").get_data(as_text=True)
    text = dash.get(PAGE).get_data(as_text=True)
    assert 'id="sources-role"' in text and "extension:learnerRole\neasyllamaRole\nlearnerRole" in text
    assert "addresses[type eq &#34;work&#34;].region" in text
    assert text.count(">Default<") == 6 and "Re-run Smart Assign now" not in text


def test_a_change_is_saved_then_the_rerun_is_offered_and_applies_it(dash, tenant, sessions, enqueued):
    body = fixture("jumpcloud", "create_user.json")
    body["title"] = "Supervisor"
    learner_id = tenant.post("Users", json=body).get_json()["id"]
    run_events(sessions)

    resp = dash.post(PAGE, {**form(role="extension:learnerRole\ntitle"), "action": "save"}, page=PAGE)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("?changed=1#rerun")
    with sessions() as s:
        assert s.get(Company, tenant.id).attribute_mapping == {"role": ["extension:learnerRole", "title"]}
    text = dash.get(f"{PAGE}?changed=1").get_data(as_text=True)
    assert "Attribute mapping saved" in text and "Re-run Smart Assign now" in text and ">Changed<" in text

    # The offered button starts the dashboard's re-run job; the worker re-reads the learner.
    assert dash.post("/dashboard/smart-assign/rerun", page=PAGE).status_code == 302
    with sessions() as s:
        job = s.scalars(select(Job)).one()
    assert (RERUN_COMPANY, [tenant.id, job.id]) in enqueued.sent
    run(sessions, tenant.id, job.id)
    page = dash.get(f"/dashboard/learners/{learner_id}").get_data(as_text=True)
    assert 'data-input="role">from <code>title</code>' in page
    assert 'data-input="state">from <code>addresses[type eq &#34;work&#34;].region</code>' in page
    assert "HP-IL-SUP" in page


def test_bad_sources_are_refused_with_the_reason_and_nothing_is_saved(dash, tenant, sessions):
    resp = dash.post(PAGE, {**form(state="addresses[work].region"), "action": "save"}, page=PAGE)
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert 'aria-invalid="true"' in text and "is not a source" in text
    with sessions() as s:
        assert s.get(Company, tenant.id).attribute_mapping is None


def test_reset_and_no_change(dash, tenant, sessions):
    dash.post(PAGE, {**form(country="country"), "action": "save"}, page=PAGE)
    assert dash.post(PAGE, {**form(country="country"), "action": "save"}, page=PAGE).status_code == 302
    assert "Nothing changed" in dash.get(PAGE).get_data(as_text=True)
    assert dash.post(PAGE, {"action": "reset"}, page=PAGE).status_code == 302
    with sessions() as s:
        assert s.get(Company, tenant.id).attribute_mapping is None


def test_mapping_is_the_signed_in_company_s_only(dash, tenant, other_tenant, sessions):
    dash.post(PAGE, {**form(role=""), "action": "save"}, page=PAGE)
    with sessions() as s:
        assert s.get(Company, tenant.id).attribute_mapping == {"role": []}
        assert s.get(Company, other_tenant.id).attribute_mapping is None


def test_posting_without_csrf_is_refused(dash, tenant, sessions):
    resp = dash.post(PAGE, {**form(role="title"), "action": "save"}, csrf=False)
    assert resp.status_code in (400, 403)
    with sessions() as s:
        assert s.get(Company, tenant.id).attribute_mapping is None


def test_learner_page_says_when_no_source_was_recorded(dash, tenant, sessions):
    from models import Learner

    learner_id = tenant.post("Users", json=fixture("okta", "create_user.json")).get_json()["id"]
    page = dash.get(f"/dashboard/learners/{learner_id}").get_data(as_text=True)
    assert 'data-input="role">from <code>easyllamaRole</code>' in page
    assert 'data-input="department">no source had a value' in page
    # A learner written before sources were recorded (before migration 0007) says so.
    with sessions() as s:
        s.get(Learner, learner_id).attribute_sources = None
        s.commit()
    page = dash.get(f"/dashboard/learners/{learner_id}").get_data(as_text=True)
    assert 'data-input="role">source not recorded yet (re-run Smart Assign)' in page
