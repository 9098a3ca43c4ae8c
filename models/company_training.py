"""A company's edits to the training catalog: changed cadence or due period, and its own trainings.

The default catalog (``models.catalog``) is the seed every company starts
from; a row here overrides one default training for one company, or adds a
training of the company's own (a code its tags and group rules can assign).
Nothing is copied per company, so a correction to the defaults reaches every
company that did not change that training.
"""

from dataclasses import replace

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from models.catalog import ALL, DEFAULT_CATALOG, Training
from models.db import Base, utcnow


class CompanyTraining(Base):
    """One training as a company configured it (an override of a default, or its own)."""

    __tablename__ = "company_trainings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    # None: the training is taken once (no recertification).
    cadence_months: Mapped[int | None] = mapped_column(Integer)
    # None: the company's default due period.
    due_days: Mapped[int | None] = mapped_column(Integer)
    # True for a training the company added (not in the default catalog).
    custom: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    updated_at: Mapped[object] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("company_id", "code", name="uq_company_trainings_company_code"),)


def company_catalog(session, company_id):
    """The catalog Smart Assign uses for a company: the defaults with its edits, then its own trainings."""
    rows = {
        r.code: r
        for r in session.scalars(
            select(CompanyTraining).where(CompanyTraining.company_id == company_id).order_by(CompanyTraining.code)
        )
    }
    if not rows:
        return DEFAULT_CATALOG
    catalog = []
    for training in DEFAULT_CATALOG:
        row = rows.pop(training.code, None)
        if row is not None:
            training = replace(training, title=row.title, cadence_months=row.cadence_months, due_days=row.due_days)
        catalog.append(training)
    for row in rows.values():
        catalog.append(Training(row.code, row.title, row.code, None, ALL, row.cadence_months, row.due_days))
    return tuple(catalog)
