"""Smart Assign > Preview a change: the admin writes a change, a worker previews it (the task
function called directly here), the page shows who would gain and lose which training, and
"Apply" saves the change and starts the re-run, which then does what the page showed."""

from sqlalchemy import select

from config.celery import PREVIEW_CHANGE, RERUN_COMPANY
from models import Company, Job, LearnerTraining
from tests.api.conftest import post_learner
from tests.dashboard.helpers import run_events
from workers.preview_job import run_preview
from workers.rerun import run

PAGE = "/dashboard/smart-assign/preview"
ALIAS = {"alias_input": "state", "alias_value": "Calif.", "alias_to": "US-CA", "source_input": "state"}


def _codes(sessions, learner_id):
    with sessions() as s:
        return {
            r.training_code: r.status
            for r in s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == learner_id))
        }


def _start(dash, enqueued, data):
    resp = dash.post(PAGE, data, page=PAGE)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    job_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert (PREVIEW_CHANGE, [job_id]) in enqueued.sent
    return job_id


def test_a_previewed_alias_shows_gains_and_losses_then_apply_saves_it_and_reruns(dash, tenant, sessions, enqueued):
    calif = post_learner(tenant, "cal@acme.example", state="Calif.", learnerRole="non-supervisor")
    post_learner(tenant, "ohio@acme.example", state="Ohio", learnerRole="non-supervisor")
    run_events(sessions)
    assert "HP-US-EMP" in _codes(sessions, calif)
    assert PAGE in dash.get("/dashboard/smart-assign").get_data(as_text=True)

    job_id = _start(dash, enqueued, ALIAS)
    waiting = dash.get(f"{PAGE}/{job_id}").get_data(as_text=True)
    assert "Queued: waiting for a worker" in waiting and "Cancel the preview" in waiting

    assert run_preview(sessions, job_id) == job_id
    text = dash.get(f"{PAGE}/{job_id}").get_data(as_text=True)
    assert "1 of 2 learners would change" in text and "Alias: state “Calif.” reads as US-CA" in text
    assert '<tr data-code="HP-CA-EMP">' in text and '<tr data-code="HP-US-EMP">' in text
    assert "replaced by HP-CA-EMP" in text and "cal@acme.example" not in text.split("HP-CA-EMP", 1)[0]
    with sessions() as s:
        assert s.get(Company, tenant.id).attribute_mapping is None  # nothing saved yet
    assert "HP-CA-EMP" not in _codes(sessions, calif)

    resp = dash.post(f"{PAGE}/{job_id}/apply", page=f"{PAGE}/{job_id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/dashboard/smart-assign#rerun")
    with sessions() as s:
        assert s.get(Company, tenant.id).attribute_mapping == {"aliases": {"state": {"calif": "US-CA"}}}
        rerun = s.scalar(select(Job).where(Job.kind == "rerun_smart_assign"))
    assert (RERUN_COMPANY, [tenant.id, rerun.id]) in enqueued.sent
    run(sessions, tenant.id, rerun.id)
    after = _codes(sessions, calif)
    assert after["HP-CA-EMP"] == "assigned" and "HP-US-EMP" not in after  # switched, as the preview said


def test_a_cancelled_preview_is_not_run_and_cannot_be_applied(dash, tenant, sessions, enqueued):
    post_learner(tenant, "cal@acme.example", state="Calif.")
    run_events(sessions)
    job_id = _start(dash, enqueued, {**ALIAS, "industry": "hospitality"})
    assert dash.post(f"{PAGE}/{job_id}/cancel", page=f"{PAGE}/{job_id}").status_code == 302
    assert run_preview(sessions, job_id) is None
    text = dash.get(f"{PAGE}/{job_id}").get_data(as_text=True)
    assert "Cancelled: nothing was changed." in text and "Apply" not in text
    assert dash.post(f"{PAGE}/{job_id}/apply", page=f"{PAGE}/{job_id}").status_code == 409
    with sessions() as s:
        company = s.get(Company, tenant.id)
        assert company.attribute_mapping is None and company.industry != "hospitality"


def test_an_empty_or_invalid_change_is_refused_and_a_bad_alias_fails_the_preview(dash, tenant, sessions, enqueued):
    resp = dash.post(PAGE, {"alias_input": "state", "source_input": "state"}, page=PAGE)
    assert resp.status_code == 400 and "Fill in at least one change to preview." in resp.get_data(as_text=True)
    resp = dash.post(PAGE, {**ALIAS, "lead_days": "999"}, page=PAGE)
    assert resp.status_code == 400 and "Enter 0 to 365 days." in resp.get_data(as_text=True)
    job_id = _start(dash, enqueued, {**ALIAS, "alias_to": "Atlantis"})
    run_preview(sessions, job_id)
    assert "Failed:" in dash.get(f"{PAGE}/{job_id}").get_data(as_text=True)
    assert not [args for name, args in enqueued.sent if name == RERUN_COMPANY]


def test_another_companys_preview_is_not_found(dash, other_tenant, sessions):
    with sessions() as s:
        job = Job(company_id=other_tenant.id, kind="preview_smart_assign", status="done", change={}, result={})
        s.add(job)
        s.commit()
        job_id = job.id
    assert dash.get(f"{PAGE}/{job_id}").status_code == 404
    assert dash.post(f"{PAGE}/{job_id}/apply", page=PAGE).status_code == 404


def test_the_doctor_links_each_unrecognised_value_to_a_prefilled_preview(dash, tenant, sessions):
    post_learner(tenant, "cal@acme.example", state="Calif.")
    run_events(sessions)
    doctor = dash.get("/dashboard/smart-assign/doctor").get_data(as_text=True)
    link = f"{PAGE}?alias_input=state&amp;alias_value=Calif."
    assert link in doctor
    form = dash.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert 'name="alias_value" type="text" value="Calif."' in form
    assert '<option value="state" selected>' in form
