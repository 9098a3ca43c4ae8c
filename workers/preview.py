"""Preview a Smart Assign change: who would gain and lose which training, writing nothing.

A change (a catalog edit, an attribute mapping or value alias, the group rules, the
lead time, the due period, the industry) is a ``Change``. For every learner of the
company, the re-run's own planner (``workers.smart_assign.plan``, called as
``workers.rerun`` calls it through ``reconcile``: inputs re-read with the mapping, no
previous state) runs twice over the same snapshot: with the company as it is and
with the change. What the changed plan adds and the current one does not is what
the re-run would assign after the change, with the same reasons; what it withdraws
(open, unstarted work the inputs no longer call for, ``workers.withdrawal``) or
switches to another version, and the current one does not, is what the learner loses.

Learners are read in id order a batch at a time inside one transaction (on
PostgreSQL a REPEATABLE READ snapshot), which is rolled back at the end: nothing is
written. ``progress(done, total)`` is called after each batch; ``cancelled()``
returning True stops the preview, which then says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import func, select

from models import Company, Group, GroupMember, GroupRule, Learner, LearnerTraining, batches, utcnow
from models.attribute_mapping import extract
from models.company_training import company_catalog
from workers import smart_assign as sa
from workers.reconcile import _assignment, settings_of

KEEP = object()
BATCH = 500
SAMPLE = 5


@dataclass(frozen=True)
class Change:
    """What would change; KEEP leaves a setting as it is.

    ``mapping``: the whole new attribute mapping document (sources and aliases);
    ``catalog``: the whole new catalog (a tuple of ``Training``); ``rules``: the whole
    new list of ``(group name, training code)`` group rules.
    """

    mapping: object = KEEP
    catalog: object = KEEP
    rules: object = KEEP
    industry: object = KEEP
    lead_days: object = KEEP
    due_days: object = KEEP


@dataclass
class _World:
    mapping: object
    settings: sa.CompanySettings
    catalog: tuple
    rules: dict  # group name (folded) -> [training codes]


@dataclass
class _Tally:
    gain: int = 0
    lose: int = 0
    gain_sample: list = field(default_factory=list)
    lose_sample: list = field(default_factory=list)


def _current(session, company) -> _World:
    rules: dict = {}
    for group_name, code in session.execute(
        select(GroupRule.group_name_lower, GroupRule.training_code).where(GroupRule.company_id == company.id)
    ):
        rules.setdefault(group_name, []).append(code)
    return _World(company.attribute_mapping, settings_of(company), company_catalog(session, company.id), rules)


def _changed(world: _World, change: Change) -> _World:
    settings = world.settings
    for name in ("industry", "lead_days", "due_days"):
        value = getattr(change, name)
        if value is not KEEP:
            settings = replace(settings, **{name: value})
    rules = world.rules
    if change.rules is not KEEP:
        rules = {}
        for group_name, code in change.rules:
            rules.setdefault(group_name.lower(), []).append(code.strip().upper())
    return _World(
        world.mapping if change.mapping is KEEP else change.mapping,
        settings,
        world.catalog if change.catalog is KEEP else tuple(change.catalog),
        rules,
    )


def _groups(session, company_id, ids):
    """``{learner id: [(group name folded, display name)]}`` for a batch of learners."""
    out: dict = {}
    for learner_id, lower, name in session.execute(
        select(GroupMember.learner_id, Group.display_name_lower, Group.display_name)
        .join(Group, Group.id == GroupMember.group_id)
        .where(Group.company_id == company_id, GroupMember.learner_id.in_(ids))
    ):
        out.setdefault(learner_id, []).append((lower, name))
    return out


def _rule_codes(world: _World, groups) -> tuple:
    """The learner's ``((code, "Group A, Group B"), ...)`` under a world's rules, as reconcile words them."""
    by_code: dict = {}
    for lower, name in sorted(groups, key=lambda g: g[1]):
        for code in world.rules.get(lower, ()):
            names = by_code.setdefault(code, [])
            if name not in names:
                names.append(name)
    return tuple((code, ", ".join(names)) for code, names in sorted(by_code.items()))


def _plan(world: _World, learner, columns, groups, existing, now):
    profile = sa.Profile(
        active=bool(learner.active) and learner.deleted_at is None,
        region=columns["region"],
        country=columns["country"],
        location=columns["location"],
        role=columns["role"],
        tags=tuple(columns["training_tags"]),
        rule_codes=_rule_codes(world, groups),
    )
    result = sa.plan(profile, None, existing, world.settings, now, world.catalog)
    gains = {n.code: n.reason for n in result.add} | {r.code: r.reason for r in result.retarget}
    # What the re-run takes away: open unstarted work it withdraws, and the version a
    # switch replaces (the row keeps its family and cycle, under another code).
    held = {(a.family, a.cycle): a.code for a in existing}
    losses = {w.code: w.reason for w in result.withdraw}
    for r in result.retarget:
        old = held.get((r.family, r.cycle))
        if old is not None and old != r.code:
            losses.setdefault(old, f"replaced by {r.code}")
    return gains, losses


def preview(session, company_id, change: Change, now=None, progress=None, cancelled=None, detail=False):
    """The preview document of ``change`` for a company (see the module's docstring)."""
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    try:
        company = session.get(Company, company_id)
        if company is None:
            raise LookupError(f"no company {company_id}")
        before = _current(session, company)
        after = _changed(before, change)
        same_mapping = after.mapping is before.mapping
        total = session.scalar(select(func.count()).where(Learner.company_id == company_id))
        titles = {t.code: t.title for t in before.catalog} | {t.code: t.title for t in after.catalog}
        tallies: dict = {}
        per_learner: dict = {}
        done, changed, stopped = 0, 0, False
        statement = select(Learner).where(Learner.company_id == company_id)
        for batch in batches.by_id(session, statement, Learner.id, BATCH):
            if cancelled is not None and cancelled():
                stopped = True
                break
            learners = [row[0] for row in batch]
            ids = [learner.id for learner in learners]
            rows: dict = {i: [] for i in ids}
            for row in session.scalars(select(LearnerTraining).where(LearnerTraining.learner_id.in_(ids))):
                rows[row.learner_id].append(_assignment(row))
            groups = _groups(session, company_id, ids)
            for learner in learners:
                existing, member_of = rows[learner.id], groups.get(learner.id, ())
                columns = extract(learner.resource or {}, before.mapping)
                # Reading the document is a third of the work: once when the mapping stays.
                changed_columns = columns if same_mapping else extract(learner.resource or {}, after.mapping)
                now_gains, now_losses = _plan(before, learner, columns, member_of, existing, now)
                new_gains, new_losses = _plan(after, learner, changed_columns, member_of, existing, now)
                gained = {code: reason for code, reason in new_gains.items() if now_gains.get(code) != reason}
                lost = {code: reason for code, reason in new_losses.items() if now_losses.get(code) != reason}
                if not gained and not lost:
                    continue
                changed += 1
                name = learner.display_name or learner.user_name
                if detail:
                    per_learner[learner.id] = {"gain": gained, "lose": lost}
                for code, reason in gained.items():
                    tally = tallies.setdefault(code, _Tally())
                    tally.gain += 1
                    if len(tally.gain_sample) < SAMPLE:
                        tally.gain_sample.append({"learner_id": learner.id, "name": name, "reason": reason})
                for code, reason in lost.items():
                    tally = tallies.setdefault(code, _Tally())
                    tally.lose += 1
                    if len(tally.lose_sample) < SAMPLE:
                        tally.lose_sample.append({"learner_id": learner.id, "name": name, "reason": reason})
            done += len(learners)
            session.expunge_all()  # a snapshot read: keep memory flat over 100k learners
            if progress is not None:
                progress(done, total)
    finally:
        session.rollback()
    document = {
        "company_id": company_id,
        "learners": total,
        "looked_at": done,
        "cancelled": stopped,
        "learners_changed": changed,
        "trainings": [
            {
                "code": code,
                "title": titles.get(code),
                "gain": t.gain,
                "lose": t.lose,
                "gain_sample": t.gain_sample,
                "lose_sample": t.lose_sample,
            }
            for code, t in sorted(tallies.items())
        ],
    }
    if detail:
        document["per_learner"] = per_learner
    return document
