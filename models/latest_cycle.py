"""``learner_trainings.latest``: which cycle of each course family a learner owes, kept current.

A learner owes the latest cycle of each family that is not withdrawn (a withdrawn cycle
neither counts nor hides the completion before it). Ranking every cycle of a company
on each page view cost the compliance report a second at 100,000 learners, so the answer
is stored on the row and kept by a session hook: after any flush that adds an assignment,
changes its cycle or family, or withdraws or reinstates one, the rows of the learners
concerned are recomputed in one UPDATE (which writes only the rows whose flag changes).
Every writer goes through the ORM (Smart Assign's planner, re-runs, the daily
recertification, the course player's progress), so none can leave the flag behind.
``refresh`` recomputes a whole company (a bulk load that bypassed the ORM); ``stale``
lists rows whose flag disagrees with the computation from scratch (tests, operators).
"""

from sqlalchemy import and_, event, exists, inspect, select, update
from sqlalchemy.orm import Session

from models.assignment import LearnerTraining

WITHDRAWN = "withdrawn"
_T = LearnerTraining.__table__
_NEWER = _T.alias("newer")
# From scratch: not withdrawn, and no later cycle of the family that is not withdrawn.
OWED = and_(
    _T.c.status != WITHDRAWN,
    ~exists()
    .where(
        _NEWER.c.learner_id == _T.c.learner_id,
        _NEWER.c.family == _T.c.family,
        _NEWER.c.cycle > _T.c.cycle,
        _NEWER.c.status != WITHDRAWN,
    )
    .correlate(_T),
)
CHUNK = 500


def _recompute(*scope):
    return update(_T).where(*scope, _T.c.latest.is_distinct_from(OWED)).values(latest=OWED)


def refresh(connection, company_id=None, learner_ids=None):
    """Recompute the flag for a company's rows, or for the given learners' rows (in chunks)."""
    if learner_ids is None:
        connection.execute(_recompute(_T.c.company_id == company_id))
        return
    ids = sorted(learner_ids)
    for start in range(0, len(ids), CHUNK):
        connection.execute(_recompute(_T.c.learner_id.in_(ids[start : start + CHUNK])))


def stale(connection, company_id):
    """Ids of the company's rows whose stored flag disagrees with the computation from scratch."""
    return (
        connection.execute(select(_T.c.id).where(_T.c.company_id == company_id, _T.c.latest.is_distinct_from(OWED)))
        .scalars()
        .all()
    )


def _moves_latest(row):
    """True when this row's pending change can move which cycle of its family is owed."""
    state = inspect(row)
    if any(state.attrs[key].history.has_changes() for key in ("cycle", "family", "learner_id")):
        return True
    status = state.attrs.status.history
    return WITHDRAWN in (status.added or ()) or WITHDRAWN in (status.deleted or ())


@event.listens_for(Session, "after_flush")
def _keep_latest(session, _flush_context):
    # After the flush the new rows and statuses are in the database; ``new``, ``dirty`` and
    # the attribute histories still show what this flush wrote (they are reset after this hook).
    touched = {row.learner_id for row in session.new if isinstance(row, LearnerTraining)}
    touched.update(row.learner_id for row in session.dirty if isinstance(row, LearnerTraining) and _moves_latest(row))
    if touched:
        refresh(session.connection(), learner_ids=touched)
