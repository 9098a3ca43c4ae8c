"""Issue 28, bug 1: a mapping typo and its reset, each followed by a re-run, leave the learner as before.

A CA supervisor completed HP-CA-SUP. The admin saves the state source with a typo
(``extension:stat``) and re-runs: the state reads as missing, so Smart Assign adds
HP-US-SUP as cycle 2. The admin resets the mapping and re-runs again: HP-US-SUP must
be withdrawn, the completion must count again on the compliance report, and the
learner's trail must say what each re-run moved.
"""

from sqlalchemy import select

from models import AuditEvent, Company, LearnerTraining, utcnow
from service.company import mapping
from service.reports import compliance
from tests.dashboard.helpers import post_learner, run_events
from workers import rerun


def open_work(sessions, learner_id):
    """``[(code, cycle, status, due_at)]`` the learner owes now."""
    with sessions() as s:
        rows = s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == learner_id)).all()
        return sorted(
            (r.training_code, r.cycle, r.status, r.due_at)
            for r in rows
            if r.status in ("assigned", "in_progress", "overdue")
        )


def change_mapping(sessions, company_id, change):
    with sessions() as s:
        change(s.get(Company, company_id))
        s.commit()


def test_a_mapping_typo_and_its_reset_leave_the_learner_and_the_report_as_before(tenant, sessions):
    learner_id = post_learner(tenant, "ca@acme.example")  # California supervisor, tags CYBER, HIPAA
    run_events(sessions)
    with sessions() as s:
        course = s.scalar(
            select(LearnerTraining).where(
                LearnerTraining.learner_id == learner_id, LearnerTraining.training_code == "HP-CA-SUP"
            )
        )
        course.status, course.progress, course.completed_at = "completed", 100, utcnow()
        s.commit()
    before = open_work(sessions, learner_id)
    with sessions() as s:
        valid_before = compliance.summary(s, tenant.id, utcnow())["totals"]["completed"]
    assert valid_before == 1

    change_mapping(sessions, tenant.id, lambda c: mapping.set_sources(c, "state", ["extension:stat"]))
    rerun.run(sessions, tenant.id)
    assert ("HP-US-SUP", 2, "assigned") in {row[:3] for row in open_work(sessions, learner_id)}

    change_mapping(sessions, tenant.id, mapping.reset)
    rerun.run(sessions, tenant.id)

    assert open_work(sessions, learner_id) == before
    with sessions() as s:
        report = compliance.summary(s, tenant.id, utcnow())
        assert report["totals"]["completed"] == valid_before
        assert "HP-US-SUP" not in {row["training_code"] for row in report["by_training"]}
        withdrawn = s.scalar(
            select(LearnerTraining).where(
                LearnerTraining.learner_id == learner_id, LearnerTraining.training_code == "HP-US-SUP"
            )
        )
        assert withdrawn.status == "withdrawn" and "no longer required" in withdrawn.reason
        entries = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.learner_id == learner_id, AuditEvent.action == "rerun")
            .order_by(AuditEvent.id)  # in the order the re-runs wrote them (no ORDER BY: any order)
        ).all()
    # Each re-run that moved the learner wrote an entry saying what it moved.
    assert [e.outcome["trainings_added"] for e in entries] == [["HP-US-SUP"], []]
    assert entries[1].outcome["trainings_withdrawn"] == ["HP-US-SUP"]
