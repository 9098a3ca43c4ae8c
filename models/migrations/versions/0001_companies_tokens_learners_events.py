"""companies tokens learners events

Revision ID: 0001
Revises:
Create Date: 2026-11-28 12:37:18.101172
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():

    op.create_table(
        "companies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("groups_enabled", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("extension_urn", sa.String(length=300), nullable=True),
        sa.Column("due_days", sa.Integer(), server_default="30", nullable=False),
        sa.Column("industry", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
    )
    op.create_table(
        "access_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("display_prefix", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], name=op.f("fk_access_tokens_company_id_companies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_access_tokens_token_hash")),
    )
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_tokens_company_id"), ["company_id"], unique=False)

    op.create_table(
        "learners",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("resource", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("user_name", sa.String(length=300), nullable=False),
        sa.Column("user_name_lower", sa.String(length=300), nullable=False),
        sa.Column("external_id_lower", sa.String(length=300), nullable=True),
        sa.Column("email_lower", sa.String(length=300), nullable=True),
        sa.Column("display_name", sa.String(length=300), nullable=True),
        sa.Column("given_name", sa.String(length=200), nullable=True),
        sa.Column("family_name", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("region", sa.String(length=10), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("role", sa.String(length=100), nullable=True),
        sa.Column("training_tags", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], name=op.f("fk_learners_company_id_companies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learners")),
    )
    with op.batch_alter_table("learners", schema=None) as batch_op:
        batch_op.create_index("ix_learners_company_active", ["company_id", "active"], unique=False)
        batch_op.create_index("ix_learners_company_created", ["company_id", "created_at", "id"], unique=False)
        batch_op.create_index("ix_learners_company_email", ["company_id", "email_lower"], unique=False)
        batch_op.create_index("ix_learners_company_external_id", ["company_id", "external_id_lower"], unique=False)
        batch_op.create_index(
            "uq_learners_company_username",
            ["company_id", "user_name_lower"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "provisioning_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("resource_type", sa.String(length=20), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("changes", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("token_name", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("processed_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_provisioning_events_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provisioning_events")),
    )
    with op.batch_alter_table("provisioning_events", schema=None) as batch_op:
        batch_op.create_index("ix_events_company_resource", ["company_id", "resource_id", "id"], unique=False)
        batch_op.create_index(
            "ix_events_pending",
            ["created_at"],
            unique=False,
            sqlite_where=sa.text("processed_at IS NULL"),
            postgresql_where=sa.text("processed_at IS NULL"),
        )


def downgrade():

    with op.batch_alter_table("provisioning_events", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_events_pending",
            sqlite_where=sa.text("processed_at IS NULL"),
            postgresql_where=sa.text("processed_at IS NULL"),
        )
        batch_op.drop_index("ix_events_company_resource")

    op.drop_table("provisioning_events")
    with op.batch_alter_table("learners", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_learners_company_username",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index("ix_learners_company_external_id")
        batch_op.drop_index("ix_learners_company_email")
        batch_op.drop_index("ix_learners_company_created")
        batch_op.drop_index("ix_learners_company_active")

    op.drop_table("learners")
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_tokens_company_id"))

    op.drop_table("access_tokens")
    op.drop_table("companies")
