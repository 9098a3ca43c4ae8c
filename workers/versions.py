"""Which version of a training meets which: a supervisor's harassment prevention meets the
employee version of its region, and which completions anchor a recertification date."""

from __future__ import annotations

from models import catalog as cat
from models.catalog import Training
from workers.assignments import Assignment


def covers(held: Training | None, code: str, needed: Training) -> bool:
    """True when holding ``code`` meets ``needed`` (same version, or SUP for EMP of one region)."""
    if code == needed.code:
        return True
    return (
        held is not None
        and held.family == needed.family == cat.HP_FAMILY
        and held.region == needed.region
        and held.audience == cat.SUPERVISOR
        and needed.audience == cat.EMPLOYEE
    )


def anchors(held: Training | None, assignment: Assignment, needed: Training) -> bool:
    """True when a completion of ``assignment`` anchors ``needed``'s recertification date.

    Same family, except that an employee version does not anchor a
    supervisor one: a promotion is a new training, not a recertification.
    """
    if assignment.family != needed.family:
        return False
    return not (held and held.audience == cat.EMPLOYEE and needed.audience == cat.SUPERVISOR)


def covered_by_another(needed: Training, trainings: list[Training]) -> bool:
    """True when another version among ``trainings`` meets ``needed`` (SUP for EMP)."""
    return any(covers(t, t.code, needed) for t in trainings if t.code != needed.code)
