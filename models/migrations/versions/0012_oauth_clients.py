"""OAuth 2.0 client credentials: clients, their secrets, and issued tokens in access_tokens

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 09:00:00

``oauth_clients`` and ``oauth_client_secrets`` (hashes only); ``access_tokens`` gets the
client and secret an issued token came from (NULL for static tokens), so one statement
still authenticates both kinds; ``companies`` gets "OAuth only" and the access-token
lifetime.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "oauth_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["companies.id"], name=op.f("fk_oauth_clients_company_id_companies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_oauth_clients_client_id")),
    )
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_clients_company_id"), ["company_id"], unique=False)
    op.create_table(
        "oauth_client_secrets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("display_prefix", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["oauth_clients.id"], name=op.f("fk_oauth_client_secrets_client_id_oauth_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_client_secrets")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_oauth_client_secrets_secret_hash")),
    )
    with op.batch_alter_table("oauth_client_secrets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_client_secrets_client_id"), ["client_id"], unique=False)
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oauth_client_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("oauth_secret_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_access_tokens_oauth_client_id_oauth_clients"), "oauth_clients", ["oauth_client_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_access_tokens_oauth_secret_id_oauth_client_secrets"),
            "oauth_client_secrets",
            ["oauth_secret_id"],
            ["id"],
        )
        batch_op.create_index(batch_op.f("ix_access_tokens_oauth_client_id"), ["oauth_client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_tokens_oauth_secret_id"), ["oauth_secret_id"], unique=False)
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("oauth_only", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("access_token_minutes", sa.Integer(), server_default="60", nullable=False))


def downgrade():
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_column("access_token_minutes")
        batch_op.drop_column("oauth_only")
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_tokens_oauth_secret_id"))
        batch_op.drop_index(batch_op.f("ix_access_tokens_oauth_client_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_access_tokens_oauth_secret_id_oauth_client_secrets"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("fk_access_tokens_oauth_client_id_oauth_clients"), type_="foreignkey")
        batch_op.drop_column("oauth_secret_id")
        batch_op.drop_column("oauth_client_id")
    with op.batch_alter_table("oauth_client_secrets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_client_secrets_client_id"))
    op.drop_table("oauth_client_secrets")
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_clients_company_id"))
    op.drop_table("oauth_clients")
