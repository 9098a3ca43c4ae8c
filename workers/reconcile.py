"""Persist Smart Assign: load a learner's state, plan, write the plan (one transaction).

One learner costs three queries (catalog, assignments, group rules) and a flush; a
batch of learners (a batch of events, a re-run chunk) loads the same state for all of
them in three queries up front with ``preloaded`` and writes in one flush at the end.
"""

import contextlib
from dataclasses import dataclass, field

from sqlalchemy import and_, select

from models import AuditEvent, Company, Group, GroupMember, GroupRule, Learner, LearnerTraining, utcnow
from models.company_training import company_catalog
from models.webhook_outbox import note
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


def _group_rules_by_learner(session, company_id, learner_ids):
    """``group_rules_of`` for many learners of one company, in one query: ``{learner_id: rules}``."""
    rows = session.execute(
        select(GroupMember.learner_id, GroupRule.training_code, Group.display_name)
        .join(
            Group,
            and_(Group.company_id == GroupRule.company_id, Group.display_name_lower == GroupRule.group_name_lower),
        )
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupRule.company_id == company_id, GroupMember.learner_id.in_(learner_ids))
        .distinct()
        .order_by(GroupMember.learner_id, GroupRule.training_code, Group.display_name)
    ).all()
    by_learner: dict[str, dict[str, list[str]]] = {}
    for learner_id, code, name in rows:
        by_learner.setdefault(learner_id, {}).setdefault(code, []).append(name)
    return {
        learner_id: tuple((code, ", ".join(names)) for code, names in groups.items())
        for learner_id, groups in by_learner.items()
    }


@dataclass
class _Preload:
    """What ``reconcile`` would query per learner, read once for a batch (see ``preloaded``)."""

    companies: dict = field(default_factory=dict)  # company id -> Company (held: the identity map is weak)
    catalogs: dict = field(default_factory=dict)  # company id -> catalog
    rows: dict = field(default_factory=dict)  # learner id -> [LearnerTraining], kept current
    rules: dict = field(default_factory=dict)  # learner id -> group rules


_PRELOAD = "herd_smart_assign_preload"


@contextlib.contextmanager
def preloaded(session, learners):
    """Within the block, ``reconcile`` of these learners reads no database and does not flush.

    Loads the learners' assignments, group rules and company catalogs in a few
    set-based queries; ``reconcile`` adds the assignments it creates to the loaded
    lists, so a learner reconciled twice in the block (two events of one learner)
    plans from its latest state. Learners not given here are reconciled the usual
    way. The pending writes are flushed when the block ends, in one flush (the
    caller commits). The worker is the only writer of assignments, so nothing
    loaded here can change under the block except through it.
    """
    state = _Preload()
    by_company: dict[int, list[str]] = {}
    for learner in learners:
        by_company.setdefault(learner.company_id, []).append(learner.id)
    for company_id, ids in by_company.items():
        state.companies[company_id] = session.get(Company, company_id)
        state.catalogs[company_id] = company_catalog(session, company_id)
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            for learner_id in chunk:
                state.rows[learner_id] = []
            for row in session.scalars(select(LearnerTraining).where(LearnerTraining.learner_id.in_(chunk))):
                state.rows[row.learner_id].append(row)
            state.rules.update(_group_rules_by_learner(session, company_id, chunk))
    previous = session.info.get(_PRELOAD)
    session.info[_PRELOAD] = state
    try:
        yield
        session.flush()
    finally:
        if previous is None:
            session.info.pop(_PRELOAD, None)
        else:
            session.info[_PRELOAD] = previous


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
    return sa.CompanySettings(due_days=company.due_days, industry=company.industry, lead_days=company.lead_days or 0)


def reconcile(session, learner, company=None, now=None, previous=NOT_GIVEN, catalog=None):
    """Bring the learner's assignments in line with its latest state; return the outcome dict.

    ``previous`` is the inputs dict a provisioning event carries (None for a
    new learner); left out, the reasons do not refer to a change. ``catalog``
    defaults to the company's. Flushes only (inside ``preloaded``, not even
    that: the block flushes): the caller commits (with the audit entry, in the
    same transaction).
    """
    now = now or utcnow()
    preload = session.info.get(_PRELOAD)
    loaded = preload is not None and learner.id in preload.rows
    if company is None and loaded:
        company = preload.companies.get(learner.company_id)
    company = company or session.get(Company, learner.company_id)
    if catalog is None:
        catalog = preload.catalogs.get(company.id) if loaded else None
    if catalog is None:
        catalog = company_catalog(session, company.id)
    if loaded:
        rows = list(preload.rows[learner.id])
        rules = preload.rules.get(learner.id, ())
    else:
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
            note(session, learner.company_id, "assignment.removed", learner, row, "the learner was deactivated")
        elif result.resume and row.status == sa.ARCHIVED:
            row.status, row.updated_at = sa.resumed_status(_assignment(row)), now
    for family, cycle, due in result.resumed_due:
        by_key[(family, cycle)].due_at = due
    for change in result.retarget:
        row = by_key[(change.family, change.cycle)]
        row.training_code, row.due_at, row.reason, row.updated_at = change.code, change.due_at, change.reason, now
        note(session, learner.company_id, "assignment.created", learner, row, change.reason)
    for key in result.overdue:
        row = by_key[key]
        row.status, row.updated_at = sa.OVERDUE, now
        note(session, learner.company_id, "assignment.overdue", learner, row)
    for w in result.withdraw:
        row = by_key[(w.family, w.cycle)]
        # The reason keeps why the assignment was made, after why it went.
        row.status, row.reason, row.updated_at = sa.WITHDRAWN, f"{w.reason}; was: {row.reason or ''}"[:300], now
        note(session, learner.company_id, "assignment.removed", learner, row, w.reason)
    for change in result.reinstate:
        row = by_key[(change.family, change.cycle)]
        row.status = sa.resumed_status(_assignment(row))
        row.training_code, row.due_at, row.reason, row.updated_at = change.code, change.due_at, change.reason[:300], now
        note(session, learner.company_id, "assignment.created", learner, row, change.reason)
    for new in result.add:
        row = LearnerTraining(
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
        session.add(row)
        note(session, learner.company_id, "assignment.created", learner, row, row.reason)
        if loaded:
            preload.rows[learner.id].append(row)
    if learner.review_at != result.review_at:
        learner.review_at = result.review_at
    if not loaded:
        session.flush()  # preloaded: one flush for the whole batch, when the block ends
    outcome = {
        "trainings_added": [n.code for n in result.add],
        "trainings_retargeted": [r.code for r in result.retarget],
        "trainings_withdrawn": [w.code for w in result.withdraw],
        "trainings_reinstated": [r.code for r in result.reinstate],
        "archived": result.archive,
        "resumed": result.resume,
        "unknown_tags": list(result.unknown_tags),
        "role_flagged": result.role_flagged,
        "location_unknown": result.location_unknown,
        "region": result.region,
    }
    reasons = (
        {w.code: w.reason for w in result.withdraw}
        | {n.code: n.reason for n in result.add}
        | {r.code: r.reason for r in result.retarget}
        | {r.code: r.reason for r in result.reinstate}
    )
    if reasons:
        outcome["reasons"] = reasons
    if result.overdue:
        outcome["overdue"] = [by_key[key].training_code for key in result.overdue]
    if rules:
        outcome["group_rule_codes"] = [code for code, _ in rules]
    return outcome


def changed(outcome):
    """True when a reconcile outcome moved any assignment (added, switched, withdrawn, reinstated, overdue)."""
    return bool(
        outcome["trainings_added"]
        or outcome["trainings_retargeted"]
        or outcome.get("trainings_withdrawn")
        or outcome.get("trainings_reinstated")
        or outcome.get("overdue")
    )


def run_entry(learner, outcome, action, now, occurred_at=None):
    """The learner's audit entry for a run that changed its assignments (``action``: rerun,
    recertify), or None when it changed nothing: the learner page then shows what the run did."""
    if not changed(outcome):
        return None
    return AuditEvent(
        company_id=learner.company_id,
        learner_id=learner.id,
        resource_type="User",
        action=action,
        changes={},
        outcome=outcome,
        occurred_at=occurred_at or now,
        recorded_at=now,
    )


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
