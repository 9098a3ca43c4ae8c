"""Reversible Smart Assign: withdraw open work nothing requires any more, reinstate it if required again.

A change that is later undone (a mistyped attribute mapping, a tag added then
removed) must leave the learner where they were. Open, unstarted assignments the
latest inputs no longer call for are withdrawn, not deleted: the row keeps its
history. When the inputs call for that family again, the withdrawn row is
reinstated (with its due date, counted from when it was assigned) instead of
opening a new cycle.
"""

from __future__ import annotations

from workers.assignments import COMPLETED, STARTED_PERCENT, WITHDRAWN, Assignment, Withdrawal


def withdrawals(leftover: list[Assignment]) -> tuple[Withdrawal, ...]:
    """Withdraw the open, unstarted assignments no requirement took (``leftover`` candidates)."""
    return tuple(
        Withdrawal(a.family, a.cycle, a.code, f"withdrawn: no longer required by the learner's inputs ({a.code})")
        for a in leftover
    )


def reinstatable(current: list[Assignment], code: str, family: str) -> Assignment | None:
    """The withdrawn assignment to open again for ``code``, or None.

    The family's withdrawn work of that very version first (a change undone), else
    its latest withdrawn cycle (unstarted, so the version may still follow the
    learner, as a switch does). Not when the family has completed or started work
    in a later cycle: the reopened one would sit behind it.
    """
    withdrawn = [a for a in current if a.status == WITHDRAWN and a.family == family]
    if not withdrawn:
        return None
    best = max(withdrawn, key=lambda a: (a.code == code, a.cycle))
    kept = any(
        a.family == family and a.cycle > best.cycle and (a.status == COMPLETED or a.progress > STARTED_PERCENT)
        for a in current
    )
    return None if kept else best


def reusable(current: list[Assignment], candidates: list[Assignment], code: str, family: str):
    """``(assignment, reinstated)``: the row a missing requirement of ``code`` reuses, or ``(None, False)``.

    Withdrawn work of that very version first (a change undone), else open,
    unstarted work of the family (``candidates``: a switch), else any withdrawn
    cycle of the family.
    """
    back = reinstatable(current, code, family)
    stale = next((a for a in candidates if a.family == family), None)
    if back is not None and (stale is None or back.code == code):
        return back, True
    return stale, False
