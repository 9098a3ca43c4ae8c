"""Provisioning events: the outbox written in the same transaction as every SCIM write."""

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, Document, utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class ProvisioningEvent(Base):
    """What changed, before and after, and which token did it; ``processed_at`` marks it done."""

    __tablename__ = "provisioning_events"

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    resource_type: Mapped[str] = mapped_column(String(20), default="User")
    resource_id: Mapped[str | None] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(30))
    # {"attribute": {"before": ..., "after": ...}} for the attributes that changed.
    changes: Mapped[dict] = mapped_column(Document, default=dict)
    # The learner's Smart Assign inputs before the change (None for a creation);
    # read by the SCIM store before it writes (models.previous_inputs), so the worker can say why.
    previous: Mapped[dict | None] = mapped_column(Document)
    token_id: Mapped[int | None] = mapped_column(Integer)
    token_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[object] = mapped_column(DateTime, default=utcnow)
    processed_at: Mapped[object | None] = mapped_column(DateTime)
    # Set by the outbox relay (workers/relay.py) once the task message is with the broker.
    published_at: Mapped[object | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_events_company_resource", "company_id", "resource_id", "id"),
        # The relay scans only what is still owed.
        Index(
            "ix_events_pending",
            "created_at",
            sqlite_where=text("processed_at IS NULL"),
            postgresql_where=text("processed_at IS NULL"),
        ),
        # The outbox relay's queue: committed events whose message is not yet published.
        Index(
            "ix_events_unpublished",
            "id",
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
    )
