"""Bulk work takes turns on the bulk queue: a part, then the next turn at the back.

The queue here is what Celery's Redis transport gives: first in, first out. Two
companies re-run at once alternate part by part; the nightly recertification goes
through the companies in turns; retention yields between batches. Nothing is done
twice and everything is done in the end.
"""

import functools
import itertools
from collections import deque
from datetime import datetime, timedelta

import time_machine
from sqlalchemy import func, select

from models import Job, LearnerTraining, ScimFailure, utcnow
from tests.workers.helpers import job_row, new_job
from tests.workers.test_batches import PEOPLE, post_people
from tests.workers.test_recertify import three_learners
from workers import recertify, rerun, retention


class BulkQueue:
    """The bulk queue: tasks' ``apply_async``/``delay`` append, ``drain`` runs them in order."""

    def __init__(self, monkeypatch, *tasks):
        self.messages = deque()
        for task in tasks:
            monkeypatch.setattr(task, "apply_async", functools.partial(self._send, task))
            monkeypatch.setattr(task, "delay", lambda *args, task=task: self._send(task, args))

    def _send(self, task, args=(), kwargs=None, **_options):
        self.messages.append((task, tuple(args), dict(kwargs or {})))

    def drain(self, limit=200):
        """Run every message, and those they queue, in order; how many ran."""
        ran = 0
        while self.messages and ran < limit:
            task, args, kwargs = self.messages.popleft()
            task.run(*args, **kwargs)
            ran += 1
        assert not self.messages, "the turns never ended"
        return ran


def longest_run(order):
    """The most consecutive entries of one value in ``order``."""
    return max(len(list(group)) for _, group in itertools.groupby(order))


def test_two_companies_rerunning_at_once_take_turns_part_by_part(tenant, other_tenant, sessions, monkeypatch):
    post_people(tenant, PEOPLE, copies=2)  # 10 learners each: 5 parts of 2
    post_people(other_tenant, PEOPLE, copies=2)
    monkeypatch.setattr(rerun, "sessions", lambda: sessions)
    monkeypatch.setattr(rerun, "PART_SIZE", 2)
    order = []
    finish = rerun._finish_if_last

    def part_finished(session, job_id, now):
        order.append(session.get(Job, job_id).company_id)
        return finish(session, job_id, now)

    monkeypatch.setattr(rerun, "_finish_if_last", part_finished)
    queue = BulkQueue(monkeypatch, rerun.rerun_company, rerun.rerun_help)
    jobs = [new_job(sessions, tenant.id), new_job(sessions, other_tenant.id)]
    rerun.rerun_company.delay(tenant.id, jobs[0])
    rerun.rerun_company.delay(other_tenant.id, jobs[1])
    queue.drain()

    assert sorted(order) == [tenant.id] * 5 + [other_tenant.id] * 5
    assert order.index(other_tenant.id) < len(order) - 1 - order[::-1].index(tenant.id), "B waited for A to end"
    assert longest_run(order) <= rerun.TURNS_AT_ONCE
    for job_id in jobs:
        job = job_row(sessions, job_id)
        assert (job.status, job.done, job.total) == ("done", 10, 10)


def test_the_nightly_recertification_goes_through_the_companies_in_turns(tenant, other_tenant, sessions, monkeypatch):
    three_learners(tenant, sessions)
    three_learners(other_tenant, sessions)
    monkeypatch.setattr(recertify, "sessions", lambda: sessions)
    monkeypatch.setattr(recertify, "run", functools.partial(recertify.run, batch=1))
    monkeypatch.setattr(recertify, "BATCHES_PER_TURN", 1, raising=False)
    order = []
    next_batch = recertify.next_batch

    def batch_of(session, job, conditions, batch):
        learners = next_batch(session, job, conditions, batch)
        order.extend(learner.company_id for learner in learners)
        return learners

    monkeypatch.setattr(recertify, "next_batch", batch_of)
    queue = BulkQueue(monkeypatch, recertify.recertify_company)
    with time_machine.travel(datetime(2027, 2, 20, 2, 0), tick=False):
        assert recertify.recertify_all() == 2
        queue.drain()

    assert order == [tenant.id, other_tenant.id] * 3
    with sessions() as s:
        jobs = s.scalars(select(Job).order_by(Job.company_id)).all()
        cycles = s.scalar(select(func.count()).select_from(LearnerTraining).where(LearnerTraining.cycle == 2))
    assert [(j.company_id, j.status, j.done, j.added) for j in jobs] == [
        (tenant.id, "done", 3, 9),
        (other_tenant.id, "done", 3, 9),
    ]
    assert cycles == 18, "each learner's next cycle, once"


def test_retention_yields_between_batches_and_prunes_everything_in_the_end(tenant, sessions, monkeypatch):
    old = utcnow() - timedelta(days=retention.settings.retention_days + 1)
    with sessions() as s:
        s.add_all(
            ScimFailure(company_id=tenant.id, method="GET", path=f"/x/{n}", status=404, occurred_at=old)
            for n in range(3)
        )
        s.commit()
    monkeypatch.setattr(retention, "sessions", lambda: sessions)
    monkeypatch.setattr(retention, "BATCH", 1)
    monkeypatch.setattr(retention, "BATCHES_PER_TURN", 2, raising=False)
    queue = BulkQueue(monkeypatch, retention.prune_retention)

    assert retention.prune_retention() == {"scim_failures": 2, "event_payloads": 0, "webhooks": 0}
    assert len(queue.messages) == 1, "the rest in a next turn, behind the queue"
    queue.drain()
    with sessions() as s:
        assert s.scalars(select(ScimFailure.id)).all() == []
