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
- A requirement is met by a completion still valid per the required
  version's cadence, or a started open assignment, of a version that
  *covers* it (the same code, or the same region's supervisor version for
  the employee one), or by unstarted open work of that very version.
  Unstarted work nothing requires is withdrawn (``workers.withdrawal``).
- Decisions read only the latest state (profile, assignments, ``now``), so
  running twice or out of order gives the same result as running once;
  ``previous`` only words the reasons ("promoted", "moved from CA").

Persistence: an assignment is identified per learner by ``(family, cycle)``,
``cycle`` numbered from 1 in each family. New ones are numbered from the
highest existing cycle, so two workers planning from the same state collide
on a unique ``(learner, family, cycle)`` key instead of duplicating.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from models import catalog as cat
from models.catalog import DEFAULT_CATALOG, Training
from models.dates import add_months
from models.normalize import normalize_role
from workers import workplace
from workers.assignments import (
    ARCHIVED,
    ASSIGNED,
    COMPLETED,
    IN_PROGRESS,
    NEW_LEARNER,
    OPEN,
    OVERDUE,
    STARTED_PERCENT,
    WITHDRAWN,
    Assignment,
    CompanySettings,
    NewAssignment,
    Plan,
    Profile,
    Retarget,
)
from workers.versions import anchors, covered_by_another, covers
from workers.withdrawal import reusable, withdrawals
from workers.workplace import CHICAGO, NYC, Place, city_of, hp_region_of


@dataclass(frozen=True)
class _Requirement:
    training: Training
    reason: str
    deadline: tuple[int, int] | None  # (months, days) for a learner new to it


# --- dates ---------------------------------------------------------------


def _after(moment: datetime, period: tuple[int, int]) -> datetime:
    months, days = period
    return add_months(moment, months) + timedelta(days=days)


@functools.lru_cache(maxsize=32)
def _index(catalog: tuple[Training, ...]) -> dict[str, Training]:
    return cat.by_code(catalog)


def _catalog_index(catalog) -> dict[str, Training]:
    return _index(tuple(catalog))


def _place(profile: Profile) -> Place:
    """Where the learner works, from the profile's normalized region, country and location."""
    return workplace.place(profile.region, profile.country, profile.location)


def _requirements(profile: Profile, settings: CompanySettings, index: dict[str, Training]):
    """Return (requirements in a stable order, unknown tags, hp region, location unknown)."""
    place = _place(profile)
    supervisor = normalize_role(profile.role) == "supervisor"
    region = hp_region_of(place, supervisor, index)
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
            need(code, f"tag {code} in training_tags", cat.LEGAL_DEADLINES.get(training.region or ""))
        elif code and code not in unknown:
            unknown.append(code)
    for code, groups in profile.rule_codes:
        if code in index:
            need(
                code, f"member of {groups or 'a group with a rule'}", cat.LEGAL_DEADLINES.get(index[code].region or "")
            )
    location_unknown = place.country is None
    return requirements, tuple(unknown), region, location_unknown


def required_trainings(
    profile: Profile, settings: CompanySettings = CompanySettings(), catalog=DEFAULT_CATALOG
) -> list[str]:
    """Return the codes this profile requires, in a stable order (ignores ``active``)."""
    requirements, _, _, _ = _requirements(profile, settings, _catalog_index(catalog))
    return [r.training.code for r in requirements]


# --- matching assignments against requirements ----------------------------


def expires_at(completed_at: datetime, needed: Training) -> datetime | None:
    """When a completion of ``needed``'s version stops counting (None: never)."""
    if needed.cadence_months is None:
        return None
    return add_months(completed_at, needed.cadence_months)


def _still_valid(assignment: Assignment, needed: Training, now: datetime, lead: timedelta = timedelta(0)) -> bool:
    """True when the completion still holds ``needed`` beyond the lead time (no renewal due yet)."""
    if assignment.status != COMPLETED or assignment.completed_at is None:
        return False
    expiry = expires_at(assignment.completed_at, needed)
    return expiry is None or now + lead < expiry


def _due(req: _Requirement, completions: list[Assignment], index, settings: CompanySettings, now: datetime, since=None):
    """Due date, reason suffix and the completion renewed (or None) for a requirement assigned now.

    Counted from the latest similar completion when its recertification date is still ahead (a move
    keeps the learner's cycle; a renewal assigned within the lead time is due at the expiry); else the
    training's or the company's due period from ``since`` (a reused assignment's date) or ``now``. A
    learner new to a version with a legal deadline gets the earlier of that and the deadline from now.
    """
    needed = req.training
    period = needed.due_days if needed.due_days is not None else settings.due_days
    due, note, anchor = (since or now) + timedelta(days=period), "", None
    similar = [a for a in completions if anchors(index.get(a.code), a, needed)]
    if similar and needed.cadence_months:
        anchor = max(similar, key=lambda a: a.completed_at)
        recert = add_months(anchor.completed_at, needed.cadence_months)
        verb = "recertification counted from" if recert > now else "renews"
        note = f"; {verb} {anchor.code} completed {anchor.completed_at.date().isoformat()}"
        if recert > now:
            due = max(recert, due) if recert - now < timedelta(days=1) else recert
    first_time = not any(covers(index.get(a.code), a.code, needed) for a in completions)
    if first_time and req.deadline:
        legal = _after(now, req.deadline)
        if legal < due:
            due, note = legal, note + "; legal deadline"
    return due, note, anchor


def _place_label(profile: Profile) -> str:
    return profile.region or profile.country or "an unknown place"


def _why(req: _Requirement, cycle: int, profile: Profile, previous: Profile | None, before: set, anchor) -> str:
    """Why this assignment exists, first words of its reason: the change that made it owed.

    ``before`` holds the codes ``previous`` required. Audit wording only: it
    never affects what is decided.
    """
    code, family = req.training.code, req.training.family
    if previous is not None and code not in before:
        if previous == NEW_LEARNER:
            return "new learner"
        if not previous.active:
            return "reactivated"
        was_sup = normalize_role(previous.role) == "supervisor"
        if family == cat.HP_FAMILY and normalize_role(profile.role) == "supervisor" and not was_sup:
            return "promoted to supervisor"
        if (previous.region, previous.country) != (profile.region, profile.country):
            return f"moved from {_place_label(previous)} to {_place_label(profile)}"
        if city_of(previous.location) != city_of(profile.location):
            return f"moved from {previous.location or 'no city'} to {profile.location or 'no city'}"
        tags = {t.strip().upper() for t in previous.tags}
        if code in {t.strip().upper() for t in profile.tags} and code not in tags:
            return f"tag {code} added"
        if code in dict(profile.rule_codes) and code not in dict(previous.rule_codes):
            return "group rule"
    if anchor is not None:
        return f"recertification, cycle {cycle}"
    if code in dict(profile.rule_codes) and code not in {t.strip().upper() for t in profile.tags}:
        return "group rule"
    return "required"


def _review_at(after: list[Assignment], requirements, index, settings: CompanySettings, now: datetime):
    """The earliest moment the learner's assignments need Smart Assign again, or None.

    - an open assignment becomes overdue at its due date;
    - a completion that holds a requirement is renewed ``lead_days`` before it expires;
    - an open assignment may be completed any day, so its renewal is never needed before
      ``now + cadence - lead`` (a lower bound that needs no update on completion).
    """
    lead = timedelta(days=settings.lead_days)
    moments = []
    for a in after:
        needed = index.get(a.code)
        if a.status in (ASSIGNED, IN_PROGRESS) and a.due_at is not None:
            moments.append(a.due_at)
        if a.status in OPEN and needed is not None and needed.cadence_months:
            moments.append(add_months(now, needed.cadence_months) - lead)
    for req in requirements:
        covering = [a for a in after if covers(index.get(a.code), a.code, req.training)]
        if any(a.status in OPEN for a in covering):
            continue  # the open assignment holds it (counted above), not the old completion
        held = [a for a in covering if a.status == COMPLETED and a.completed_at]
        if held:
            expiry = expires_at(max(a.completed_at for a in held), req.training)
            if expiry is not None:
                moments.append(expiry - lead)
    return min(moments) if moments else None


def resumed_status(assignment: Assignment) -> str:
    return IN_PROGRESS if assignment.progress > 0 else ASSIGNED


def plan(
    profile: Profile,
    previous: Profile | None,
    existing: list[Assignment],
    settings: CompanySettings,
    now: datetime,
    catalog=DEFAULT_CATALOG,
) -> Plan:
    """Decide what to add, retarget, withdraw, archive, resume or mark overdue for one learner.

    Reads only the latest state: ``previous`` (the inputs before the change,
    ``NEW_LEARNER`` for a creation, None when unknown) words the reasons,
    nothing more. Never removes or changes a completed or started (> 10 %)
    assignment. Planning again on the result of ``apply_plan`` gives a plan
    with ``changes == False``.
    """
    index = _catalog_index(catalog)
    requirements, unknown, region, location_unknown = _requirements(profile, settings, index)
    # Met by another's version (a tagged EMP beside a supervisor's SUP): kept, an open EMP row
    # would hold it, and the SUP come as a second cycle beside it.
    trainings = [r.training for r in requirements]
    requirements = [r for r in requirements if not covered_by_another(r.training, trainings)]
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
    # Decide on the state the learner will be in once resumed. The clocks
    # stopped while the learner was away: a resumed due date moves by that time.
    resumed_due = []
    current = []
    for a in existing:
        if a.status == ARCHIVED:
            due = a.due_at
            if due is not None and a.updated_at is not None and now > a.updated_at:
                due = due + (now - a.updated_at)
                resumed_due.append((a.family, a.cycle, due))
            a = replace(a, status=resumed_status(a), due_at=due)
        current.append(a)
    completions = [a for a in current if a.status == COMPLETED and a.completed_at is not None]
    lead = timedelta(days=settings.lead_days)
    before: set[str] = set()
    if previous is not None and previous.active:
        before = {r.training.code for r in _requirements(previous, settings, index)[0]}

    # Pass 1: requirements already met; what meets one is not up for retargeting. Unstarted open
    # work holds only its own version (an unstarted SUP follows a demotion to EMP).
    used: set[tuple[str, int]] = set()
    missing: list[_Requirement] = []
    for req in requirements:
        holder = next(
            (
                a
                for a in current
                if covers(index.get(a.code), a.code, req.training)
                and (
                    (a.status in OPEN and (a.code == req.training.code or a.progress > STARTED_PERCENT))
                    or _still_valid(a, req.training, now, lead)
                )
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
    reinstated: list[Retarget] = []
    planned: list[Training] = []
    for req in missing:
        needed = req.training
        held = [index.get(a.code) for a in current if (a.family, a.cycle) in used]
        if any(t is not None and covers(t, t.code, needed) for t in [*planned, *held]):
            continue  # a version planned just now, or held for another requirement, covers it (SUP for EMP)
        reused, back = reusable(current, candidates, needed.code, needed.family)
        # Its due period counts from when it was assigned: a switch never restarts the clock.
        due, note, anchor = _due(req, completions, index, settings, now, reused.assigned_at if reused else None)
        if reused is not None and due <= now and (back or now < (reused.due_at or now)):
            # Withdrawn long ago, or on time until this switch made them late: fresh, never past their date.
            due, note, anchor = _due(req, completions, index, settings, now)
            due = due if back else min(due, reused.due_at)
        cycle = reused.cycle if reused else next_cycle.get(needed.family, 1)
        reason = f"{_why(req, cycle, profile, previous, before, anchor)}: {req.reason}{note}"
        if back:
            reinstated.append(Retarget(reused.family, reused.cycle, needed.code, due, f"{reason}; reinstated"))
        elif reused is not None:
            candidates.remove(reused)
            retargeted.append(
                Retarget(reused.family, reused.cycle, needed.code, due, f"{reason}; replaces unstarted {reused.code}")
            )
        else:
            next_cycle[needed.family] = cycle + 1
            added.append(NewAssignment(needed.code, needed.family, cycle, due, reason))
        planned.append(needed)

    # Unstarted candidates nothing took (a change since undone, a tag removed) are withdrawn.
    withdraw = withdrawals(candidates)
    gone = {(w.family, w.cycle) for w in withdraw}
    # Work past its due date is overdue (a retarget may have moved the date).
    new_dues = {(r.family, r.cycle): r.due_at for r in retargeted}
    new_dues.update({(f, c): d for f, c, d in resumed_due if (f, c) not in new_dues})
    overdue = tuple(
        (a.family, a.cycle)
        for a in current
        if a.status in (ASSIGNED, IN_PROGRESS)
        and (a.family, a.cycle) not in gone
        and (new_dues.get((a.family, a.cycle), a.due_at) or now) < now
    )
    result = Plan(
        add=tuple(added),
        retarget=tuple(retargeted),
        resume=resume,
        resumed_due=tuple(resumed_due),
        overdue=overdue,
        withdraw=withdraw,
        reinstate=tuple(reinstated),
        **flags,
    )
    after = apply_plan(existing, result, now)
    return replace(result, review_at=_review_at(after, requirements, index, settings, now))


def apply_plan(existing: list[Assignment], result: Plan, now: datetime) -> list[Assignment]:
    """Apply a plan to assignments in memory, as the worker does in the database."""
    by_key = {(a.family, a.cycle): a for a in existing}
    for key, a in by_key.items():
        if result.archive and a.status in OPEN:
            by_key[key] = replace(a, status=ARCHIVED, updated_at=now)
        elif result.resume and a.status == ARCHIVED:
            by_key[key] = replace(a, status=resumed_status(a))
    for family, cycle, due in result.resumed_due:
        by_key[(family, cycle)] = replace(by_key[(family, cycle)], due_at=due)
    for change in result.retarget:
        a = by_key[(change.family, change.cycle)]
        by_key[(change.family, change.cycle)] = replace(a, code=change.code, due_at=change.due_at)
    for key in result.overdue:
        by_key[key] = replace(by_key[key], status=OVERDUE)
    for w in result.withdraw:
        by_key[(w.family, w.cycle)] = replace(by_key[(w.family, w.cycle)], status=WITHDRAWN, updated_at=now)
    for r in result.reinstate:
        a = by_key[(r.family, r.cycle)]
        by_key[(r.family, r.cycle)] = replace(a, code=r.code, status=resumed_status(a), due_at=r.due_at)
    for new in result.add:
        if (new.family, new.cycle) in by_key:
            raise ValueError(f"duplicate assignment {new.family} cycle {new.cycle}")
        by_key[(new.family, new.cycle)] = Assignment(
            new.code, new.family, new.cycle, ASSIGNED, 0, now, new.due_at, None, now
        )
    return list(by_key.values())
