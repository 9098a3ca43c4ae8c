"""The learner list sorted by what another row holds: the manager's name, the overdue count.

Neither key is a column of the learner, so neither has an index of its own; each order is
two arms walked one after the other, each a walk an index serves that stops at a page:

- ``manager``: learners without a manager first, by name (``ix_learners_sort_name``); then
  each manager's reports, the managers in name order (the same index, on the manager) and
  each one's reports by name (``ix_learners_company_manager``). ``manager_id`` only ever
  names a learner of the same company (``models/managers.py``: set when resolved, and
  learners are never erased), so "without a manager" is ``manager_id IS NULL``.
- ``overdue``: learners with overdue trainings, most first, then by name (counted over the
  company's overdue rows, through a partial index); then everyone else by name.

A cursor names its arm and the last row's keys (JSON); the next page starts strictly after
them, in its arm or the next. Two statements per page at most, whatever its depth.
"""

import json
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, select, tuple_
from sqlalchemy.orm import aliased

from models import Learner, LearnerTraining

OVERDUE = "overdue"


def _name(learner):
    # As ix_learners_sort_name reads (service/dashboard/learner_sort.py's "name").
    return func.lower(func.coalesce(learner.display_name, learner.user_name))


@dataclass
class Arm:
    """One part of an order: ``query`` selects the learners (with their joins), ``keys`` order
    them (the last is the learner's id), the first ``prefix`` keys are an index range; ``counted``
    is the index of the one key that is a number (a count), if any."""

    query: object
    keys: list
    prefix: int = 0
    counted: int | None = None

    def accepts(self, values):
        """True when ``values`` can be this arm's keys (a cursor's; compared in SQL as they are)."""
        if len(values) != len(self.keys):
            return False
        return all(
            isinstance(v, int) and not isinstance(v, bool) if i == self.counted else isinstance(v, str)
            for i, v in enumerate(values)
        )


def manager_arms(company_id):
    """Learners without a manager, by name; then each manager's reports, managers by name."""
    boss = aliased(Learner, name="boss")
    alone = Arm(select(Learner).where(Learner.manager_id.is_(None)), [_name(Learner), Learner.id])
    managed = Arm(
        select(Learner).join(boss, and_(boss.id == Learner.manager_id, boss.company_id == company_id)),
        [_name(boss), boss.id, _name(Learner), Learner.id],
        prefix=2,
    )
    return [alone, managed]


def overdue_arms(company_id):
    """Learners with overdue trainings, most first, then by name; then the others by name."""
    late = (
        select(LearnerTraining.learner_id, func.count().label("n"))
        .where(LearnerTraining.company_id == company_id, LearnerTraining.status == OVERDUE)
        .group_by(LearnerTraining.learner_id)
        .subquery("late")
    )
    behind = Arm(
        select(Learner).join(late, late.c.learner_id == Learner.id),
        [-late.c.n, _name(Learner), Learner.id],
        counted=0,
    )
    none_late = ~exists().where(
        LearnerTraining.company_id == company_id,
        LearnerTraining.learner_id == Learner.id,
        LearnerTraining.status == OVERDUE,
    )
    return [behind, Arm(select(Learner).where(none_late), [_name(Learner), Learner.id])]


ARMS = {"manager": manager_arms, "overdue": overdue_arms}
SORTS = [("manager", "Manager"), ("overdue", "Overdue (most first)")]


def encode(arm, keys):
    """The cursor of a row: its arm and its keys."""
    return json.dumps([arm, *keys], separators=(",", ":"))


def decode(cursor, arms):
    """``(arm, keys)`` from a cursor, or None when it is missing or not one of these arms'."""
    try:
        arm, *keys = json.loads(cursor)
    except (TypeError, ValueError):  # not JSON, or not a list with an arm first
        return None
    ok = isinstance(arm, int) and not isinstance(arm, bool) and 0 <= arm < len(arms)
    return (arm, keys) if ok and arms[arm].accepts(keys) else None


def _part(arm, conds, cursor_keys, forward, limit):
    query = arm.query.add_columns(*arm.keys).where(*conds)
    if cursor_keys is not None:
        position, at = tuple_(*arm.keys), tuple_(*cursor_keys)
        query = query.where(position > at if forward else position < at)
        if arm.prefix:
            # The same bound on the leading keys alone: an index range on the manager.
            lead, lead_at = tuple_(*arm.keys[: arm.prefix]), tuple_(*cursor_keys[: arm.prefix])
            query = query.where(lead >= lead_at if forward else lead <= lead_at)
    order = arm.keys if forward else [k.desc() for k in arm.keys]
    return query.order_by(*order).limit(limit)


def joined_page(session, company_id, sort, conds, after, before, page_size):
    """``(rows, older cursor, newer cursor)``: one page of learners in ``sort`` order (``ARMS``),
    ``older`` the next page's cursor and ``newer`` the previous page's, None at either end."""
    arms = ARMS[sort](company_id)
    back = decode(before, arms) if before else None
    cursor = back or (decode(after, arms) if after else None)
    forward = back is None
    start, keys = cursor if cursor else (0, None)
    found = []
    steps = range(start, len(arms)) if forward else range(start, -1, -1)
    for i in steps:
        rows = session.execute(_part(arms[i], conds, keys if i == start else None, forward, page_size + 1 - len(found)))
        found += [(i, row[0], list(row[1:])) for row in rows]
        if len(found) > page_size:
            break
    more = len(found) > page_size
    found = found[:page_size]
    if not forward:
        found.reverse()
    has_later, has_earlier = (more, cursor is not None) if forward else (True, more)
    rows = [learner for _, learner, _ in found]
    older = encode(found[-1][0], found[-1][2]) if found and has_later else None
    newer = encode(found[0][0], found[0][2]) if found and has_earlier else None
    return rows, older, newer
