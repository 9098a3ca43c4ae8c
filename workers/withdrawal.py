"""Reversible Smart Assign: withdraw open work nothing requires any more, reinstate it if required again.

A change that is later undone (a mistyped attribute mapping, a tag added then
removed) must leave the learner where they were. Open, unstarted assignments the
latest inputs no longer call for are withdrawn, not deleted: the row keeps its
history. When the inputs call for the same version again, the withdrawn row is
reinstated with its due date, instead of opening a new cycle.
"""

from __future__ import annotations

from datetime import datetime

from workers.assignments import WITHDRAWN, Assignment, Retarget, Withdrawal


def withdrawals(leftover: list[Assignment]) -> tuple[Withdrawal, ...]:
    """Withdraw the open, unstarted assignments no requirement took (``leftover`` candidates)."""
    return tuple(
        Withdrawal(a.family, a.cycle, a.code, f"withdrawn: no longer required by the learner's inputs ({a.code})")
        for a in leftover
    )


def reinstatable(current: list[Assignment], code: str, family: str) -> Assignment | None:
    """The withdrawn assignment of ``code`` to open again, or None.

    Only the family's latest cycle (withdrawn ones aside) may come back: an
    older one would sit behind newer work of the family and count for nothing.
    """
    withdrawn = [a for a in current if a.status == WITHDRAWN and a.code == code and a.family == family]
    if not withdrawn:
        return None
    latest = max(withdrawn, key=lambda a: a.cycle)
    newer = any(a.family == family and a.cycle > latest.cycle and a.status != WITHDRAWN for a in current)
    return None if newer else latest


def reinstatement(row: Assignment, due: datetime, reason: str, now: datetime) -> Retarget:
    """Open ``row`` again: its own due date while that is ahead (never later than ``due``), else ``due``."""
    kept = row.due_at if row.due_at is not None and row.due_at > now else None
    return Retarget(row.family, row.cycle, row.code, min(due, kept) if kept else due, f"{reason}; reinstated")
