"""Learners: the SCIM User resource as received, plus columns extracted for lookups."""

import uuid

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, Document, utcnow
from models.normalize import key_default


def new_id():
    return str(uuid.uuid4())


class Learner(Base):
    """One learner of one company. Never erased: DELETE sets ``deleted_at``."""

    __tablename__ = "learners"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    # The SCIM resource as received (minus id/meta/schemas): what makes read-back exact.
    resource: Mapped[dict] = mapped_column(Document)

    user_name: Mapped[str] = mapped_column(String(300))
    user_name_lower: Mapped[str] = mapped_column(String(300))
    # NFC + case folding (models.normalize.name_key): the unique key and what userName
    # filters compare. Folding may lengthen a name ("ß" -> "ss"), hence the width.
    user_name_key: Mapped[str] = mapped_column(String(900), default=key_default("user_name"))
    external_id_lower: Mapped[str | None] = mapped_column(String(300))
    email_lower: Mapped[str | None] = mapped_column(String(300))
    display_name: Mapped[str | None] = mapped_column(String(300))
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deleted_at: Mapped[object | None] = mapped_column(DateTime)

    # Normalized for Smart Assign (the raw values stay in ``resource``).
    region: Mapped[str | None] = mapped_column(String(10))  # ISO 3166-2, e.g. US-CA
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    location: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(100))  # learnerRole as sent
    training_tags: Mapped[list] = mapped_column(Document, default=list)
    department: Mapped[str | None] = mapped_column(String(300))
    # The SCIM ``title`` attribute as sent (a job title), for the dashboard's list and CSV.
    title: Mapped[str | None] = mapped_column(String(300))
    # Which source of the company's attribute mapping gave each input: {"role": "easyllamaRole", ...}.
    attribute_sources: Mapped[dict | None] = mapped_column(Document)

    # The enterprise manager reference as sent (case folded) and the learner it names in the
    # same company (models/managers.py); the id stays while the manager is deactivated.
    manager_ref: Mapped[str | None] = mapped_column(String(300))
    manager_id: Mapped[str | None] = mapped_column(String(36))

    # When Smart Assign must look at this learner again without any change
    # (a due date passes, a completion nears expiry); None: nothing pending.
    # The daily recertification task selects learners by it, nothing else.
    review_at: Mapped[object | None] = mapped_column(DateTime)

    # What the learner owes (the latest cycle of each family, not archived or withdrawn: the
    # compliance report's rows), counted by status; kept by models/learner_standing.py on every
    # flush that writes an assignment, so the report counts learners and ranks managers from
    # this table alone. Whether a completion has expired depends on the day: not stored.
    owed_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    owed_in_progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    owed_overdue: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    owed_completed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[object] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[object] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        # userName uniqueness per company among learners not deleted, after Unicode
        # normalization and case folding: the database, not the application, settles
        # a race between two POSTs.
        Index(
            "uq_learners_company_username",
            "company_id",
            "user_name_key",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_learners_company_external_id", "company_id", "external_id_lower", "created_at", "id"),
        Index("ix_learners_company_email", "company_id", "email_lower", "created_at", "id"),
        Index("ix_learners_company_created", "company_id", "created_at", "id"),
        Index("ix_learners_company_active", "company_id", "active"),
        Index("ix_learners_company_manager", "company_id", "manager_id"),
        Index("ix_learners_company_manager_ref", "company_id", "manager_ref"),
        Index(
            "ix_learners_company_review",
            "company_id",
            "review_at",
            "id",
            sqlite_where=text("review_at IS NOT NULL"),
            postgresql_where=text("review_at IS NOT NULL"),
        ),
        # The dashboard's search ("starts with", any case) over 100k learners: one index per arm.
        Index("ix_learners_company_username_all", "company_id", "user_name_key"),
        Index("ix_learners_company_given_lower", "company_id", func.lower(text("given_name"))),
        Index("ix_learners_company_family_lower", "company_id", func.lower(text("family_name"))),
        Index("ix_learners_company_display_lower", "company_id", func.lower(text("display_name"))),
        # The dashboard's sorted list (service/dashboard/learner_sort.py): one index per sort key,
        # its expression exactly as the query spells it; the id settles ties and is the cursor.
        Index("ix_learners_sort_name", "company_id", text("lower(coalesce(display_name, user_name))"), "id"),
        Index("ix_learners_sort_department", "company_id", text("coalesce(department, '')"), "id"),
        Index("ix_learners_sort_title", "company_id", text("coalesce(title, '')"), "id"),
        Index("ix_learners_sort_region", "company_id", text("coalesce(region, country, '')"), "id"),
    )
