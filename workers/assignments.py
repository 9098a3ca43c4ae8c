"""The values Smart Assign works with: a learner's profile, the company's settings,
assignments as they stand, and the plan that says what to change.

Plain frozen dataclasses with no behaviour beyond validation; ``workers.smart_assign``
computes plans from them and ``workers.reconcile`` maps them to and from rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ASSIGNED = "assigned"
IN_PROGRESS = "in_progress"
OVERDUE = "overdue"
COMPLETED = "completed"
ARCHIVED = "archived"
# Withdrawn: open, unstarted work the learner's inputs no longer call for (a change undone,
# a tag removed). Kept as a row, with its history, but owed by nobody.
WITHDRAWN = "withdrawn"
# Overdue work is still open: it holds its requirement until it is completed.
OPEN = frozenset({ASSIGNED, IN_PROGRESS, OVERDUE})

# "Never take away ... one more than 10 % done": at or below this the
# learner has not really started, so the version may still change.
STARTED_PERCENT = 10


@dataclass(frozen=True)
class Profile:
    """The learner's normalized attributes, as stored after a SCIM write.

    ``region`` is ISO 3166-2 ("US-CA"), ``country`` ISO 3166-1 alpha-2,
    ``location`` the city as sent ("Chicago, IL"), ``role`` the raw
    learnerRole, ``tags`` the parsed training codes.
    """

    active: bool = True
    region: str | None = None
    country: str | None = None
    location: str | None = None
    role: str | None = None
    tags: tuple[str, ...] = ()
    # Codes the company's group rules give, with the groups that give them
    # (``((code, "Managers, Leads"), ...)``): required like tags, worded apart.
    rule_codes: tuple[tuple[str, str], ...] = ()


# ``previous`` for a learner that did not exist before the event.
NEW_LEARNER = Profile(active=False)


@dataclass(frozen=True)
class CompanySettings:
    """The company's Smart Assign settings."""

    due_days: int = 30
    industry: str | None = None
    # Recertification lead time: the next cycle is assigned this many days
    # before the completion it renews expires, due at the expiry.
    lead_days: int = 30

    def __post_init__(self):
        if self.due_days < 0:
            raise ValueError(f"due_days must be >= 0, not {self.due_days}")
        if self.lead_days < 0:
            raise ValueError(f"lead_days must be >= 0, not {self.lead_days}")


@dataclass(frozen=True)
class Assignment:
    """One assignment the learner has; ``(family, cycle)`` identifies it."""

    code: str
    family: str
    cycle: int
    status: str  # assigned | in_progress | overdue | completed | archived | withdrawn
    progress: int  # percent, 0-100
    assigned_at: datetime
    due_at: datetime | None = None
    completed_at: datetime | None = None
    # When the row last changed; for an archived one, when it was archived.
    updated_at: datetime | None = None


@dataclass(frozen=True)
class NewAssignment:
    """An assignment to create (status "assigned", progress 0, assigned now)."""

    code: str
    family: str
    cycle: int
    due_at: datetime
    reason: str


@dataclass(frozen=True)
class Retarget:
    """Switch the not-yet-started assignment ``(family, cycle)`` to another version."""

    family: str
    cycle: int
    code: str
    due_at: datetime | None
    reason: str


@dataclass(frozen=True)
class Withdrawal:
    """Withdraw the open, unstarted assignment ``(family, cycle)``: nothing requires it any more."""

    family: str
    cycle: int
    code: str
    reason: str


@dataclass(frozen=True)
class Plan:
    """What Smart Assign decided for one learner.

    ``archive``: mark every open assignment archived (learner deactivated).
    ``resume``: put archived assignments back to assigned / in_progress;
    ``resumed_due`` moves their due dates by the time the learner was away.
    ``overdue``: ``(family, cycle)`` of open assignments past their due date.
    ``withdraw``: open, unstarted (<= 10 %) assignments the latest inputs no
    longer call for, so a change that is undone leaves nothing behind;
    ``reinstate``: withdrawn assignments called for again, opened with their due date.
    ``review_at``: the earliest moment this learner needs Smart Assign again
    without any change (a due date passes, a completion nears its expiry);
    None when nothing is pending. The daily task selects learners by it.
    ``reasons``: why each added assignment exists, by code (audit trail).
    ``unknown_tags``, ``role_flagged`` and ``location_unknown`` are for the
    audit trail; ``region`` is the harassment-prevention region used.
    """

    add: tuple[NewAssignment, ...] = ()
    retarget: tuple[Retarget, ...] = ()
    archive: bool = False
    resume: bool = False
    resumed_due: tuple[tuple[str, int, datetime], ...] = ()
    overdue: tuple[tuple[str, int], ...] = ()
    withdraw: tuple[Withdrawal, ...] = ()
    reinstate: tuple[Retarget, ...] = ()
    review_at: datetime | None = None
    unknown_tags: tuple[str, ...] = ()
    role_flagged: bool = False
    location_unknown: bool = False
    region: str | None = None

    @property
    def changes(self) -> bool:
        """True when applying the plan would change any assignment."""
        return bool(
            self.add or self.retarget or self.archive or self.resume or self.overdue or self.withdraw or self.reinstate
        )
