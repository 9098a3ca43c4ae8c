"""Persist Smart Assign: load a learner's state, plan, write the plan (one transaction)."""

from sqlalchemy import and_, select

from models import Company, Group, GroupMember, GroupRule, Learner, LearnerTraining, utcnow
from models.company_training import company_catalog
from workers import smart_assign as sa

# ``reconcile(previous=...)`` left out: no event, so no change to word.
NOT_GIVEN = object()


def profile_of(learner, rule_codes=()):
    """The Smart Assign profile of a learner row (DELETEd learners count as inactive).

    ``rule_codes`` (from group rules: codes, or ``(code, groups)`` pairs) are
    required like the learner's own tags; the planner words them apart.
    """
    pairs = tuple((c, "") if isinstance(c, str) else tuple(c) for c in rule_codes)
    return sa.Profile(
        active=bool(learner.active) and learner.deleted_at is None,
        region=learner.region,
        country=learner.country,
        location=learner.location,
        role=learner.role,
        tags=tuple(learner.training_tags or ()),
        rule_codes=pairs,
    )


def previous_profile(inputs, rule_codes=()):
    """The profile recorded on a provisioning event as ``previous`` (None when unknown)."""
    if not isinstance(inputs, dict):
        return None
    tags = inputs.get("training_tags") or []
    return sa.Profile(
        active=bool(inputs.get("active")),
        region=inputs.get("region"),
        country=inputs.get("country"),
        location=inputs.get("location"),
        role=inputs.get("role"),
        tags=tuple(t for t in tags if isinstance(t, str)),
        # Group memberships are not part of a User event: they count as unchanged.
        rule_codes=tuple(rule_codes),
    )


def group_rules_of(session, learner):
    """``((code, "Group A, Group B"), ...)``: the codes the company's group rules give this learner."""
    rows = session.execute(
        select(GroupRule.training_code, Group.display_name)
        .join(
            Group,
            and_(Group.company_id == GroupRule.company_id, Group.display_name_lower == GroupRule.group_name_lower),
        )
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupRule.company_id == learner.company_id, GroupMember.learner_id == learner.id)
        .distinct()
        .order_by(GroupRule.training_code, Group.display_name)
    ).all()
    groups: dict[str, list[str]] = {}
    for code, name in rows:
        groups.setdefault(code, []).append(name)
    return tuple((code, ", ".join(names)) for code, names in groups.items())


def group_rule_codes(session, learner):
    """Training codes the company's group rules give this learner, through the groups it is in."""
    return [code for code, _ in group_rules_of(session, learner)]


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
        updated_at=row.updated_at,
    )


def settings_of(company):
    """The planner's settings for a company."""
    return sa.Settings(due_days=company.due_days, industry=company.industry, lead_days=company.lead_days or 0)


def reconcile(session, learner, company=None, now=None, previous=NOT_GIVEN, catalog=None):
    """Bring the learner's assignments in line with its latest state; return the outcome dict.

    ``previous`` is the inputs dict a provisioning event carries (None for a
    new learner); left out, the reasons do not refer to a change. ``catalog``
    defaults to the company's. Flushes only: the caller commits (with the
    audit entry, in the same transaction).
    """
    now = now or utcnow()
    company = company or session.get(Company, learner.company_id)
    if catalog is None:
        catalog = company_catalog(session, company.id)
    rows = session.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == learner.id)).all()
    rules = group_rules_of(session, learner)
    if previous is NOT_GIVEN:
        before = None
    elif previous is None:
        before = sa.NEW_LEARNER
    else:
        before = previous_profile(previous, rules)
    result = sa.plan(
        profile_of(learner, rules), before, [_assignment(r) for r in rows], settings_of(company), now, catalog
    )
    by_key = {(r.family, r.cycle): r for r in rows}
    for row in rows:
        if result.archive and row.status in sa.OPEN:
            row.status, row.updated_at = sa.ARCHIVED, now
        elif result.resume and row.status == sa.ARCHIVED:
            row.status, row.updated_at = sa.resumed_status(_assignment(row)), now
    for family, cycle, due in result.resumed_due:
        by_key[(family, cycle)].due_at = due
    for change in result.retarget:
        row = by_key[(change.family, change.cycle)]
        row.training_code, row.due_at, row.reason, row.updated_at = change.code, change.due_at, change.reason, now
    for key in result.overdue:
        row = by_key[key]
        row.status, row.updated_at = sa.OVERDUE, now
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
    if learner.review_at != result.review_at:
        learner.review_at = result.review_at
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
    reasons = {n.code: n.reason for n in result.add} | {r.code: r.reason for r in result.retarget}
    if reasons:
        outcome["reasons"] = reasons
    if result.overdue:
        outcome["overdue"] = [by_key[key].training_code for key in result.overdue]
    if rules:
        outcome["group_rule_codes"] = [code for code, _ in rules]
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
