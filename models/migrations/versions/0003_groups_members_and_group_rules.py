"""groups members and group rules

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 13:04:04.960860
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "groups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=300), nullable=False),
        sa.Column("display_name_lower", sa.String(length=300), nullable=False),
        sa.Column("external_id", sa.String(length=300), nullable=True),
        sa.Column("external_id_lower", sa.String(length=300), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], name=op.f("fk_groups_company_id_companies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("company_id", "display_name_lower", name="uq_groups_company_display_name"),
    )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_index("ix_groups_company_created", ["company_id", "created_at", "id"], unique=False)
        batch_op.create_index("ix_groups_company_external_id", ["company_id", "external_id_lower"], unique=False)

    op.create_table(
        "smart_assign_group_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=300), nullable=False),
        sa.Column("group_name_lower", sa.String(length=300), nullable=False),
        sa.Column("training_code", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_smart_assign_group_rules_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smart_assign_group_rules")),
        sa.UniqueConstraint(
            "company_id", "group_name_lower", "training_code", name="uq_smart_assign_group_rules_group_code"
        ),
    )
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("learner_id", sa.String(length=36), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_group_members_group_id_groups"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["learner_id"], ["learners.id"], name=op.f("fk_group_members_learner_id_learners")),
        sa.PrimaryKeyConstraint("group_id", "learner_id", name=op.f("pk_group_members")),
    )
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.create_index("ix_group_members_learner", ["learner_id"], unique=False)


def downgrade():
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.drop_index("ix_group_members_learner")

    op.drop_table("group_members")
    op.drop_table("smart_assign_group_rules")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_index("ix_groups_company_external_id")
        batch_op.drop_index("ix_groups_company_created")

    op.drop_table("groups")
