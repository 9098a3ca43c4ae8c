"""Editing a company's training catalog (dashboard and CLI share these rules). Flushes only.

A company may change a training's recertification cadence and due period,
and add trainings of its own (codes its training tags and group rules can
then assign). The defaults stay the seed: resetting removes the company's
row and the default applies again. After a change, the learners holding
that training are marked for review, so the next daily recertification run
re-plans them with the new cadence.
"""

import re

from sqlalchemy import delete, select, update

from models import CompanyTraining, Learner, LearnerTraining, utcnow
from models.catalog import by_code
from models.company_training import company_catalog

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,39}$")
MAX_CADENCE_MONTHS = 120
MAX_DUE_DAYS = 3650
_DEFAULTS = by_code()


class CatalogError(ValueError):
    """An edit that cannot be saved; the message says why."""


def trail_values(training):
    """What the admin trail records of a training: title, cadence and due period (None: no training)."""
    if training is None:
        return None
    return {"title": training.title, "cadence_months": training.cadence_months, "due_days": training.due_days}


def check_numbers(cadence_months, due_days):
    """Raise CatalogError unless cadence (1-120 months or None) and due period (1-3650 days or None) are valid."""
    if cadence_months is not None and not 1 <= cadence_months <= MAX_CADENCE_MONTHS:
        raise CatalogError(f"the cadence must be 1 to {MAX_CADENCE_MONTHS} months, or none")
    if due_days is not None and not 1 <= due_days <= MAX_DUE_DAYS:
        raise CatalogError(f"the due period must be 1 to {MAX_DUE_DAYS} days, or the company's default")


def normalize_code(code):
    """The code upper-cased, or CatalogError when it cannot be a training code."""
    value = (code or "").strip().upper()
    if not CODE.match(value):
        raise CatalogError("a training code has 1 to 40 letters, digits, '-' or '_', e.g. FIRE-SAFETY")
    return value


def find(session, company_id, code):
    """The company's effective training with this code, or None."""
    return next((t for t in company_catalog(session, company_id) if t.code == code), None)


def _row(session, company_id, code):
    return session.scalar(
        select(CompanyTraining).where(CompanyTraining.company_id == company_id, CompanyTraining.code == code)
    )


def _mark_for_review(session, company_id, code):
    """Learners holding the training are re-planned by the next daily run."""
    holders = select(LearnerTraining.learner_id).where(
        LearnerTraining.company_id == company_id, LearnerTraining.training_code == code
    )
    session.execute(
        update(Learner)
        .where(Learner.company_id == company_id, Learner.active.is_(True), Learner.id.in_(holders))
        .values(review_at=utcnow())
    )


def set_training(session, company_id, code, cadence_months, due_days, title=None):
    """Set a training's cadence and due period (None: no recertification / company default)."""
    code = normalize_code(code)
    check_numbers(cadence_months, due_days)
    current = find(session, company_id, code)
    if current is None:
        raise CatalogError(f"no training {code} in the catalog; add it as the company's own training first")
    row = _row(session, company_id, code)
    if row is None:
        row = CompanyTraining(company_id=company_id, code=code, custom=code not in _DEFAULTS)
        session.add(row)
    row.title = ((title or "").strip() or current.title)[:200]
    row.cadence_months, row.due_days, row.updated_at = cadence_months, due_days, utcnow()
    session.flush()
    _mark_for_review(session, company_id, code)
    return row


def add_training(session, company_id, code, title, cadence_months, due_days):
    """Add a training of the company's own; its code must be new."""
    code = normalize_code(code)
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise CatalogError("give the training a title of 1 to 200 characters")
    check_numbers(cadence_months, due_days)
    if find(session, company_id, code) is not None:
        raise CatalogError(f"{code} is already in the catalog; edit it instead")
    row = CompanyTraining(
        company_id=company_id,
        code=code,
        title=title,
        cadence_months=cadence_months,
        due_days=due_days,
        custom=True,
        updated_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def reset_training(session, company_id, code):
    """Back to the default for a default training; True if the company had changed it."""
    code = normalize_code(code)
    if code not in _DEFAULTS:
        raise CatalogError(f"{code} is the company's own training: there is no default to go back to")
    done = session.execute(
        delete(CompanyTraining).where(CompanyTraining.company_id == company_id, CompanyTraining.code == code)
    ).rowcount
    if done:
        _mark_for_review(session, company_id, code)
    return bool(done)
