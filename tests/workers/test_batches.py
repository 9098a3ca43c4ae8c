"""Events processed in batches (one message, one transaction) and company re-runs in parts:
the same trainings and audit trail as one at a time, nothing lost, nothing done twice."""

import threading
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from models import AuditEvent, JobPart, Learner, LearnerTraining, ProvisioningEvent
from tests.workers.helpers import job_row, move_to_state, new_job, reconcile_dying_at
from tests.workers.test_process_event import post_learner
from tests.workers.test_relay import Broker
from workers import rerun, tasks
from workers.relay import relay_once
from workers.tasks import process, process_batch, process_many

NY = {"state": "New York", "location": "New York, NY"}


def pending_ids(sessions, company_id=None):
    with sessions() as s:
        query = select(ProvisioningEvent.id).where(ProvisioningEvent.processed_at.is_(None))
        if company_id is not None:
            query = query.where(ProvisioningEvent.company_id == company_id)
        return s.scalars(query.order_by(ProvisioningEvent.id)).all()


def trainings(sessions, company_id):
    """``{userName: sorted((code, family, cycle, status, due_at, reason))}`` for a company."""
    with sessions() as s:
        rows = s.execute(
            select(Learner.user_name, LearnerTraining)
            .join(Learner, Learner.id == LearnerTraining.learner_id)
            .where(LearnerTraining.company_id == company_id)
        ).all()
    out = {}
    for name, r in rows:
        out.setdefault(name.split("@")[0], []).append(
            (r.training_code, r.family, r.cycle, r.status, r.due_at.date() if r.due_at else None, r.reason)
        )
    return {k: sorted(v) for k, v in out.items()}


def audits(sessions, company_id):
    """``[(event_id, action, outcome)]`` of a company, by event."""
    with sessions() as s:
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.company_id == company_id).order_by(AuditEvent.event_id)
        ).all()
        return [(a.event_id, a.action, a.outcome) for a in rows]


def batch(sessions, ids):
    """The batch path alone, without process_many's one-by-one fallback (which would hide its bugs)."""
    with sessions() as s:
        return len(process_batch(s, ids))


def post_people(tenant, people, copies=1):
    for n in range(copies):
        for name, ext in people:
            post_learner(tenant, f"{name}{n or ''}@x.example", **ext)


PEOPLE = [
    ("ca", {}),
    ("ny", NY),
    ("il", {"state": "Illinois", "location": "Chicago, IL", "learnerRole": "employee"}),
    ("tags", {"training_tags": "CYBER,NOPE-1"}),
    ("de", {"state": "Bavaria", "country": "DE", "location": "Munich"}),
]


def test_a_batch_assigns_and_audits_exactly_as_one_event_at_a_time(tenant, other_tenant, sessions):
    post_people(tenant, PEOPLE)
    post_people(other_tenant, PEOPLE)
    for event_id in pending_ids(sessions, other_tenant.id):
        with sessions() as s:
            assert process(s, event_id)
    assert batch(sessions, pending_ids(sessions, tenant.id)) == len(PEOPLE)

    assert trainings(sessions, tenant.id) == trainings(sessions, other_tenant.id)
    batched, single = audits(sessions, tenant.id), audits(sessions, other_tenant.id)
    assert len(batched) == len(PEOPLE), "one audit entry per event"
    assert [(a, o) for _, a, o in batched] == [(a, o) for _, a, o in single]
    assert pending_ids(sessions) == []


def test_a_redelivered_batch_does_nothing_twice(tenant, sessions):
    post_people(tenant, PEOPLE)
    ids = pending_ids(sessions)
    assert process_many(sessions, ids) == len(ids)
    before = (trainings(sessions, tenant.id), audits(sessions, tenant.id))
    assert process_many(sessions, ids) == 0
    assert batch(sessions, list(reversed(ids)) + ids) == 0
    assert (trainings(sessions, tenant.id), audits(sessions, tenant.id)) == before
    with sessions() as s:
        attempts = s.scalars(select(ProvisioningEvent.attempts)).all()
    assert set(attempts) == {1}


def test_a_batch_mixing_done_and_new_events_does_only_the_new_ones(tenant, sessions):
    post_people(tenant, PEOPLE[:2])
    first = pending_ids(sessions)
    process_many(sessions, first)
    post_people(tenant, PEOPLE[2:])
    assert process_many(sessions, first + pending_ids(sessions)) == len(PEOPLE) - 2
    assert len(audits(sessions, tenant.id)) == len(PEOPLE)


def test_two_events_of_one_learner_in_one_batch_apply_in_order(tenant, other_tenant, sessions):
    for t in (tenant, other_tenant):
        move_to_state(t, post_learner(t, "mover@x.example"), "New York")
    for event_id in pending_ids(sessions, other_tenant.id):
        with sessions() as s:
            process(s, event_id)
    assert batch(sessions, pending_ids(sessions, tenant.id)) == 2

    got = trainings(sessions, tenant.id)
    assert got == trainings(sessions, other_tenant.id)
    codes = [row[0] for row in got["mover"]]
    assert "HP-NY-SUP" in codes and "HP-CA-SUP" not in codes
    assert len({(row[1], row[2]) for row in got["mover"]}) == len(codes), "no (family, cycle) twice"
    entries = audits(sessions, tenant.id)
    assert [a for _, a, _ in entries] == [a for _, a, _ in audits(sessions, other_tenant.id)]
    assert len(entries) == 2 and entries[0][1] == "create"


def test_a_failing_learner_does_not_hold_back_the_others(tenant, sessions, monkeypatch):
    post_people(tenant, PEOPLE)
    ids = pending_ids(sessions)
    with sessions() as s:
        bad = s.scalar(select(Learner.id).where(Learner.user_name == "il@x.example"))
    real = tasks.reconcile

    def fails_for_one(session, learner, **kw):
        if learner.id == bad:
            raise RuntimeError("a bug met by one learner")
        return real(session, learner, **kw)

    monkeypatch.setattr(tasks, "reconcile", fails_for_one)
    with pytest.raises(RuntimeError):
        process_many(sessions, ids)
    assert len(pending_ids(sessions)) == 1, "only the failing event stays owed"
    entries = audits(sessions, tenant.id)
    assert len(entries) == len(PEOPLE) - 1
    assert set(trainings(sessions, tenant.id)) == {"ca", "ny", "tags", "de"}

    monkeypatch.setattr(tasks, "reconcile", real)
    assert process_many(sessions, ids) == 1, "the redelivered message does the owed event only"
    assert len(audits(sessions, tenant.id)) == len(PEOPLE)
    assert pending_ids(sessions) == []


def test_the_relay_sends_pending_events_in_lists_and_loses_none_on_a_broker_failure(tenant, sessions):
    for n in range(5):
        post_learner(tenant, f"u{n}@acme.example")
    ids = pending_ids(sessions)
    broker = Broker()
    broker.down, broker.fail_after = True, 1
    with sessions() as s, pytest.raises(ConnectionError):
        relay_once(s, broker.publish, per_message=2)
    assert broker.sent == [ids[:2]]
    with sessions() as s:
        owed = s.scalars(
            select(ProvisioningEvent.id).where(ProvisioningEvent.published_at.is_(None)).order_by(ProvisioningEvent.id)
        ).all()
    assert owed == ids[2:], "the list published is stamped, the rest stays owed"
    broker.down = False
    with sessions() as s:
        assert relay_once(s, broker.publish, per_message=2) == 3
    assert broker.sent == [ids[:2], ids[2:4], ids[4:]]


def test_the_beat_relay_re_enqueues_owed_events_in_lists(tenant, sessions, monkeypatch):
    for n in range(3):
        post_learner(tenant, f"u{n}@acme.example")
    sent = []
    monkeypatch.setattr(tasks, "sessions", lambda: sessions)
    monkeypatch.setattr(tasks, "settings", replace(tasks.settings, relay_after_seconds=-5))
    monkeypatch.setattr(tasks.process_events, "delay", sent.append)
    monkeypatch.setattr(tasks, "record_redelivery", lambda *a: None)
    monkeypatch.setattr(tasks, "EVENTS_PER_MESSAGE", 2)
    assert tasks.relay_pending_events.run() == 3
    assert sent == [pending_ids(sessions)[:2], pending_ids(sessions)[2:]]


# --- company re-runs in parts ----------------------------------------------------------------


def assignments(sessions, company_id):
    with sessions() as s:
        return s.scalar(select(func.count()).where(LearnerTraining.company_id == company_id))


def test_a_rerun_in_parts_counts_every_learner_once_and_assigns_as_one_loop(tenant, other_tenant, sessions):
    post_people(tenant, PEOPLE, copies=2)  # 10 learners
    post_people(other_tenant, PEOPLE, copies=2)
    one_loop = new_job(sessions, other_tenant.id)
    rerun.run(sessions, other_tenant.id, one_loop, batch=200, part_size=1000)
    job_id = new_job(sessions, tenant.id)
    rerun.run(sessions, tenant.id, job_id, batch=2, part_size=3)
    job = job_row(sessions, job_id)
    assert (job.status, job.total, job.done) == ("done", 10, 10)
    assert job.added == assignments(sessions, tenant.id) == job_row(sessions, one_loop).added > 0
    assert trainings(sessions, tenant.id) == trainings(sessions, other_tenant.id)
    with sessions() as s:
        parts = s.scalars(select(JobPart).where(JobPart.job_id == job_id)).all()
    assert len(parts) == 4 and all(p.finished_at for p in parts)
    assert sum(p.done for p in parts) == 10


def test_a_rerun_killed_mid_part_resumes_and_counts_exactly(tenant, sessions, monkeypatch):
    post_people(tenant, PEOPLE, copies=2)
    job_id = new_job(sessions, tenant.id)
    reconcile_dying_at(monkeypatch, 7)
    with pytest.raises(RuntimeError):
        rerun.run(sessions, tenant.id, job_id, batch=2, part_size=4)
    job = job_row(sessions, job_id)
    assert (job.status, job.done) == ("running", 6), "the batch in flight rolled back"
    monkeypatch.undo()  # a healthy worker takes the redelivered task
    # The redelivered task, twice over: the second finds nothing left.
    rerun.run(sessions, tenant.id, job_id, batch=2, part_size=4)
    rerun.run(sessions, tenant.id, job_id, batch=2, part_size=4)
    rerun.work(sessions, job_id)
    job = job_row(sessions, job_id)
    assert (job.status, job.done, job.total) == ("done", 10, 10)
    assert job.added == assignments(sessions, tenant.id)


def test_the_rerun_task_does_a_part_and_queues_the_next_turns(tenant, sessions, monkeypatch):
    post_people(tenant, PEOPLE)
    job_id = new_job(sessions, tenant.id)
    turns = []
    monkeypatch.setattr(rerun, "sessions", lambda: sessions)
    monkeypatch.setattr(rerun, "PART_SIZE", 2)
    monkeypatch.setattr(rerun.rerun_help, "apply_async", lambda args, kwargs: turns.append(args))
    assert rerun.rerun_company.run(tenant.id, job_id) == job_id
    assert turns == [(job_id,), (job_id,)], "a second turn at once, and this one's next turn"
    assert job_row(sessions, job_id).done == 2, "one part (of 3), then back to the queue"
    while turns:
        rerun.rerun_help.run(*turns.pop(0))
    job = job_row(sessions, job_id)
    assert (job.status, job.done, job.total) == ("done", 5, 5)
    before = assignments(sessions, tenant.id)
    # A turn that comes late, and a redelivered task, find nothing to do and queue nothing.
    rerun.rerun_help.run(job_id)
    rerun.rerun_company.run(tenant.id, job_id)
    assert (job_row(sessions, job_id).done, assignments(sessions, tenant.id), turns) == (5, before, [])


def test_the_rerun_task_does_every_part_itself_when_its_turns_cannot_be_queued(tenant, sessions, monkeypatch):
    post_people(tenant, PEOPLE)
    job_id = new_job(sessions, tenant.id)

    def broker_down(*_a):
        raise ConnectionError("broker down")

    monkeypatch.setattr(rerun, "sessions", lambda: sessions)
    monkeypatch.setattr(rerun, "PART_SIZE", 2)
    monkeypatch.setattr(rerun.rerun_help, "apply_async", broker_down)
    rerun.rerun_company.run(tenant.id, job_id)
    job = job_row(sessions, job_id)
    assert (job.status, job.done, job.error) == ("done", 5, None)


def test_workers_sharing_a_rerun_do_every_learner_once(tenant, sessions):
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("concurrent workers need PostgreSQL's row locks (SQLite has one writer)")
    post_people(tenant, PEOPLE, copies=6)  # 30 learners
    job_id = new_job(sessions, tenant.id)
    rerun._start(sessions, tenant.id, job_id, 4, rerun.utcnow())
    errors = []

    def worker():
        try:
            rerun.work(sessions, job_id, batch=2)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    job = job_row(sessions, job_id)
    assert (job.status, job.done, job.total) == ("done", 30, 30)
    assert job.added == assignments(sessions, tenant.id)
    with sessions() as s:
        duplicated = s.execute(
            select(LearnerTraining.learner_id, LearnerTraining.family, func.count())
            .group_by(LearnerTraining.learner_id, LearnerTraining.family)
            .having(func.count() > 1)
        ).all()
    assert duplicated == []
