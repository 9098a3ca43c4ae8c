"""``learners.owed_*``: what each learner owes, counted by status, kept current.

A learner owes the rows flagged ``latest`` (``models/latest_cycle.py``) that are not archived
or withdrawn: the compliance report's rows. Counting them per learner on each view joined
100,000 learners to their assignments twice more per page (the learners behind, the managers
ranked), so the counts by status are stored on the learner and kept by a session hook: after
any flush that adds an assignment or changes its status, cycle, family or learner, the
learners concerned are recomputed in one UPDATE (which writes only the learners whose counts
change). Only the status is stored: whether a completion has expired depends on the day and
on the catalog's cadence, so the report still tests that on the assignments, as before.

The hook is registered after ``models.latest_cycle``'s (imported first below), so it counts
the flags that flush has just set. ``refresh`` recomputes a whole company (a bulk load that
bypassed the ORM); ``stale`` lists learners whose counts disagree with the computation from
scratch (tests, operators). As with the flag, two transactions writing assignments of the
same learner at the same moment on PostgreSQL can each count without the other's rows (the
second UPDATE waits for the first's row lock but counts from its own snapshot): that learner
stays one write behind until its next write; ``stale`` finds it, ``refresh`` repairs it.
"""

from sqlalchemy import and_, bindparam, case, event, func, inspect, or_, select, update
from sqlalchemy.orm import Session

import models.latest_cycle  # noqa: F401  (its hook first: these counts read the flag it sets)
from models.assignment import LearnerTraining
from models.learner import Learner

_L = Learner.__table__
_T = LearnerTraining.__table__
NOT_OWED = ("archived", "withdrawn")
# Column -> the status it counts (None: every row owed).
COUNTED = {
    "owed_count": None,
    "owed_in_progress": "in_progress",
    "owed_overdue": "overdue",
    "owed_completed": "completed",
}
CHUNK = 500
# A change to any of these can change what a learner owes or its status.
_MOVES = ("status", "cycle", "family", "learner_id", "company_id")


def _from_scratch(status):
    """Correlated SQL: how many rows the learner owes (of ``status``, when given)."""
    where = [_T.c.learner_id == _L.c.id, _T.c.latest, _T.c.status.not_in(NOT_OWED)]
    if status is not None:
        where.append(_T.c.status == status)
    return select(func.count()).where(*where).correlate(_L).scalar_subquery()


def _recompute(*scope):
    """UPDATE the counts of the learners in ``scope`` whose counts differ from the computation
    from scratch: one grouped pass over their rows (four correlated counts per learner cost
    more to plan and run than the write itself, on each flush)."""
    owed = and_(_T.c.latest, _T.c.status.not_in(NOT_OWED))
    fresh = (
        select(
            _L.c.id.label("learner_id"),
            *(
                func.count(case((owed if status is None else and_(owed, _T.c.status == status), 1))).label(column)
                for column, status in COUNTED.items()
            ),
        )
        .select_from(_L.outerjoin(_T, _T.c.learner_id == _L.c.id))
        .where(*scope)
        .group_by(_L.c.id)
        .subquery("fresh")
    )
    differs = or_(*[_L.c[column] != fresh.c[column] for column in COUNTED])
    return update(_L).where(_L.c.id == fresh.c.learner_id, differs).values({c: fresh.c[c] for c in COUNTED})


# The flush hook's statement, built once (building it cost as much as running it).
_BY_LEARNERS = _recompute(_L.c.id.in_(bindparam("ids", expanding=True)))


def refresh(connection, company_id=None, learner_ids=None):
    """Recompute the counts of a company's learners, or of the given learners (in chunks)."""
    if learner_ids is None:
        connection.execute(_recompute(_L.c.company_id == company_id))
        return
    ids = sorted(learner_ids)
    for start in range(0, len(ids), CHUNK):
        connection.execute(_BY_LEARNERS, {"ids": ids[start : start + CHUNK]})


def stale(connection, company_id):
    """Ids of the company's learners whose stored counts disagree with the computation from scratch."""
    differs = or_(*[_L.c[column] != _from_scratch(status) for column, status in COUNTED.items()])
    return connection.execute(select(_L.c.id).where(and_(_L.c.company_id == company_id, differs))).scalars().all()


def _learners_moved(row):
    """The learners whose counts this row's pending change can move (none when it cannot)."""
    state = inspect(row)
    if not any(state.attrs[key].history.has_changes() for key in _MOVES):
        return set()
    # A row moved to another learner (never done today) changes the one it left as well.
    return {row.learner_id, *(state.attrs.learner_id.history.deleted or ())}


@event.listens_for(Session, "after_flush")
def _keep_standing(session, _flush_context):
    # Runs after models.latest_cycle's hook in the same flush: the flags are already current.
    touched = {row.learner_id for row in session.new if isinstance(row, LearnerTraining)}
    for row in session.dirty:
        if isinstance(row, LearnerTraining):
            touched |= _learners_moved(row)
    touched.discard(None)
    if touched:
        refresh(session.connection(), learner_ids=touched)
