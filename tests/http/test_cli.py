"""The operator CLI, exactly as the README documents it."""

from sqlalchemy import select

from models import AccessToken, Company


def last_line(result):
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def test_company_token_revoke_cycle(app, client, sessions):
    runner = app.test_cli_runner()
    company_id = int(last_line(runner.invoke(args=["companies", "create", "Initech", "--id", "42"])))
    assert company_id == 42
    # A later company without --id must not collide with the explicit one (PostgreSQL sequence).
    assert int(last_line(runner.invoke(args=["companies", "create", "Hooli"]))) > 42
    token = last_line(runner.invoke(args=["tokens", "create", "42", "--name", "Entra"]))
    with sessions() as s:
        row = s.scalars(select(AccessToken)).one()
        assert row.name == "Entra" and row.company_id == 42
        assert token not in (row.token_hash, row.display_prefix) and token.startswith(row.display_prefix)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/scim/v2/42/Users", headers=headers).status_code == 200
    out = runner.invoke(args=["tokens", "revoke", token[:12]])
    assert out.exit_code == 0, out.output
    assert client.get("/scim/v2/42/Users", headers=headers).status_code == 401


def test_revoke_by_id_and_unknown(app, sessions):
    runner = app.test_cli_runner()
    runner.invoke(args=["companies", "create", "Initech", "--id", "5"])
    runner.invoke(args=["tokens", "create", "5"])
    with sessions() as s:
        token_id = s.scalars(select(AccessToken.id)).one()
    assert runner.invoke(args=["tokens", "revoke", str(token_id)]).exit_code == 0
    missing = runner.invoke(args=["tokens", "revoke", "herd_nothing"])
    assert missing.exit_code != 0 and "no token matches" in missing.output


def test_token_for_missing_company_fails_clearly(app):
    result = app.test_cli_runner().invoke(args=["tokens", "create", "999"])
    assert result.exit_code != 0 and "no company 999" in result.output


def test_demo_prints_tenant_url_and_token_once(app, client, sessions):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0
    assert "SCIM tenant URL: https://herd.test/scim/v2/" in first.output
    token = first.output.strip().splitlines()[-1].split()[-1]
    with sessions() as s:
        company_id = s.scalars(select(Company.id)).one()
    assert client.get(f"/scim/v2/{company_id}/Users", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    again = runner.invoke(args=["demo"])
    assert "Companies exist already" in again.output


def test_db_upgrade_is_idempotent(app):
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "up to date" in result.output
