"""The audit trail of SCIM changes: one entry per change, with its Smart Assign outcome."""

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, Document, utcnow
from models.event import EventId


class AuditEvent(Base):
    """One entry per SCIM change, written by the worker with its Smart Assign outcome."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    # Unique: a redelivered event can never write a second entry.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("provisioning_events.id"), unique=True)
    learner_id: Mapped[str | None] = mapped_column(String(36))
    resource_type: Mapped[str] = mapped_column(String(20), default="User")
    action: Mapped[str] = mapped_column(String(30))
    token_name: Mapped[str | None] = mapped_column(String(200))
    changes: Mapped[dict] = mapped_column(Document, default=dict)
    outcome: Mapped[dict] = mapped_column(Document, default=dict)
    occurred_at: Mapped[object] = mapped_column(DateTime)
    recorded_at: Mapped[object] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        Index("ix_audit_company_id", "company_id", "id"),
        Index("ix_audit_company_learner", "company_id", "learner_id", "id"),
        # The dashboard's activity page: newest first by time, merged with failed SCIM calls.
        Index("ix_audit_company_occurred", "company_id", "occurred_at", "id"),
    )
