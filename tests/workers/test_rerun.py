"""The Smart Assign re-run task: every learner, in batches, progress in ``jobs``, resumable, idempotent."""

import pytest
from sqlalchemy import func, select

from models import LearnerTraining
from tests.dashboard.helpers import post_learner
from tests.workers.helpers import job_row, new_job, reconcile_dying_at
from workers import rerun


def assignments(sessions):
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(LearnerTraining))


def test_rerun_reconciles_every_learner_in_batches(tenant, other_tenant, sessions):
    for i in range(7):
        post_learner(tenant, f"l{i}@acme.example")
    post_learner(other_tenant, "x@globex.example")
    job_id = new_job(sessions, tenant.id)
    assert rerun.run(sessions, tenant.id, job_id, batch=3) == job_id
    job = job_row(sessions, job_id)
    assert (job.status, job.total, job.done) == ("done", 7, 7)
    assert job.added == assignments(sessions) > 0
    assert job.started_at <= job.finished_at
    with sessions() as s:
        # The other company's learner was not touched.
        assert s.scalar(select(func.count()).where(LearnerTraining.company_id == other_tenant.id)) == 0


def test_running_again_assigns_nothing_twice(tenant, sessions):
    for i in range(4):
        post_learner(tenant, f"l{i}@acme.example")
    rerun.run(sessions, tenant.id, new_job(sessions, tenant.id))
    before = assignments(sessions)
    second = new_job(sessions, tenant.id)
    rerun.run(sessions, tenant.id, second)
    assert assignments(sessions) == before and job_row(sessions, second).added == 0
    # A redelivered message for a finished job does nothing.
    rerun.run(sessions, tenant.id, second)
    assert job_row(sessions, second).done == 4


def test_a_redelivered_task_resumes_after_the_last_batch(tenant, sessions, monkeypatch):
    for i in range(6):
        post_learner(tenant, f"l{i}@acme.example")
    job_id = new_job(sessions, tenant.id)
    reconcile_dying_at(monkeypatch, 4)
    with pytest.raises(RuntimeError):
        rerun.run(sessions, tenant.id, job_id, batch=2)
    job = job_row(sessions, job_id)
    assert (job.status, job.done) == ("running", 2)  # the third batch rolled back
    monkeypatch.undo()  # a healthy worker takes the redelivered task
    rerun.run(sessions, tenant.id, job_id, batch=2)
    job = job_row(sessions, job_id)
    assert (job.status, job.done, job.total) == ("done", 6, 6)
    assert job.added == assignments(sessions)


def test_a_task_without_a_job_id_creates_its_job(tenant, sessions):
    post_learner(tenant, "solo@acme.example")
    job_id = rerun.run(sessions, tenant.id)
    assert job_row(sessions, job_id).status == "done"


@pytest.mark.parametrize("wrong", ["company", "job"])
def test_a_job_of_another_company_or_none_is_refused(tenant, other_tenant, sessions, wrong):
    job_id = new_job(sessions, other_tenant.id)
    with pytest.raises(rerun.JobFailed):
        if wrong == "company":
            rerun.run(sessions, 999, job_id)
        else:
            rerun.run(sessions, tenant.id, job_id)
    assert job_row(sessions, job_id).status == "queued"


def test_the_task_marks_the_job_failed_on_an_unexpected_error(tenant, sessions, monkeypatch):
    post_learner(tenant, "x@acme.example")
    job_id = new_job(sessions, tenant.id)
    monkeypatch.setattr(rerun, "sessions", lambda: sessions)
    monkeypatch.setattr(rerun, "reconcile", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        rerun.rerun_company.run(tenant.id, job_id)
    job = job_row(sessions, job_id)
    assert job.status == "failed" and "internal error" in job.error and "ZeroDivision" not in job.error
