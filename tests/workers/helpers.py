"""Helpers shared by the worker tests: re-run jobs, a worker that dies mid-run, a learner who moves."""

from models import Job
from workers import rerun

STATE = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:state"


def move_to_state(tenant, learner_id, state):
    """PATCH the learner's state (Entra's custom extension), as an IdP sends a move."""
    resp = tenant.patch(f"Users/{learner_id}", json={"Operations": [{"op": "Replace", "path": STATE, "value": state}]})
    assert resp.status_code == 200, resp.get_data(as_text=True)


def new_job(sessions, company_id):
    """A queued re-run job row of ``company_id``; returns its id."""
    with sessions() as s:
        job = Job(company_id=company_id, kind="rerun_smart_assign", status="queued")
        s.add(job)
        s.commit()
        return job.id


def job_row(sessions, job_id):
    """The job row as committed now."""
    with sessions() as s:
        return s.get(Job, job_id)


def reconcile_dying_at(monkeypatch, nth):
    """Make the re-run's ``reconcile`` raise on its ``nth`` call, as a killed worker stops
    (``monkeypatch.undo()`` starts a healthy worker again)."""
    calls = []
    real = rerun.reconcile

    def dying(session, learner, company=None, now=None):
        calls.append(learner.id)
        if len(calls) == nth:
            raise RuntimeError("worker killed")
        return real(session, learner, company, now=now)

    monkeypatch.setattr(rerun, "reconcile", dying)
