"""Persist Smart Assign: load a learner's state, plan, write the plan (one transaction)."""

from sqlalchemy import and_, select

from models import Company, Group, GroupMember, GroupRule, Learner, LearnerTraining, utcnow
from workers import smart_assign as sa


def profile_of(learner, rule_codes=()):
    """The Smart Assign profile of a learner row (DELETEd learners count as inactive).

    ``rule_codes`` (from group rules) join the learner's own tags: to the pure
    planner a code a rule gives is required exactly like a tagged one.
    """
    tags = tuple(learner.training_tags or ())
    return sa.Profile(
        active=bool(learner.active) and learner.deleted_at is None,
        region=learner.region,
        country=learner.country,
        location=learner.location,
        role=learner.role,
        tags=tags + tuple(code for code in rule_codes if code not in tags),
    )


def group_rule_codes(session, learner):
    """Training codes the company's group rules give this learner, through the groups it is in."""
    return session.scalars(
        select(GroupRule.training_code)
        .join(
            Group,
            and_(Group.company_id == GroupRule.company_id, Group.display_name_lower == GroupRule.group_name_lower),
        )
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupRule.company_id == learner.company_id, GroupMember.learner_id == learner.id)
        .distinct()
        .order_by(GroupRule.training_code)
    ).all()


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
    rule_codes = group_rule_codes(session, learner)
    result = sa.plan(profile_of(learner, rule_codes), None, [_assignment(r) for r in rows], settings, now)
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
    outcome = {
        "trainings_added": [n.code for n in result.add],
        "trainings_retargeted": [r.code for r in result.retarget],
        "archived": result.archive,
        "resumed": result.resume,
        "unknown_tags": list(result.unknown_tags),
        "role_flagged": result.role_flagged,
        "location_unknown": result.location_unknown,
        "region": result.region,
    }
    if rule_codes:
        outcome["group_rule_codes"] = list(rule_codes)
    return outcome


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
