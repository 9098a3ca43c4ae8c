"""A company's auth_version: bumped by the database whenever what authentication read may be stale

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 12:00:00

``companies.auth_version`` goes up, in the same transaction, whenever one of the company's
access tokens is revoked, re-dated, moved or deleted, or the company row itself changes
(settings, OAuth only, deletion of its tokens by the token endpoint). A web process keeps
the tokens it accepted with the version it read them under (``service/auth_cache.py``) and
reads only the version on the next request, in the request's own statement: a different
version sends it back to the full check. Triggers, not the application, do the bump, so
every way a row changes (the CLI, the dashboard, OAuth client removal, plain SQL) counts.
``last_used_at``, written once a minute per token, does not bump it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# The access token columns whose change may turn an accepted token away.
TOKEN_COLUMNS = ("company_id", "token_hash", "expires_at", "revoked_at", "oauth_client_id", "oauth_secret_id")


def upgrade():
    op.add_column("companies", sa.Column("auth_version", sa.BigInteger(), nullable=False, server_default="0"))
    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in TOKEN_COLUMNS)
        op.execute(
            "CREATE OR REPLACE FUNCTION herd_company_auth_changed() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN NEW.auth_version := OLD.auth_version + 1; RETURN NEW; END $$"
        )
        # Any real change of the company row (its settings are part of what is kept).
        op.execute(
            "CREATE TRIGGER companies_auth_version BEFORE UPDATE ON companies FOR EACH ROW "
            "WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION herd_company_auth_changed()"
        )
        op.execute(
            "CREATE OR REPLACE FUNCTION herd_token_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "UPDATE companies SET auth_version = auth_version + 1 WHERE id = OLD.company_id; "
            "IF TG_OP = 'UPDATE' AND NEW.company_id IS DISTINCT FROM OLD.company_id THEN "
            "UPDATE companies SET auth_version = auth_version + 1 WHERE id = NEW.company_id; END IF; "
            "RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER access_tokens_auth_version AFTER UPDATE ON access_tokens FOR EACH ROW "
            f"WHEN ({changed}) EXECUTE FUNCTION herd_token_auth_changed()"
        )
        op.execute(
            "CREATE TRIGGER access_tokens_auth_version_delete AFTER DELETE ON access_tokens FOR EACH ROW "
            "EXECUTE FUNCTION herd_token_auth_changed()"
        )
    else:
        # SQLite: no row comparison in WHEN; a company UPDATE that leaves the version as it
        # was bumps it (the bump's own UPDATE changes it, so it does not run again).
        op.execute(
            "CREATE TRIGGER companies_auth_version AFTER UPDATE ON companies FOR EACH ROW "
            "WHEN NEW.auth_version = OLD.auth_version BEGIN "
            "UPDATE companies SET auth_version = OLD.auth_version + 1 WHERE id = NEW.id; END"
        )
        op.execute(
            f"CREATE TRIGGER access_tokens_auth_version AFTER UPDATE OF {', '.join(TOKEN_COLUMNS)} "
            "ON access_tokens FOR EACH ROW BEGIN "
            "UPDATE companies SET auth_version = auth_version + 1 WHERE id IN (OLD.company_id, NEW.company_id); END"
        )
        op.execute(
            "CREATE TRIGGER access_tokens_auth_version_delete AFTER DELETE ON access_tokens FOR EACH ROW BEGIN "
            "UPDATE companies SET auth_version = auth_version + 1 WHERE id = OLD.company_id; END"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER access_tokens_auth_version_delete ON access_tokens")
        op.execute("DROP TRIGGER access_tokens_auth_version ON access_tokens")
        op.execute("DROP TRIGGER companies_auth_version ON companies")
        op.execute("DROP FUNCTION herd_token_auth_changed()")
        op.execute("DROP FUNCTION herd_company_auth_changed()")
    else:
        op.execute("DROP TRIGGER access_tokens_auth_version_delete")
        op.execute("DROP TRIGGER access_tokens_auth_version")
        op.execute("DROP TRIGGER companies_auth_version")
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("auth_version")
