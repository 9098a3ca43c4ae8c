"""The admin audit trail: who changed which company setting, with the values before and after."""

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, Document, utcnow


class SettingsChange(Base):
    """One change an admin (or an operator through the CLI) made to a company setting.

    ``setting`` names what changed (mapping, catalog, due_period, industry,
    group_rules, token, oauth_secret, ...); ``before`` and ``after`` hold the
    values, never a secret (a token is recorded by its name and id only).
    """

    __tablename__ = "settings_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    # Who: the admin's email as it was then (an admin removed later still reads right).
    actor: Mapped[str] = mapped_column(String(320))
    setting: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(String(300))
    before: Mapped[dict | None] = mapped_column(Document)
    after: Mapped[dict | None] = mapped_column(Document)
    occurred_at: Mapped[object] = mapped_column(DateTime, default=utcnow)

    # The activity page: newest first, per company.
    __table_args__ = (Index("ix_settings_changes_company_occurred", "company_id", "occurred_at", "id"),)
