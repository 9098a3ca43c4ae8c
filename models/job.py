"""Background jobs an admin starts from the dashboard (a Smart Assign re-run or preview), with progress."""

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, utcnow

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
# A preview the admin stopped: the worker sees it between batches and stops there.
CANCELLED = "cancelled"
ACTIVE = (QUEUED, RUNNING)

RERUN_SMART_ASSIGN = "rerun_smart_assign"
RECERTIFY = "recertify"
PREVIEW_SMART_ASSIGN = "preview_smart_assign"


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
    # (A re-run keeps one per part instead: ``JobPart.cursor``.)
    cursor: Mapped[str | None] = mapped_column(String(36))
    error: Mapped[str | None] = mapped_column(String(500))
    # Previews: the change looked at (``workers.preview_spec``) and, once done, the preview document.
    change: Mapped[dict | None] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)
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

    def finish(self, now):
        """Mark the job done; learners created while it ran are counted where it met them."""
        self.status, self.finished_at, self.updated_at = DONE, now, now
        self.total = max(self.total or 0, self.done)

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


class JobPart(Base):
    """One range of a job's learners (by id), worked through by one task at a time.

    A company re-run is split into parts so that several workers share it; each part
    commits its ``cursor`` and counts with every batch, in the same transaction as the
    batch and the job's ``done``, so a redelivered part resumes after its last batch.
    """

    __tablename__ = "job_parts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    # Learner ids after ``after`` (None: from the first) up to ``until`` inclusive (None: to the last).
    after: Mapped[str | None] = mapped_column(String(36))
    until: Mapped[str | None] = mapped_column(String(36))
    cursor: Mapped[str | None] = mapped_column(String(36))
    done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    added: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    finished_at: Mapped[object | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_job_parts_job_id", "job_id", "id"),)


def _iso(value):
    return value.isoformat(timespec="seconds") + "Z" if value else None
