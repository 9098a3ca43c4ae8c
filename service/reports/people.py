"""People first: who is overdue or expired.

Built on the compliance report's rows (``service.reports.compliance``: the latest
cycle of each family, its standing). (The share of active learners *fully compliant*, every
training they owe completed and still valid, is counted with the managers ranked:
``manager_chain.most_late_and_counts``.) The people list pages through
learners (not trainings) with the filters the dashboard offers, each a plain SQL
condition, so another filter (a manager chain) is one more condition here.
"""

import time

from sqlalchemy import func, select

from models import Learner, LearnerTraining
from models.company_training import company_catalog
from service.reports.compliance import latest_cycle, region_of, standing

LATE = ("overdue", "expired")
CHOICES_TTL = 60.0
_choices_cache: dict = {}
DUE = ("assigned", "in_progress")


def conditions(catalog, now, statuses=LATE, region=None, department=None, training=None, within=None, direct=None):
    """SQL conditions on (Learner, LearnerTraining) rows for the people list's filters: ``within``
    a SELECT of learner ids (a manager's chain, ``manager_chain.below``), ``direct`` a manager's
    id (their direct reports only, as the report's rows by manager count them)."""
    found = [standing(catalog, now).in_(tuple(statuses))]
    if within is not None:
        found.append(Learner.id.in_(within))
    if direct:
        found.append(Learner.manager_id == direct)
    if region:
        found.append(region_of() == region)
    if department:
        found.append(Learner.department == department)
    if training:
        found.append(LearnerTraining.training_code == training)
    return found


def _owed(company_id, *where):
    return (
        select(LearnerTraining.learner_id)
        .join(Learner, Learner.id == LearnerTraining.learner_id)
        .where(latest_cycle(company_id), *where)
    )


def people_page(session, company_id, now, page=1, per_page=50, **filters):
    """``(people, total)``: one page of learners matching ``filters`` (see ``conditions``), by name.

    Each person: id, names, email, department, region and the trainings that matched,
    with their standing and due date. Two queries per page, whatever its size.
    """
    catalog = company_catalog(session, company_id)
    where = conditions(catalog, now, **filters)
    # The page and the total in one pass: the total rides on each row as a window count.
    found = session.execute(
        _owed(company_id, *where)
        .add_columns(func.count().over())
        .group_by(LearnerTraining.learner_id, Learner.display_name, Learner.user_name)
        .order_by(Learner.display_name, Learner.user_name, LearnerTraining.learner_id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    ids = [learner_id for learner_id, _ in found]
    if not ids:
        # Past the last page (or nobody): the total is counted apart, only then.
        total = session.scalar(select(func.count()).select_from(_owed(company_id, *where).distinct().subquery()))
        return [], total or 0
    total = found[0][1]
    state = standing(catalog, now).label("standing")
    rows = session.execute(
        select(
            Learner.id,
            Learner.user_name,
            Learner.display_name,
            Learner.email_lower,
            Learner.department,
            region_of().label("region"),
            LearnerTraining.training_code,
            state,
            LearnerTraining.due_at,
            LearnerTraining.completed_at,
        )
        .join(Learner, Learner.id == LearnerTraining.learner_id)
        .where(latest_cycle(company_id), Learner.id.in_(ids), *where)
        .order_by(LearnerTraining.training_code)
    ).all()
    people = {i: None for i in ids}
    for lid, user, display, email, dept, region, code, status, due, done in rows:
        if people[lid] is None:
            people[lid] = {
                "learner_id": lid,
                "user_name": user,
                "display_name": display,
                "email": email,
                "department": dept,
                "region": region,
                "trainings": [],
            }
        people[lid]["trainings"].append({"code": code, "status": status, "due_at": due, "completed_at": done})
    return [p for p in people.values() if p is not None], total


def filter_choices(session, company_id):
    """Regions, departments and trainings present in the company (one query each, kept a minute:
    three GROUP BYs over 100k rows are not worth repeating on every page of the list)."""
    hit = _choices_cache.get(company_id)
    if hit and time.monotonic() - hit[0] < CHOICES_TTL:
        return hit[1]
    choices = _choices(session, company_id)
    _choices_cache[company_id] = (time.monotonic(), choices)
    return choices


def _choices(session, company_id):
    regions = session.scalars(
        select(region_of()).where(Learner.company_id == company_id).group_by(region_of()).order_by(region_of())
    ).all()
    departments = session.scalars(
        select(Learner.department)
        .where(Learner.company_id == company_id, Learner.department.is_not(None))
        .group_by(Learner.department)
        .order_by(Learner.department)
    ).all()
    trainings = session.scalars(
        select(LearnerTraining.training_code)
        .where(LearnerTraining.company_id == company_id)
        .group_by(LearnerTraining.training_code)
        .order_by(LearnerTraining.training_code)
    ).all()
    return {"regions": regions, "departments": departments, "trainings": trainings}
