"""The daily recertification run and `flask --app wsgi smart-assign recertify`: counts, only the
learners due, idempotent, resumable, and time that never runs backwards."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from models import Company, Job, Learner, LearnerTraining
from tests.helpers import run_events
from tests.workers.test_process_event import post_learner
from workers.cli import smart_assign_commands
from workers.recertify import run

T0 = datetime(2026, 3, 2, 9, 0)


@pytest.fixture()
def cli(app):
    app.cli.add_command(smart_assign_commands(lambda: app.extensions["herd.sessions"]))
    return app.test_cli_runner()


def complete_all(sessions, when):
    with sessions() as s:
        for row in s.scalars(select(LearnerTraining)):
            row.status, row.progress, row.completed_at, row.updated_at = "completed", 100, when, when
        s.commit()


def three_learners(tenant, sessions):
    """Three CA supervisors created and done at T0; tags make their CYBER/HIPAA annual."""
    with time_machine.travel(T0, tick=False):
        ids = [post_learner(tenant, f"l{i}@acme.example") for i in range(3)]
        run_events(sessions)
    complete_all(sessions, T0 + timedelta(days=5))
    return ids


def rows_of(sessions, learner_id):
    with sessions() as s:
        return s.scalars(
            select(LearnerTraining).where(LearnerTraining.learner_id == learner_id).order_by(LearnerTraining.id)
        ).all()


def test_cli_assigns_the_next_cycles_a_year_later_and_is_idempotent(tenant, sessions, cli):
    ids = three_learners(tenant, sessions)

    result = cli.invoke(args=["smart-assign", "recertify", str(tenant.id), "--as-of", "2027-02-20"])

    assert result.exit_code == 0, result.output
    # Per learner: WVP-CA, CYBER and HIPAA are annual (expire 2027-03-07, within 30 days);
    # the CA supervisor course runs two years and is not due.
    assert "3 learners due reviewed; 9 assignments added; 0 marked overdue." in result.output
    new = [r for r in rows_of(sessions, ids[0]) if r.cycle == 2]
    assert sorted(r.training_code for r in new) == ["CYBER", "HIPAA", "WVP-CA"]
    assert all(r.due_at == datetime(2027, 3, 7, 9, 0) for r in new)  # the expiry of the completion
    assert all(r.assigned_at.date() == date(2027, 2, 20) for r in new)
    assert all(r.reason.startswith("recertification, cycle 2:") for r in new)

    again = cli.invoke(args=["smart-assign", "recertify", str(tenant.id), "--as-of", "2027-02-20"])
    assert "0 learners due reviewed; 0 assignments added; 0 marked overdue." in again.output


def test_overdue_is_marked_after_the_due_date_and_cleared_by_completion(tenant, sessions, cli, client):
    with time_machine.travel(T0, tick=False):
        learner_id = post_learner(tenant)
        run_events(sessions)
    result = cli.invoke(args=["smart-assign", "recertify", str(tenant.id), "--as-of", "2026-04-15"])
    assert "4 marked overdue" in result.output  # HP-CA-SUP, WVP-CA, CYBER, HIPAA were due 2026-04-01
    rows = rows_of(sessions, learner_id)
    assert {r.status for r in rows} == {"overdue"}
    auth = {"Authorization": f"Bearer {tenant.token}"}
    url = f"/api/v1/learner_trainings/{rows[0].id}"
    resp = client.patch(url, json={"status": "in_progress", "progress": 50}, headers=auth)
    assert resp.get_json()["status"] == "overdue" and resp.get_json()["progress"] == 50
    resp = client.patch(url, json={"status": "completed"}, headers=auth)
    assert resp.get_json()["status"] == "completed"


def test_only_the_learners_due_are_read(tenant, sessions):
    ids = three_learners(tenant, sessions)
    with sessions() as s:
        # Learner 0 completed a month later: nothing of theirs is due on 2027-02-20.
        for row in s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == ids[0])):
            row.completed_at = T0 + timedelta(days=40)
        s.get(Learner, ids[0]).review_at = T0 + timedelta(days=40 + 365 - 30)
        s.commit()

    job = run(sessions, tenant.id, date(2027, 2, 20))

    assert (job.total, job.done, job.added) == (2, 2, 6)
    assert all(r.cycle == 1 for r in rows_of(sessions, ids[0]))


def test_a_run_stopped_midway_resumes_after_the_last_batch(tenant, sessions):
    ids = three_learners(tenant, sessions)

    def crash(_n):
        raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        run(sessions, tenant.id, date(2027, 2, 20), batch=1, progress=crash)
    with sessions() as s:
        [job] = s.scalars(select(Job)).all()
        assert (job.status, job.done, job.added) == ("running", 1, 3)

    finished = run(sessions, tenant.id, date(2027, 2, 20), batch=1)

    assert finished.id == job.id and (finished.status, finished.done, finished.added) == ("done", 3, 9)
    assert sum(r.cycle == 2 for i in ids for r in rows_of(sessions, i)) == 9


def test_as_of_never_runs_time_backwards(tenant, sessions, cli):
    three_learners(tenant, sessions)
    cli.invoke(args=["smart-assign", "recertify", str(tenant.id), "--as-of", "2027-02-20"])

    result = cli.invoke(args=["smart-assign", "recertify", str(tenant.id), "--as-of", "2026-06-01"])

    assert result.exit_code == 0, result.output
    assert "already recertified through 2027-02-20" in result.output
    assert "as of 2027-02-20" in result.output
    with sessions() as s:
        assert s.get(Company, tenant.id).recertified_through.date() == date(2027, 2, 20)
        assert min(r.assigned_at for r in s.scalars(select(LearnerTraining).where(LearnerTraining.cycle == 2))) >= (
            datetime(2027, 2, 20)
        )


def test_unknown_company_fails_clearly(cli):
    result = cli.invoke(args=["smart-assign", "recertify", "404"])
    assert result.exit_code != 0 and "no company 404" in result.output


def test_the_daily_beat_task_hands_over_only_companies_with_learners_due(tenant, other_tenant, sessions, monkeypatch):
    from workers import recertify as task_module

    three_learners(tenant, sessions)
    with time_machine.travel(T0, tick=False):
        post_learner(other_tenant, "fresh@globex.example")
        run_events(sessions)
    sent = []
    monkeypatch.setattr(task_module, "sessions", lambda: sessions)
    monkeypatch.setattr(task_module.recertify_company, "delay", lambda company_id: sent.append(company_id))

    with time_machine.travel(datetime(2026, 3, 20, 2, 0), tick=False):
        assert task_module.recertify_all() == 0  # nothing due yet: no task, no job row
    with time_machine.travel(datetime(2027, 2, 20, 2, 0), tick=False):
        # Acme's annual trainings renew within 30 days; Globex's learner (assigned, never done)
        # is past due since 2026-04-01, so both are handed over, each once.
        assert task_module.recertify_all() == 2
        assert sent == [tenant.id, other_tenant.id]
        result = task_module.recertify_company.run(tenant.id, "2027-02-20")
    assert result["added"] == 9 and result["overdue"] == 0
    with sessions() as s:
        assert s.scalars(select(Job).where(Job.company_id == other_tenant.id)).all() == []
