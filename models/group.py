"""Groups (SCIM Group resources), their members, and the Smart Assign rules that target them.

Membership is a table of its own, never a list inside a document: a group
may have 50,000 members, and adding or removing one must cost one indexed
row, whatever the size of the group.
"""

import uuid

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, utcnow
from models.normalize import key_default


def new_id():
    return str(uuid.uuid4())


class Group(Base):
    """One group of one company. DELETE removes the row and its memberships (no history to keep:
    the provisioning events and the audit trail record what the group was)."""

    __tablename__ = "groups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    display_name: Mapped[str] = mapped_column(String(300))
    # Lower-cased copy: the unique key and what displayName filters use.
    display_name_lower: Mapped[str] = mapped_column(String(300))
    # NFC + case folding (models.normalize.name_key): the unique key and what displayName filters use.
    display_name_key: Mapped[str] = mapped_column(String(900), default=key_default("display_name"))
    external_id: Mapped[str | None] = mapped_column(String(300))
    external_id_lower: Mapped[str | None] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[object] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[object] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        # displayName is unique per company after Unicode normalization and case folding:
        # the database settles a race between two POSTs (Entra retries a POST that timed out).
        UniqueConstraint("company_id", "display_name_key", name="uq_groups_company_display_name"),
        Index("ix_groups_company_external_id", "company_id", "external_id_lower"),
        Index("ix_groups_company_created", "company_id", "created_at", "id"),
    )


class GroupMember(Base):
    """One learner in one group. The primary key (group, learner) makes an add idempotent."""

    __tablename__ = "group_members"

    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    learner_id: Mapped[str] = mapped_column(ForeignKey("learners.id"), primary_key=True)
    added_at: Mapped[object] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        # A learner's groups (User reads, DELETE of a learner, Smart Assign rules).
        Index("ix_group_members_learner", "learner_id"),
    )


class GroupRule(Base):
    """A Smart Assign rule: every member of the group named ``group_name`` gets ``training_code``.

    Rules name the group (case-insensitively) rather than point at its id, so an
    operator can set a rule before Entra creates the group, and the rule follows
    the name the admin sees.
    """

    __tablename__ = "smart_assign_group_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    group_name: Mapped[str] = mapped_column(String(300))
    group_name_lower: Mapped[str] = mapped_column(String(300))
    training_code: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[object] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint(
            "company_id", "group_name_lower", "training_code", name="uq_smart_assign_group_rules_group_code"
        ),
    )
