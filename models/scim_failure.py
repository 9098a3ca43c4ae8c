"""SCIM requests that failed, kept so an admin can see why Entra's provisioning log shows an error."""

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, utcnow
from models.event import EventId


class ScimFailure(Base):
    """One failed SCIM call: what was asked and what Herd answered. Never the token; the body
    only with its secrets replaced (``service.edge.failures.sanitised_body``)."""

    __tablename__ = "scim_failures"

    id: Mapped[int] = mapped_column(EventId, primary_key=True, autoincrement=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    method: Mapped[str] = mapped_column(String(10))
    # The path only: query strings can carry secrets and are dropped.
    path: Mapped[str] = mapped_column(String(500))
    # The learner id when the path names one (``/Users/{id}``), for the per-learner trail.
    resource_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[int] = mapped_column(Integer)
    scim_type: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(1000))
    # The token's name when the call authenticated (never the secret).
    token_name: Mapped[str | None] = mapped_column(String(200))
    # What the call sent (JSON), passwords and tokens replaced, bounded in size; None when
    # it sent no body or one that was not JSON.
    request_body: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[object] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        Index("ix_scim_failures_company_occurred", "company_id", "occurred_at", "id"),
        Index("ix_scim_failures_company_resource", "company_id", "resource_id"),
    )
