"""``learner_trainings.latest`` (the cycle each learner owes, stored for the compliance report)
agrees with the computation from scratch after every kind of write: Smart Assign on new
learners, a completion, a re-run that adds a cycle and one that withdraws it again, a
deactivation, the daily recertification, retention, the course player's progress."""

from datetime import datetime, timedelta

import time_machine
from sqlalchemy import select, update

from models import Company, LearnerTraining, utcnow
from models.latest_cycle import refresh, stale
from service.company import mapping
from tests.dashboard.helpers import post_learner, run_events
from workers import recertify, rerun, retention

T0 = datetime(2026, 3, 2, 9, 0)


def owed(sessions, learner_id):
    """``{(code, cycle)}`` of the learner's rows flagged latest."""
    with sessions() as s:
        rows = s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == learner_id)).all()
        return {(r.training_code, r.cycle) for r in rows if r.latest}


def assert_kept(sessions, company_id):
    with sessions() as s:
        assert stale(s.connection(), company_id) == []
        assert s.scalar(select(LearnerTraining.id).where(LearnerTraining.latest)) is not None


def change_mapping(sessions, company_id, change):
    with sessions() as s:
        change(s.get(Company, company_id))
        s.commit()


def test_the_flag_follows_every_writer(tenant, client, sessions):
    with time_machine.travel(T0, tick=False):
        ca = post_learner(tenant, "ca@acme.example")  # California supervisor: HP-CA-SUP, WVP-CA, CYBER, HIPAA
        tx = post_learner(tenant, "tx@acme.example", state="Texas")
        run_events(sessions)
    assert_kept(sessions, tenant.id)
    assert ("HP-CA-SUP", 1) in owed(sessions, ca)

    with sessions() as s:  # every course completed, as the course player reports it
        for row in s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == ca)):
            row.status, row.progress, row.completed_at = "completed", 100, T0 + timedelta(days=5)
        s.commit()
    assert_kept(sessions, tenant.id)

    # A mapping typo and a re-run: the state reads as missing, HP-US-SUP comes as cycle 2 ...
    change_mapping(sessions, tenant.id, lambda c: mapping.set_sources(c, "state", ["extension:stat"]))
    rerun.run(sessions, tenant.id)
    assert_kept(sessions, tenant.id)
    assert ("HP-US-SUP", 2) in owed(sessions, ca) and ("HP-CA-SUP", 1) not in owed(sessions, ca)
    # ... and the reset's re-run withdraws it: the completion is what the learner owes again.
    change_mapping(sessions, tenant.id, mapping.reset)
    rerun.run(sessions, tenant.id)
    assert_kept(sessions, tenant.id)
    assert ("HP-CA-SUP", 1) in owed(sessions, ca) and ("HP-US-SUP", 2) not in owed(sessions, ca)

    # The daily run a year on: the annual courses come back as cycle 2.
    recertify.run(sessions, tenant.id, as_of=T0 + timedelta(days=360))
    assert_kept(sessions, tenant.id)
    assert ("CYBER", 2) in owed(sessions, ca) and ("CYBER", 1) not in owed(sessions, ca)

    # The course player's progress, through the API.
    with sessions() as s:
        row = s.scalar(select(LearnerTraining).where(LearnerTraining.learner_id == tx).limit(1))
    auth = {"Authorization": f"Bearer {tenant.token}"}
    resp = client.patch(f"/api/v1/learner_trainings/{row.id}", json={"status": "completed"}, headers=auth)
    assert resp.status_code == 200
    assert_kept(sessions, tenant.id)

    # Deactivation archives the open work; retention keeps the assignments.
    resp = tenant.patch(f"Users/{tx}", json={"Operations": [{"op": "Replace", "path": "active", "value": False}]})
    assert resp.status_code == 200
    run_events(sessions)
    with sessions() as s:
        retention.prune(s, 0, now=utcnow() + timedelta(days=1))
    assert_kept(sessions, tenant.id)


def test_refresh_repairs_rows_written_around_the_orm(tenant, sessions):
    learner = post_learner(tenant, "ca@acme.example")
    run_events(sessions)
    with sessions() as s:
        # A bulk load that bypassed the session (as the dashboard benchmark seeds its rows).
        s.execute(update(LearnerTraining).values(latest=False).execution_options(synchronize_session=False))
        s.commit()
        assert stale(s.connection(), tenant.id)
    with sessions() as s:
        refresh(s.connection(), company_id=tenant.id)
        s.commit()
    assert_kept(sessions, tenant.id)
    assert ("HP-CA-SUP", 1) in owed(sessions, learner)
