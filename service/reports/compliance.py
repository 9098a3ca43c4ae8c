"""The compliance report: who owes what, and where they stand. SQL only; no Flask.

What a learner "owes" is the latest cycle of each course family assigned
to them (``learner_trainings`` rows flagged ``latest``: no higher cycle in the family), for
the company's active learners. Its standing is its status, except that a
completion past its validity (completed_at + the training's cadence, in the
company's catalog) is ``expired``. Counts come from the database (GROUP BY);
per-learner rows are streamed in learner order with a server-side cursor on
PostgreSQL, so an export of 100,000 learners never holds them all in memory.
"""

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import aliased

from models import Learner, LearnerTraining
from models.company_training import company_catalog
from models.dates import add_months

WITHDRAWN = "withdrawn"
STATUSES = ("assigned", "in_progress", "overdue", "completed", "expired")
CSV_COLUMNS = (
    "learner_id",
    "user_name",
    "display_name",
    "email",
    "department",
    "title",
    "manager_id",
    "manager",
    "region",
    "country",
    "role",
    "training_code",
    "training_title",
    "cycle",
    "status",
    "progress",
    "assigned_at",
    "due_at",
    "completed_at",
    "valid_until",
    "reason",
)
STREAM_BATCH = 1000


def latest_cycle(company_id, within=None):
    """Conditions selecting the latest cycle of each family, of the company's active learners
    (only those whose id ``within`` selects, when given: a manager's chain).

    A withdrawn cycle is owed by nobody: it neither counts nor hides the completion
    before it (a change that was undone leaves the report as it was). Which cycle that is
    is stored on the row (``learner_trainings.latest``, kept by ``models/latest_cycle.py``).
    """
    return and_(
        *([Learner.id.in_(within)] if within is not None else []),
        LearnerTraining.company_id == company_id,
        LearnerTraining.latest,
        LearnerTraining.status.not_in(("archived", WITHDRAWN)),
        Learner.active.is_(True),
        Learner.deleted_at.is_(None),
    )


def expired_test(catalog, now):
    """SQL condition: the row is a completion past its validity (None when no training expires)."""
    codes_by_cutoff = {}
    for t in catalog:
        if t.cadence_months:
            codes_by_cutoff.setdefault(add_months(now, -t.cadence_months), []).append(t.code)
    if not codes_by_cutoff:
        return None
    # One branch per cadence, not per training: a catalog has dozens of trainings and a few
    # cadences, and a long IN list is one hash probe on PostgreSQL where a CASE of dozens of
    # branches compared the code to each in turn, on every row of the report.
    branches = sorted(codes_by_cutoff.items(), key=lambda kv: -len(kv[1]))
    cutoff = case(*[(LearnerTraining.training_code.in_(codes), when) for when, codes in branches], else_=None)
    return and_(LearnerTraining.status == "completed", LearnerTraining.completed_at < cutoff)


def standing(catalog, now):
    """SQL expression: the row's status, or ``expired`` for a completion past its validity."""
    expired = expired_test(catalog, now)
    if expired is None:
        return LearnerTraining.status
    return case((expired, literal("expired")), else_=LearnerTraining.status)


def region_of():
    """SQL expression: the learner's region (ISO 3166-2), else country, else 'unknown'."""
    return func.coalesce(Learner.region, Learner.country, literal("unknown"))


def _zero():
    return dict.fromkeys(STATUSES, 0)


def summary(session, company_id, now, within=None, detail=False, counts=None):
    """Counts by training, by region and by both, plus totals; every figure from one GROUP BY.

    With ``detail`` (the dashboard's page) the same GROUP BY also splits by department
    (``by_department``), and the learner count comes with ``learners_behind``, those owing
    something not completed and valid. The groups are few (trainings x places x standings x
    departments), whatever the company's size; the learners are counted in one more pass
    (``_learner_counts``, on the learners alone), none when ``counts`` gives ``(active learners,
    those owing something, those behind)`` for the same learners (``manager_chain.most_late_and_counts``),
    or a callable returning them (asked once the GROUP BY is done: counted meanwhile elsewhere).
    """
    catalog = company_catalog(session, company_id)
    titles = {t.code: t.title for t in catalog}
    expired = expired_test(catalog, now)
    # Grouped by plain columns (and the expiry test), whose few values the planner knows, so it
    # hashes a few hundred groups instead of sorting every row by computed keys; the region,
    # the standing and "no department" are worked out here, on those few rows.
    keys = [LearnerTraining.training_code, Learner.region, Learner.country, LearnerTraining.status]
    keys += [Learner.department] if detail else []
    keys += [expired] if expired is not None else []
    rows = session.execute(
        select(*keys, func.count())
        .join(Learner, Learner.id == LearnerTraining.learner_id)
        .where(latest_cycle(company_id, within))
        .group_by(*keys)
    ).all()
    by_training, by_region, by_department, both, totals = {}, {}, {}, {}, _zero()
    for code, region, country, status, *split, count in rows:
        # As region_of() and standing() read in SQL (coalesce keeps an empty string).
        place = region if region is not None else country if country is not None else "unknown"
        status = "expired" if expired is not None and split.pop() else status
        status = status if status in totals else "assigned"
        buckets = [by_training.setdefault(code, _zero()), by_region.setdefault(place, _zero())]
        buckets += [both.setdefault((code, place), _zero()), totals]
        if detail:
            buckets.append(by_department.setdefault(split[0] or "", _zero()))
        for bucket in buckets:
            bucket[status] += count
    if counts is None:
        counts = session.execute(_learner_counts(company_id, within, catalog, now)).one()
    elif callable(counts):  # worked out meanwhile, elsewhere: asked for once the groups are in
        counts = counts()
    active, learners, behind = (int(v or 0) for v in counts)

    def with_total(counts):
        return {**counts, "total": sum(counts.values())}

    report = {
        "as_of": now,
        "learner_count": learners or 0,
        "totals": with_total(totals),
        "by_training": [
            {"training_code": code, "title": titles.get(code), **with_total(c)}
            for code, c in sorted(by_training.items())
        ],
        "by_region": [{"region": place, **with_total(c)} for place, c in sorted(by_region.items())],
        "by_training_region": [
            {"training_code": code, "region": place, **with_total(c)} for (code, place), c in sorted(both.items())
        ],
    }
    if detail:
        # '' is "no department": kept apart from any department's name.
        report["by_department"] = [{"department": d, **with_total(c)} for d, c in sorted(by_department.items())]
        report["learners_behind"] = int(behind or 0)
        report["active_learners"] = active or 0
    return report


def learner_counts(session, company_id, now, catalog=None):
    """``(active learners, those owing something, those behind on any of it)`` in the company."""
    catalog = catalog if catalog is not None else company_catalog(session, company_id)
    return tuple(int(v or 0) for v in session.execute(_learner_counts(company_id, None, catalog, now)).one())


def _learner_counts(company_id, within, catalog, now):
    """SQL: ``(active learners, those owing something, those behind on any of it)``, from the
    learners alone (``learners.owed_*``, ``models/learner_standing.py``) and their expired
    completions (see ``standing_columns``)."""
    columns, joined = standing_columns(company_id, catalog, now)
    return (
        select(columns["learners"], columns["owing"], columns["behind"])
        .select_from(joined)
        .where(*learners_reported(company_id, within))
    )


def learners_reported(company_id, within=None):
    """Conditions on ``learners``: the company's active learners (those ``within`` selects, when given)."""
    return (
        *([Learner.id.in_(within)] if within is not None else []),
        Learner.company_id == company_id,
        Learner.active.is_(True),
        Learner.deleted_at.is_(None),
    )


def _expired_by_learner(company_id, catalog, now):
    """SQL subquery ``(learner_id, expired)``: how many of the completions each learner owes are
    past their validity today (None when no training of the catalog expires)."""
    expired = expired_test(catalog, now)
    if expired is None:
        return None
    # Implied by the test (every cutoff is at most this one): it lets the planner range-scan the
    # completions index for the old ones instead of testing every row owed.
    newest_cutoff = max(add_months(now, -t.cadence_months) for t in catalog if t.cadence_months)
    return (
        select(LearnerTraining.learner_id.label("learner_id"), func.count().label("expired"))
        .where(
            LearnerTraining.company_id == company_id,
            LearnerTraining.latest,
            LearnerTraining.status.not_in(("archived", WITHDRAWN)),
            LearnerTraining.completed_at < newest_cutoff,
            expired,
        )
        .group_by(LearnerTraining.learner_id)
        .subquery("expired")
    )


def standing_columns(company_id, catalog, now, *only):
    """``(columns, from)``: aggregates over learners rows, by name, and the FROM they read; with
    conditions ``only`` on the learner, one such dict of aggregates per condition, counting only
    the learners it holds for (None: every learner), all over the same FROM.

    ``learners``: how many; ``owing``: those owing something; ``behind``: those owing something
    not completed and valid; ``owed``, ``in_progress``, ``overdue``, ``completed`` (valid) and
    ``expired``: the trainings they owe, by standing (the rest are ``assigned``). The counts by
    status are stored on each learner; only the completions past validity (which depends on the
    day) are counted on the assignments, joined once to the learners who have any.
    """
    old = _expired_by_learner(company_id, catalog, now)
    expired = func.coalesce(old.c.expired, 0) if old is not None else literal(0)
    joined = Learner.__table__
    joined = joined.outerjoin(old, old.c.learner_id == Learner.id) if old is not None else joined
    behind = Learner.owed_count > Learner.owed_completed
    behind = or_(behind, old.c.expired.is_not(None)) if old is not None else behind
    each = {
        "learners": literal(1),
        "owing": case((Learner.owed_count > 0, 1), else_=0),
        "behind": case((behind, 1), else_=0),
        "owed": Learner.owed_count,
        "in_progress": Learner.owed_in_progress,
        "overdue": Learner.owed_overdue,
        "completed": Learner.owed_completed - expired,
        "expired": expired,
    }

    def summed(condition):
        return {
            name: func.coalesce(func.sum(value if condition is None else case((condition, value), else_=0)), 0)
            for name, value in each.items()
        }

    if not only:
        return summed(None), joined
    return [summed(condition) for condition in only], joined


def _rows_query(company_id, catalog, now, within=None):
    # The manager's name by an outer join on the primary key: one statement, whatever the size.
    manager = aliased(Learner)
    return (
        select(
            Learner.id,
            Learner.user_name,
            Learner.display_name,
            Learner.email_lower,
            Learner.department,
            Learner.title,
            Learner.manager_id,
            func.coalesce(manager.display_name, manager.user_name),
            Learner.region,
            Learner.country,
            Learner.role,
            LearnerTraining.training_code,
            LearnerTraining.cycle,
            standing(catalog, now).label("standing"),
            LearnerTraining.progress,
            LearnerTraining.assigned_at,
            LearnerTraining.due_at,
            LearnerTraining.completed_at,
            LearnerTraining.reason,
        )
        .join(Learner, Learner.id == LearnerTraining.learner_id)
        .outerjoin(manager, and_(manager.id == Learner.manager_id, manager.company_id == company_id))
        .where(latest_cycle(company_id, within))
        .order_by(Learner.id, LearnerTraining.family, LearnerTraining.cycle)
    )


def _row(values, index):
    (
        lid,
        user,
        display,
        email,
        dept,
        title,
        manager_id,
        manager,
        region,
        country,
        role,
        code,
        cycle,
        status,
        progress,
        assigned,
        due,
        done,
        reason,
    ) = values
    training = index.get(code)
    valid_until = None
    if done is not None and training is not None and training.cadence_months:
        valid_until = add_months(done, training.cadence_months)
    return {
        "learner_id": lid,
        "user_name": user,
        "display_name": display,
        "email": email,
        "department": dept,
        "title": title,
        "manager_id": manager_id,
        "manager": manager,
        "region": region,
        "country": country,
        "role": role,
        "training_code": code,
        "training_title": training.title if training else None,
        "cycle": cycle,
        "status": status,
        "progress": progress,
        "assigned_at": assigned,
        "due_at": due,
        "completed_at": done,
        "valid_until": valid_until,
        "reason": reason,
    }


def iter_rows(session, company_id, now, batch=STREAM_BATCH, within=None):
    """Every (learner, training owed) row of the company, streamed in learner order."""
    catalog = company_catalog(session, company_id)
    index = {t.code: t for t in catalog}
    result = session.execute(_rows_query(company_id, catalog, now, within).execution_options(yield_per=batch))
    for values in result:
        yield _row(values, index)


def learner_page(session, company_id, now, page, per_page, within=None):
    """One page of learners (in id order), each with the trainings they owe."""
    catalog = company_catalog(session, company_id)
    index = {t.code: t for t in catalog}
    ids = session.scalars(
        select(LearnerTraining.learner_id)
        .join(Learner, Learner.id == LearnerTraining.learner_id)
        .where(latest_cycle(company_id, within))
        .group_by(LearnerTraining.learner_id)
        .order_by(LearnerTraining.learner_id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    if not ids:
        return []
    learners = {}
    for values in session.execute(_rows_query(company_id, catalog, now).where(Learner.id.in_(ids))):
        row = _row(values, index)
        entry = learners.setdefault(
            row["learner_id"],
            {k: row[k] for k in ("learner_id", "user_name", "display_name", "region", "country", "role")}
            | {"trainings": []},
        )
        entry["trainings"].append({k: row[k] for k in CSV_COLUMNS[CSV_COLUMNS.index("training_code") :]})
    return list(learners.values())
