"""Background jobs an admin starts from the dashboard (a Smart Assign re-run), with progress."""

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, utcnow

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
ACTIVE = (QUEUED, RUNNING)

RERUN_SMART_ASSIGN = "rerun_smart_assign"
RECERTIFY = "recertify"


class Job(Base):
    """One run of a background job for one company; the worker updates ``done`` per batch."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=QUEUED)
    total: Mapped[int | None] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # What the job changed so far (for a re-run: trainings added), kept across a redelivery.
    added: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Recertification runs: assignments newly marked overdue, and the moment run as of.
    overdue: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    as_of: Mapped[object | None] = mapped_column(DateTime)
    # The last learner id handled: a redelivered task resumes after it instead of starting over.
    cursor: Mapped[str | None] = mapped_column(String(36))
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[object] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[object | None] = mapped_column(DateTime)
    finished_at: Mapped[object | None] = mapped_column(DateTime)
    updated_at: Mapped[object] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_jobs_company_id", "company_id", "id"),)

    @property
    def percent(self):
        """Progress in whole percent (100 when finished, 0 before the total is known)."""
        if self.status == DONE:
            return 100
        if not self.total:
            return 0
        return min(100, self.done * 100 // self.total)

    def as_dict(self):
        """The JSON the dashboard polls."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "total": self.total,
            "done": self.done,
            "percent": self.percent,
            "added": self.added,
            "error": self.error,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
        }


def _iso(value):
    return value.isoformat(timespec="seconds") + "Z" if value else None
