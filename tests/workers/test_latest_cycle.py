"""What the compliance report reads kept on write: ``learner_trainings.latest`` (the cycle each
learner owes) and ``learners.owed_*`` (what each learner owes, counted by status,
``models/learner_standing.py``) agree with the computation from scratch after every kind of
write: Smart Assign on new learners, a SCIM change of the learner, a completion, a re-run that
adds a cycle and one that withdraws it again, the daily recertification, the course player's
progress, a deactivation, retention."""

from datetime import datetime, timedelta

import time_machine
from sqlalchemy import select, update

from models import Company, Learner, LearnerTraining, learner_standing, utcnow
from models.latest_cycle import refresh, stale
from service.company import mapping
from tests.dashboard.helpers import post_learner, run_events
from workers import recertify, rerun, retention

T0 = datetime(2026, 3, 2, 9, 0)
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def owed(sessions, learner_id):
    """``{(code, cycle)}`` of the learner's rows flagged latest."""
    with sessions() as s:
        rows = s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == learner_id)).all()
        return {(r.training_code, r.cycle) for r in rows if r.latest}


def assert_kept(sessions, company_id):
    """The flag and the counts both as a computation from scratch has them (and not all empty)."""
    with sessions() as s:
        assert stale(s.connection(), company_id) == []
        assert learner_standing.stale(s.connection(), company_id) == []
        assert s.scalar(select(LearnerTraining.id).where(LearnerTraining.latest)) is not None
        assert s.scalar(select(Learner.id).where(Learner.owed_count > 0)) is not None


def owed_by_status(sessions, learner_id):
    """``(owed_count, owed_completed)`` stored on the learner."""
    with sessions() as s:
        learner = s.get(Learner, learner_id)
        return learner.owed_count, learner.owed_completed


def change_mapping(sessions, company_id, change):
    with sessions() as s:
        change(s.get(Company, company_id))
        s.commit()


def test_the_flag_and_the_counts_follow_every_writer(tenant, client, sessions):
    with time_machine.travel(T0, tick=False):
        ca = post_learner(tenant, "ca@acme.example")  # California supervisor: HP-CA-SUP, WVP-CA, CYBER, HIPAA
        tx = post_learner(tenant, "tx@acme.example", state="Texas")
        run_events(sessions)
    assert_kept(sessions, tenant.id)
    assert ("HP-CA-SUP", 1) in owed(sessions, ca)
    assert owed_by_status(sessions, ca) == (4, 0)

    # A SCIM change of the learner (every column written back as read) leaves the counts alone.
    resp = tenant.patch(
        f"Users/{ca}", json={"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "title", "value": "Chef"}]}
    )
    assert resp.status_code == 200
    run_events(sessions)
    assert_kept(sessions, tenant.id)

    with sessions() as s:  # every course completed, as the course player reports it
        for row in s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == ca)):
            row.status, row.progress, row.completed_at = "completed", 100, T0 + timedelta(days=5)
        s.commit()
    assert_kept(sessions, tenant.id)
    assert owed_by_status(sessions, ca) == (4, 4)

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
    assert owed_by_status(sessions, ca)[1] < 4  # cycle 2 is owed and open

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
