"""``learners.owed_*`` (what each learner owes, counted by status, stored for the compliance
report): ``refresh`` repairs a bulk load (every writer is walked in test_latest_cycle.py).
The report's learner counts and managers ranked from those counts match the report's rows,
on the day a completion expires and after a cadence edit (expiry is never stored)."""

from collections import Counter
from datetime import datetime, timedelta

import time_machine
from sqlalchemy import func, select, update

from models import Learner, LearnerTraining
from models.learner_standing import refresh, stale
from service.company import catalog_edit
from service.reports.compliance import iter_rows, learner_counts
from service.reports.manager_chain import most_late
from tests.dashboard.helpers import post_learner, run_events
from tests.dashboard.test_people_columns import add

T0 = datetime(2026, 3, 2, 9, 0)
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def assert_kept(sessions, company_id):
    with sessions() as s:
        assert stale(s.connection(), company_id) == []
        assert s.scalar(select(Learner.id).where(Learner.owed_count > 0)) is not None


# Every writer keeps the counts: tests/workers/test_latest_cycle.py walks them all, checking the
# counts beside the flag they are made from.


def test_refresh_repairs_learners_written_around_the_orm(tenant, sessions):
    learner = post_learner(tenant, "ca@acme.example")
    run_events(sessions)
    with sessions() as s:
        # A bulk load that bypassed the session (as the dashboard benchmark seeds its rows).
        s.execute(update(Learner).values(owed_count=0, owed_overdue=0).execution_options(synchronize_session=False))
        s.commit()
        assert stale(s.connection(), tenant.id) == [learner]
    with sessions() as s:
        refresh(s.connection(), company_id=tenant.id)
        s.commit()
    assert_kept(sessions, tenant.id)


def from_rows(sessions, company_id, now, within=None):
    """The report's figures from its rows, one by one: (owing, behind, {manager: Counter of standings})."""
    owing, behind, managers = set(), set(), {}
    with sessions() as s:
        for row in iter_rows(s, company_id, now, within=within):
            owing.add(row["learner_id"])
            if row["status"] != "completed":
                behind.add(row["learner_id"])
            managers.setdefault(row["manager_id"], Counter())[row["status"]] += 1
    return len(owing), len(behind), managers


def assert_counts_match_rows(sessions, company_id, now):
    owing, behind, managers = from_rows(sessions, company_id, now)
    with sessions() as s:
        active, counted_owing, counted_behind = learner_counts(s, company_id, now)
        groups, count = most_late(s, company_id, now)
        assert active == s.scalar(select(func.count()).select_from(Learner).where(Learner.active))
    assert (counted_owing, counted_behind) == (owing, behind)
    assert count == len(managers)
    for manager, counts in groups.items():
        assert {k: v for k, v in counts.items() if v} == dict(managers[manager])
    return behind, groups


def test_learners_behind_and_managers_ranked_follow_the_day_and_the_cadence(tenant, sessions):
    with time_machine.travel(T0, tick=False):
        boss = add(tenant, "boss")
        ann = add(tenant, "ann", manager="boss")
        add(tenant, "bob", manager="boss")
        run_events(sessions)
    with sessions() as s:  # ann completes everything on day one
        for row in s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == ann)):
            row.status, row.progress, row.completed_at = "completed", 100, T0
        s.commit()
    assert_kept(sessions, tenant.id)

    # Within the year ann is compliant; a year and a day on her annual courses have expired
    # (nothing was written: the counts of what she owes are the same, the day is not).
    behind, groups = assert_counts_match_rows(sessions, tenant.id, T0 + timedelta(days=30))
    assert behind == 2 and groups[boss]["expired"] == 0
    behind, groups = assert_counts_match_rows(sessions, tenant.id, T0 + timedelta(days=366))
    assert behind == 3 and groups[boss]["expired"] > 0

    # CYBER made a one-time course: its completion no longer expires, at once.
    expired = groups[boss]["expired"]
    with sessions() as s:
        catalog_edit.set_training(s, tenant.id, "CYBER", None, None)
        s.commit()
    _, groups = assert_counts_match_rows(sessions, tenant.id, T0 + timedelta(days=366))
    assert groups[boss]["expired"] == expired - 1
