"""Everyone below a manager, for the compliance report's ``?manager=<learner id>`` (SQL, no Flask).

``learners.manager_id`` links each learner to their manager (``models/managers.py``);
the chain below a manager is every learner reached by following those links down,
at any depth, in one recursive query. ``UNION`` (not ``UNION ALL``) ends a loop in
the data (A manages B manages A) instead of following it forever. A deactivated
manager stays in the chain: their reports are still theirs until the IdP sends another.
"""

from sqlalchemy import case, func, literal, select

from models import Learner, LearnerTraining
from models.company_training import company_catalog
from service.reports.compliance import STATUSES, latest_cycle, learners_reported, standing, standing_columns


def below(company_id, manager_id):
    """A SELECT of the ids of every learner below ``manager_id`` (not the manager), at any depth."""
    chain = (
        select(Learner.id.label("id"))
        .where(Learner.company_id == company_id, Learner.manager_id == manager_id, Learner.id != manager_id)
        .cte("chain", recursive=True)
    )
    chain = chain.union(select(Learner.id).where(Learner.company_id == company_id, Learner.manager_id == chain.c.id))
    return select(chain.c.id).where(chain.c.id != manager_id)


def is_learner(session, company_id, learner_id):
    """True when ``learner_id`` is a learner of the company (a manager to filter by)."""
    return (
        session.scalar(select(literal(1)).where(Learner.company_id == company_id, Learner.id == learner_id)) is not None
    )


def by_manager(session, company_id, now, within=None):
    """Counts of the latest cycle of each training owed, grouped by each learner's direct manager."""
    catalog = company_catalog(session, company_id)
    state = standing(catalog, now).label("standing")
    query = (
        select(Learner.manager_id, state, func.count())
        .join(Learner, Learner.id == LearnerTraining.learner_id)
        .where(latest_cycle(company_id))
        .group_by(Learner.manager_id, state)
    )
    if within is not None:
        query = query.where(Learner.id.in_(within))
    groups = {}
    for manager, status, count in session.execute(query):
        bucket = groups.setdefault(manager, dict.fromkeys(STATUSES, 0))
        bucket[status if status in bucket else "assigned"] += count
    return named(session, company_id, groups)


def most_late(session, company_id, now, within=None, limit=50):
    """``(groups, managers)``: ``{manager id: counts}`` of the ``limit`` direct managers whose
    reports owe the most overdue and expired trainings (no manager last), and how many managers
    there are in all (``most_late_and_counts`` without the learners counted)."""
    groups, managers, _, _ = most_late_and_counts(session, company_id, now, within, limit)
    return groups, managers


def most_late_and_counts(session, company_id, now, within=None, limit=50):
    """``(groups, managers, counts, company_counts)``: ``{manager id: counts}`` of the ``limit``
    direct managers whose reports owe the most overdue and expired trainings (no manager last),
    how many managers there are in all, and ``(active learners, those owing something, those
    behind)`` as ``compliance.summary`` takes them, for the learners ``within`` selects (all when
    None) and for the whole company (the report's compliant share).

    One statement on the company's learners (their stored counts by status,
    ``compliance.standing_columns``), grouped, ranked and cut in SQL: a company of 100,000 has
    thousands of managers, and the page shows a few.
    """
    catalog = company_catalog(session, company_id)
    only = members = member = None
    if within is not None:
        # Joined once (an IN tested in each of a dozen sums was a dozen probes per learner).
        members = within.distinct().subquery("members")
        member = next(iter(members.c))
        only = member.is_not(None)
    (columns, everyone), joined = standing_columns(company_id, catalog, now, only, None)
    if members is not None:
        joined = joined.outerjoin(members, member == Learner.id)
    counted = [s for s in STATUSES if s != "assigned"]
    late = columns["overdue"] + columns["expired"]
    totals = [columns[k] for k in ("learners", "owing", "behind")]
    if only is not None:
        totals += [everyone[k] for k in ("learners", "owing", "behind")]
    # Managers whose reports owe nothing (or are outside ``within``) are grouped too (their
    # learners count), ranked after every other and left out of the figures, as the report
    # has always had them.
    owes = columns["owed"] > 0
    rows = session.execute(
        select(
            Learner.manager_id,
            columns["owed"],
            *(columns[s] for s in counted),
            func.count(case((owes, 1))).over(),
            *(func.sum(total).over() for total in totals),
        )
        .select_from(joined)
        .where(*learners_reported(company_id))
        .group_by(Learner.manager_id)
        .order_by(~owes, Learner.manager_id.is_(None), late.desc(), Learner.manager_id)
        .limit(limit)
    ).all()
    groups = {}
    for manager, total, *counts in rows:
        counts = [int(c or 0) for c in counts[: len(counted)]]
        if total:
            # A status outside the report's (none today) counts as assigned, as the summary has it.
            groups[manager] = {"assigned": int(total) - sum(counts), **dict(zip(counted, counts, strict=True))}
    found = [int(v or 0) for v in rows[0][len(counted) + 2 :]] if rows else [0] * (1 + len(totals))
    managers, counts = found[0], tuple(found[1:4])
    return groups, managers, counts, tuple(found[4:7]) if only is not None else counts


def named(session, company_id, groups):
    """Rows by manager, named, from ``{manager id: {status: count}}`` (one query for the names)."""
    names = (
        dict(
            session.execute(
                select(Learner.id, func.coalesce(Learner.display_name, Learner.user_name)).where(
                    Learner.company_id == company_id, Learner.id.in_([m for m in groups if m])
                )
            ).all()
        )
        if any(groups)
        else {}
    )
    return [
        {"manager_id": m, "manager": names.get(m), **c, "total": sum(c.values())}
        for m, c in sorted(groups.items(), key=lambda kv: (kv[0] is None, names.get(kv[0]) or "", kv[0] or ""))
    ]
