"""assignments and audit trail

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 12:59:11.157392
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():

    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("learner_id", sa.String(length=36), nullable=True),
        sa.Column("resource_type", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("token_name", sa.String(length=200), nullable=True),
        sa.Column("changes", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("outcome", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], name=op.f("fk_audit_events_company_id_companies")),
        sa.ForeignKeyConstraint(
            ["event_id"], ["provisioning_events.id"], name=op.f("fk_audit_events_event_id_provisioning_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_events_event_id")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_company_id", ["company_id", "id"], unique=False)
        batch_op.create_index("ix_audit_company_learner", ["company_id", "learner_id", "id"], unique=False)

    op.create_table(
        "learner_trainings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("learner_id", sa.String(length=36), nullable=False),
        sa.Column("family", sa.String(length=40), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("training_code", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_learner_trainings_company_id_companies")
        ),
        sa.ForeignKeyConstraint(["learner_id"], ["learners.id"], name=op.f("fk_learner_trainings_learner_id_learners")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learner_trainings")),
        sa.UniqueConstraint("learner_id", "family", "cycle", name="uq_learner_trainings_family_cycle"),
    )
    with op.batch_alter_table("learner_trainings", schema=None) as batch_op:
        batch_op.create_index("ix_learner_trainings_company_learner", ["company_id", "learner_id"], unique=False)


def downgrade():

    with op.batch_alter_table("learner_trainings", schema=None) as batch_op:
        batch_op.drop_index("ix_learner_trainings_company_learner")

    op.drop_table("learner_trainings")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_company_learner")
        batch_op.drop_index("ix_audit_company_id")

    op.drop_table("audit_events")
