"""dashboard: admins, jobs, scim_failures; activity index on audit_events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 13:04:21.351450
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "admins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], name=op.f("fk_admins_company_id_companies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admins")),
        sa.UniqueConstraint("email", name=op.f("uq_admins_email")),
    )
    with op.batch_alter_table("admins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admins_company_id"), ["company_id"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("added", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cursor", sa.String(length=36), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], name=op.f("fk_jobs_company_id_companies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_company_id", ["company_id", "id"], unique=False)

    op.create_table(
        "scim_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("scim_type", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.String(length=1000), nullable=True),
        sa.Column("token_name", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], name=op.f("fk_scim_failures_company_id_companies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_failures")),
    )
    with op.batch_alter_table("scim_failures", schema=None) as batch_op:
        batch_op.create_index("ix_scim_failures_company_occurred", ["company_id", "occurred_at", "id"], unique=False)
        batch_op.create_index("ix_scim_failures_company_resource", ["company_id", "resource_id"], unique=False)

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_company_occurred", ["company_id", "occurred_at", "id"], unique=False)

    # The dashboard's learner search: "starts with" on each name, served by an index per arm.
    op.create_index("ix_learners_company_username_all", "learners", ["company_id", "user_name_lower"])
    op.create_index("ix_learners_company_given_lower", "learners", ["company_id", sa.text("lower(given_name)")])
    op.create_index("ix_learners_company_family_lower", "learners", ["company_id", sa.text("lower(family_name)")])
    op.create_index("ix_learners_company_display_lower", "learners", ["company_id", sa.text("lower(display_name)")])


def downgrade():
    for name in (
        "ix_learners_company_display_lower",
        "ix_learners_company_family_lower",
        "ix_learners_company_given_lower",
        "ix_learners_company_username_all",
    ):
        op.drop_index(name, table_name="learners")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_company_occurred")

    with op.batch_alter_table("scim_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_scim_failures_company_resource")
        batch_op.drop_index("ix_scim_failures_company_occurred")

    op.drop_table("scim_failures")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_company_id")

    op.drop_table("jobs")
    with op.batch_alter_table("admins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admins_company_id"))

    op.drop_table("admins")
