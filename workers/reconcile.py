"""Persist Smart Assign: load a learner's state, plan, write the plan (one transaction)."""

from sqlalchemy import select

from models import Company, Learner, LearnerTraining, utcnow
from workers import smart_assign as sa


def profile_of(learner):
    """The Smart Assign profile of a learner row (DELETEd learners count as inactive)."""
    return sa.Profile(
        active=bool(learner.active) and learner.deleted_at is None,
        region=learner.region,
        country=learner.country,
        location=learner.location,
        role=learner.role,
        tags=tuple(learner.training_tags or ()),
    )


def _assignment(row):
    return sa.Assignment(
        code=row.training_code,
        family=row.family,
        cycle=row.cycle,
        status=row.status,
        progress=row.progress,
        assigned_at=row.assigned_at,
        due_at=row.due_at,
        completed_at=row.completed_at,
    )


def reconcile(session, learner, company=None, now=None):
    """Bring the learner's assignments in line with its latest state; return the outcome dict.

    Flushes only: the caller commits (with the audit entry, in the same transaction).
    """
    now = now or utcnow()
    company = company or session.get(Company, learner.company_id)
    rows = session.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == learner.id)).all()
    settings = sa.Settings(due_days=company.due_days, industry=company.industry)
    result = sa.plan(profile_of(learner), None, [_assignment(r) for r in rows], settings, now)
    by_key = {(r.family, r.cycle): r for r in rows}
    for row in rows:
        if result.archive and row.status in sa.OPEN:
            row.status, row.updated_at = sa.ARCHIVED, now
        elif result.resume and row.status == sa.ARCHIVED:
            row.status, row.updated_at = sa.resumed_status(_assignment(row)), now
    for change in result.retarget:
        row = by_key[(change.family, change.cycle)]
        row.training_code, row.due_at, row.reason, row.updated_at = change.code, change.due_at, change.reason, now
    for new in result.add:
        session.add(
            LearnerTraining(
                company_id=learner.company_id,
                learner_id=learner.id,
                family=new.family,
                cycle=new.cycle,
                training_code=new.code,
                status=sa.ASSIGNED,
                progress=0,
                assigned_at=now,
                due_at=new.due_at,
                reason=new.reason[:300],
                updated_at=now,
            )
        )
    session.flush()
    return {
        "trainings_added": [n.code for n in result.add],
        "trainings_retargeted": [r.code for r in result.retarget],
        "archived": result.archive,
        "resumed": result.resume,
        "unknown_tags": list(result.unknown_tags),
        "role_flagged": result.role_flagged,
        "location_unknown": result.location_unknown,
        "region": result.region,
    }


def learner_ids(session, company_id, batch=500):
    """Every learner id of a company, in pages (for re-runs over 100k learners)."""
    last = ""
    while True:
        ids = session.scalars(
            select(Learner.id)
            .where(Learner.company_id == company_id, Learner.id > last)
            .order_by(Learner.id)
            .limit(batch)
        ).all()
        if not ids:
            return
        yield from ids
        last = ids[-1]
