"""Smart Assign: which trainings a learner must take, as pure functions.

``plan(profile, previous, existing, settings, now)`` compares what the
learner's latest state requires with the assignments they already have and
returns a ``Plan``: assignments to add, open assignments whose version must
follow the learner, and whether to archive or resume. The worker persists
the plan; ``apply_plan`` does the same in memory for tests.

The model (docs/smart-assign.md):

- A *requirement* is one training version, e.g. ``HP-CA-SUP``, derived from
  region, city, role, industry and tags (``required_trainings``).
- A *family* groups the versions of one course (``catalog.HP_FAMILY`` holds
  every harassment-prevention version; other trainings are their own
  family). Recertification dates count from the latest completion in the
  family ("the similar assignment"), so a CA -> NY move keeps its cycle.
- An assignment *points at a family*; its ``code`` is the version it will
  open with. While the learner has not really started (progress <= 10 %),
  the version still follows the learner: a move or a promotion *retargets*
  it instead of stacking a second course. Once started (> 10 %) or
  completed it is pinned and never taken away; a new requirement in the
  same family is then added next to it, as the next ``cycle``.
- A requirement is satisfied by an open assignment, or a completion still
  valid per the required version's cadence, of a version that *covers* it:
  the same code, or the supervisor version of the same region for the
  employee version (supervisor content includes the employee content; this
  is why a demotion assigns nothing new).
- Decisions read only the latest state (profile, assignments, ``now``), so
  running twice or out of order gives the same result as running once.
  ``previous`` only words the reasons for the audit trail ("promoted",
  "moved from CA").

Persistence: an assignment is identified per learner by ``(family, cycle)``;
``cycle`` numbers the assignments of one family from 1. ``plan`` numbers
new ones from the highest existing cycle, so two workers planning from the
same state collide on a unique ``(learner, family, cycle)`` key instead of
creating a duplicate.
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from models import catalog as cat
from models.catalog import DEFAULT_CATALOG, Training
from models.normalize import normalize_role

ASSIGNED = "assigned"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
ARCHIVED = "archived"
OPEN = frozenset({ASSIGNED, IN_PROGRESS})

# "Never take away ... one more than 10 % done": at or below this the
# learner has not really started, so the version may still change.
STARTED_PERCENT = 10

CHICAGO = "CHICAGO"
NYC = "NYC"


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


@dataclass(frozen=True)
class Settings:
    """The company's Smart Assign settings."""

    due_days: int = 30
    industry: str | None = None

    def __post_init__(self):
        if self.due_days < 0:
            raise ValueError(f"due_days must be >= 0, not {self.due_days}")


@dataclass(frozen=True)
class Assignment:
    """One assignment the learner has; ``(family, cycle)`` identifies it."""

    code: str
    family: str
    cycle: int
    status: str  # assigned | in_progress | completed | archived
    progress: int  # percent, 0-100
    assigned_at: datetime
    due_at: datetime | None = None
    completed_at: datetime | None = None


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
class Plan:
    """What Smart Assign decided for one learner.

    ``archive``: mark every open assignment archived (learner deactivated).
    ``resume``: put archived assignments back to assigned / in_progress.
    ``unknown_tags``, ``role_flagged`` and ``location_unknown`` are for the
    audit trail; ``region`` is the harassment-prevention region used.
    """

    add: tuple[NewAssignment, ...] = ()
    retarget: tuple[Retarget, ...] = ()
    archive: bool = False
    resume: bool = False
    unknown_tags: tuple[str, ...] = ()
    role_flagged: bool = False
    location_unknown: bool = False
    region: str | None = None

    @property
    def changes(self) -> bool:
        """True when applying the plan would change any assignment."""
        return bool(self.add or self.retarget or self.archive or self.resume)


@dataclass(frozen=True)
class _Requirement:
    training: Training
    reason: str
    deadline: tuple[int, int] | None  # (months, days) for a learner new to it


@dataclass(frozen=True)
class _Place:
    country: str | None
    state: str | None  # US state suffix, "CA"
    city: str | None  # CHICAGO | NYC


# --- dates ---------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """Add calendar months, clamping the day (Aug 31 + 6 months = Feb 28/29)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _after(moment: datetime, period: tuple[int, int]) -> datetime:
    months, days = period
    return add_months(moment, months) + timedelta(days=days)


# --- where the learner works ------------------------------------------------

_CITY_NAMES = {
    "chicago": CHICAGO,
    "city of chicago": CHICAGO,
    "new york": NYC,
    "new york city": NYC,
    "nyc": NYC,
    "city of new york": NYC,
    "manhattan": NYC,
    "brooklyn": NYC,
    "queens": NYC,
    "bronx": NYC,
    "the bronx": NYC,
    "staten island": NYC,
}
_CITY_STATE = {CHICAGO: "IL", NYC: "NY"}
_STATE_HINTS = {"IL": ("il", "illinois"), "NY": ("ny", "nys", "new york")}
_COUNTRY_HINTS = ("us", "usa", "united states", "united states of america")


def city_of(location) -> str | None:
    """Recognize the cities with overlays in a free-text location: "CHICAGO", "NYC" or None.

    Accepts "Chicago", "Chicago, IL", "Chicago IL 60601, USA", "NYC",
    "New York City", "Brooklyn, NY". A qualifier naming another place
    ("Brooklyn, Michigan") means it is not the city.
    """
    if not isinstance(location, str):
        return None
    # Fold case and punctuation and drop ZIP codes: "Chicago, IL 60601." -> ["chicago", "il"].
    parts = [
        " ".join(w for w in re.sub(r"[^a-z0-9]+", " ", p.casefold().replace(".", "")).split() if not w.isdigit())
        for p in location.split(",")
    ]
    head, qualifiers = parts[0], [p for p in parts[1:] if p]
    city = _CITY_NAMES.get(head)
    if city is None:  # "Chicago IL": the state rides in the same part
        for name, candidate in _CITY_NAMES.items():
            hints = _STATE_HINTS[_CITY_STATE[candidate]]
            if any(head == f"{name} {hint}" for hint in hints):
                city = candidate
                break
    if city is None:
        return None
    allowed = _STATE_HINTS[_CITY_STATE[city]] + _COUNTRY_HINTS
    if any(qualifier not in allowed for qualifier in qualifiers):
        return None
    return city


def _place(profile: Profile) -> _Place:
    """Work out country, US state and overlay city; the state wins over a contradicting city."""
    region = profile.region or None
    country = profile.country or (region.split("-", 1)[0] if region else None)
    state = None
    if country == "US" and region and region.startswith("US-"):
        state = region[3:]
    if country in cat.US_TERRITORIES:
        country, state = "US", None
    city = city_of(profile.location)
    if city is not None:
        city_state = _CITY_STATE[city]
        if country in (None, "US") and state in (None, city_state):
            country, state = "US", city_state  # "NYC" alone places the learner in NY
        else:
            city = None  # a city in another state than the one sent: trust the state
    return _Place(country, state, city)


@functools.lru_cache(maxsize=32)
def _index(catalog: tuple[Training, ...]) -> dict[str, Training]:
    return cat.by_code(catalog)


def _catalog_index(catalog) -> dict[str, Training]:
    return _index(tuple(catalog))


def _hp_region(place: _Place, supervisor: bool, index: dict[str, Training]) -> str:
    suffix = "SUP" if supervisor else "EMP"
    if place.country == "US":
        if place.state and f"HP-{place.state}-{suffix}" in index:
            return place.state
        return cat.US_GENERIC
    region = cat.HP_COUNTRIES.get(place.country or "")
    if region and f"HP-{region}-{suffix}" in index:
        return region
    return cat.GLOBAL_FALLBACK


def hp_region(profile: Profile, catalog=DEFAULT_CATALOG) -> str:
    """Return the harassment-prevention region key for a profile ("CA", "US", "CANADA", "UK", "GLOBAL").

    US: the state when the catalog has a version for it, else "US".
    Elsewhere: the country's version when there is one, else the global
    fallback (see ``catalog.GLOBAL_FALLBACK``), also used when neither
    state nor country is known.
    """
    supervisor = normalize_role(profile.role) == "supervisor"
    return _hp_region(_place(profile), supervisor, _catalog_index(catalog))


# --- what the learner should have -----------------------------------------


def _requirements(profile: Profile, settings: Settings, index: dict[str, Training]):
    """Return (requirements in a stable order, unknown tags, hp region, location unknown)."""
    place = _place(profile)
    supervisor = normalize_role(profile.role) == "supervisor"
    region = _hp_region(place, supervisor, index)
    suffix, role_word = ("SUP", "supervisor") if supervisor else ("EMP", "non-supervisor")
    requirements: list[_Requirement] = []

    def need(code: str, reason: str, deadline=None) -> None:
        if code in index and all(r.training.code != code for r in requirements):
            requirements.append(_Requirement(index[code], reason, deadline))

    deadline = cat.LEGAL_DEADLINES.get(region)
    if place.city == NYC and region == "NY":
        deadline = cat.NYC_DEADLINE
    need(f"HP-{region}-{suffix}", f"harassment prevention, region {region}, {role_word}", deadline)
    if place.state == "CA":
        need("WVP-CA", "California learner")
    if place.state == "IL" and (settings.industry or "").casefold() == cat.HOSPITALITY:
        need("HP-IL-HOSP", "Illinois learner in hospitality")
    if place.city == CHICAGO:
        need("BYST-CHI", "works in Chicago")
    unknown = []
    for tag in profile.tags:
        code = tag.strip().upper()
        if code in index:
            training = index[code]
            need(code, f"tag {code}", cat.LEGAL_DEADLINES.get(training.region or ""))
        elif code and code not in unknown:
            unknown.append(code)
    location_unknown = place.country is None
    return requirements, tuple(unknown), region, location_unknown


def required_trainings(profile: Profile, settings: Settings = Settings(), catalog=DEFAULT_CATALOG) -> list[str]:
    """Return the codes this profile requires, in a stable order (ignores ``active``)."""
    requirements, _, _, _ = _requirements(profile, settings, _catalog_index(catalog))
    return [r.training.code for r in requirements]


# --- matching assignments against requirements ----------------------------


def _covers(held: Training | None, code: str, needed: Training) -> bool:
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


def _similar(held: Training | None, assignment: Assignment, needed: Training) -> bool:
    """True when a completion of ``assignment`` anchors ``needed``'s recertification date.

    Same family, except that an employee version does not anchor a
    supervisor one: a promotion is a new training, not a recertification.
    """
    if assignment.family != needed.family:
        return False
    return not (held and held.audience == cat.EMPLOYEE and needed.audience == cat.SUPERVISOR)


def _still_valid(assignment: Assignment, needed: Training, now: datetime) -> bool:
    if assignment.status != COMPLETED or assignment.completed_at is None:
        return False
    if needed.cadence_months is None:
        return True
    return now < add_months(assignment.completed_at, needed.cadence_months)


def _due(req: _Requirement, completions: list[Assignment], index, settings: Settings, now: datetime):
    """Due date and reason suffix for a requirement that must be (re)assigned now.

    Counted from the latest similar completion when its recertification date
    is still ahead (a move keeps the learner's cycle); else the company's due
    period. A learner new to a version with a legal deadline gets the earlier
    of that and the deadline (promotion, hire, move into CA).
    """
    needed = req.training
    due, note = now + timedelta(days=settings.due_days), ""
    similar = [a for a in completions if _similar(index.get(a.code), a, needed)]
    if similar and needed.cadence_months:
        anchor = max(similar, key=lambda a: a.completed_at)
        recert = add_months(anchor.completed_at, needed.cadence_months)
        verb = "recertification counted from" if recert > now else "renews"
        note = f"; {verb} {anchor.code} completed {anchor.completed_at.date().isoformat()}"
        if recert > now:
            due = recert
    first_time = not any(_covers(index.get(a.code), a.code, needed) for a in completions)
    if first_time and req.deadline:
        legal = _after(now, req.deadline)
        if legal < due:
            due, note = legal, note + "; legal deadline"
    return due, note


def _change_note(profile: Profile, previous: Profile | None, region: str, index) -> str:
    """Word what changed since ``previous`` (audit only; never affects decisions)."""
    if previous is None:
        return ""
    notes = []
    supervisor = normalize_role(profile.role) == "supervisor"
    previous_supervisor = normalize_role(previous.role) == "supervisor"
    if supervisor and not previous_supervisor:
        notes.append("promoted to supervisor")
    elif previous_supervisor and not supervisor:
        notes.append("no longer a supervisor")
    previous_region = _hp_region(_place(previous), previous_supervisor, index)
    if previous_region != region:
        notes.append(f"moved from {previous_region}")
    if _place(previous).city != _place(profile).city:
        notes.append("city changed")
    return f" ({', '.join(notes)})" if notes else ""


def resumed_status(assignment: Assignment) -> str:
    return IN_PROGRESS if assignment.progress > 0 else ASSIGNED


def plan(
    profile: Profile,
    previous: Profile | None,
    existing: list[Assignment],
    settings: Settings,
    now: datetime,
    catalog=DEFAULT_CATALOG,
) -> Plan:
    """Decide what to add, retarget, archive or resume for one learner.

    Reads only the latest state: ``previous`` words the reasons, nothing
    more. Never removes or changes a completed or started (> 10 %)
    assignment. Planning again on the result of ``apply_plan`` gives a plan
    with ``changes == False``.
    """
    index = _catalog_index(catalog)
    requirements, unknown, region, location_unknown = _requirements(profile, settings, index)
    flags = dict(
        unknown_tags=unknown,
        role_flagged=normalize_role(profile.role) == "other",
        location_unknown=location_unknown,
        region=region,
    )
    if not profile.active:
        # Deactivated: keep everything, assign nothing, stop the clocks.
        return Plan(archive=any(a.status in OPEN for a in existing), **flags)

    resume = any(a.status == ARCHIVED for a in existing)
    # Decide on the state the learner will be in once resumed.
    current = [replace(a, status=resumed_status(a)) if a.status == ARCHIVED else a for a in existing]
    completions = [a for a in current if a.status == COMPLETED and a.completed_at is not None]
    change = _change_note(profile, previous, region, index)

    # Pass 1: requirements already met. What meets one is not up for retargeting.
    used: set[tuple[str, int]] = set()
    missing: list[_Requirement] = []
    for req in requirements:
        holder = next(
            (
                a
                for a in current
                if _covers(index.get(a.code), a.code, req.training)
                and (a.status in OPEN or _still_valid(a, req.training, now))
            ),
            None,
        )
        if holder is None:
            missing.append(req)
        else:
            used.add((holder.family, holder.cycle))

    # Pass 2: move an unstarted stale version, else add the next cycle.
    required_codes = {r.training.code for r in requirements}
    candidates = sorted(
        (
            a
            for a in current
            if a.status in OPEN
            and a.progress <= STARTED_PERCENT
            and a.code not in required_codes
            and (a.family, a.cycle) not in used
        ),
        key=lambda a: (a.family, a.cycle),
    )
    next_cycle: dict[str, int] = {}
    for a in current:
        next_cycle[a.family] = max(next_cycle.get(a.family, 1), a.cycle + 1)
    added: list[NewAssignment] = []
    retargeted: list[Retarget] = []
    planned: list[Training] = []
    for req in missing:
        needed = req.training
        if any(_covers(t, t.code, needed) for t in planned):
            continue  # a version planned just now already covers it (SUP for EMP)
        due, note = _due(req, completions, index, settings, now)
        # Role and region changes explain harassment prevention, not tags or overlays.
        reason = f"{req.reason}{change if needed.family == cat.HP_FAMILY else ''}{note}"
        stale = next((a for a in candidates if a.family == needed.family), None)
        if stale is not None:
            candidates.remove(stale)
            # Retargeting never extends the deadline the learner already has.
            new_due = min(due, stale.due_at) if stale.due_at else due
            retargeted.append(
                Retarget(stale.family, stale.cycle, needed.code, new_due, f"{reason}; replaces unstarted {stale.code}")
            )
        else:
            cycle = next_cycle.get(needed.family, 1)
            next_cycle[needed.family] = cycle + 1
            added.append(NewAssignment(needed.code, needed.family, cycle, due, reason))
        planned.append(needed)
    return Plan(add=tuple(added), retarget=tuple(retargeted), resume=resume, **flags)


def apply_plan(existing: list[Assignment], result: Plan, now: datetime) -> list[Assignment]:
    """Apply a plan to assignments in memory, as the worker does in the database."""
    by_key = {(a.family, a.cycle): a for a in existing}
    for key, a in by_key.items():
        if result.archive and a.status in OPEN:
            by_key[key] = replace(a, status=ARCHIVED)
        elif result.resume and a.status == ARCHIVED:
            by_key[key] = replace(a, status=resumed_status(a))
    for change in result.retarget:
        a = by_key[(change.family, change.cycle)]
        by_key[(change.family, change.cycle)] = replace(a, code=change.code, due_at=change.due_at)
    for new in result.add:
        if (new.family, new.cycle) in by_key:
            raise ValueError(f"duplicate assignment {new.family} cycle {new.cycle}")
        by_key[(new.family, new.cycle)] = Assignment(
            new.code, new.family, new.cycle, ASSIGNED, 0, now, new.due_at, None
        )
    return list(by_key.values())
