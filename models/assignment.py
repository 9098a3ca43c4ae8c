"""Assignments of trainings to learners (``LearnerTraining``: the planner's ``Assignment`` as stored)."""

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, utcnow


class LearnerTraining(Base):
    """One assignment: a course family for a learner, numbered by cycle; never deleted."""

    __tablename__ = "learner_trainings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id"))
    family: Mapped[str] = mapped_column(String(40))
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    training_code: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="assigned")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    assigned_at: Mapped[object] = mapped_column(DateTime, default=utcnow)
    due_at: Mapped[object | None] = mapped_column(DateTime)
    completed_at: Mapped[object | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[object] = mapped_column(DateTime, default=utcnow)
    # True on the latest cycle of its family that is not withdrawn: what the learner owes.
    # Kept by models/latest_cycle.py on every flush that adds a cycle or withdraws one, so the
    # compliance report reads a flag instead of ranking every cycle of the company.
    latest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        # Two workers planning from the same state collide here instead of duplicating.
        UniqueConstraint("learner_id", "family", "cycle", name="uq_learner_trainings_family_cycle"),
        Index("ix_learner_trainings_company_learner", "company_id", "learner_id"),
        # The compliance report's completions by month.
        Index("ix_learner_trainings_company_completed", "company_id", "completed_at"),
        # The compliance report's rows: only what is owed (one row per learner and family).
        Index(
            "ix_learner_trainings_latest",
            "company_id",
            "learner_id",
            postgresql_where=text("latest"),
            sqlite_where=text("latest = 1"),
        ),
        # Overdue work: the learner list's overdue sort and counts, the home page's figure.
        Index(
            "ix_learner_trainings_overdue",
            "company_id",
            "learner_id",
            postgresql_where=text("status = 'overdue'"),
            sqlite_where=text("status = 'overdue'"),
        ),
    )
