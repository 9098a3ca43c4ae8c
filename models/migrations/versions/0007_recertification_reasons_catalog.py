"""Recertification and compliance: learner review dates, previous inputs on events,
recertification job counts, company lead time, per-company catalog

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 17:05:00

Existing learners get ``review_at`` = now: the first daily recertification
run looks at each of them once and stores the date it next needs to.
"""

import sqlalchemy as sa
from alembic import op

from models.db import Document

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("companies") as batch:
        batch.add_column(sa.Column("lead_days", sa.Integer(), server_default="30", nullable=False))
        batch.add_column(sa.Column("recertified_through", sa.DateTime(), nullable=True))
    with op.batch_alter_table("learners") as batch:
        batch.add_column(sa.Column("review_at", sa.DateTime(), nullable=True))
    op.create_index(
        "ix_learners_company_review",
        "learners",
        ["company_id", "review_at", "id"],
        sqlite_where=sa.text("review_at IS NOT NULL"),
        postgresql_where=sa.text("review_at IS NOT NULL"),
    )
    op.execute(
        sa.text("UPDATE learners SET review_at = CURRENT_TIMESTAMP WHERE active AND deleted_at IS NULL")
        if op.get_bind().dialect.name == "postgresql"
        else sa.text("UPDATE learners SET review_at = CURRENT_TIMESTAMP WHERE active = 1 AND deleted_at IS NULL")
    )
    with op.batch_alter_table("provisioning_events") as batch:
        batch.add_column(sa.Column("previous", Document, nullable=True))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("overdue", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("as_of", sa.DateTime(), nullable=True))
    op.create_index("ix_learner_trainings_company_completed", "learner_trainings", ["company_id", "completed_at"])
    op.create_table(
        "company_trainings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("cadence_months", sa.Integer(), nullable=True),
        sa.Column("due_days", sa.Integer(), nullable=True),
        sa.Column("custom", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_company_trainings_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_trainings")),
        sa.UniqueConstraint("company_id", "code", name="uq_company_trainings_company_code"),
    )


def downgrade():
    op.drop_table("company_trainings")
    op.drop_index("ix_learner_trainings_company_completed", table_name="learner_trainings")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("as_of")
        batch.drop_column("overdue")
    with op.batch_alter_table("provisioning_events") as batch:
        batch.drop_column("previous")
    op.drop_index("ix_learners_company_review", table_name="learners")
    with op.batch_alter_table("learners") as batch:
        batch.drop_column("review_at")
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("recertified_through")
        batch.drop_column("lead_days")
