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
    token_line = next(line for line in first.output.splitlines() if line.startswith("Secret token:"))
    token = token_line.split()[-1]
    with sessions() as s:
        company_id = s.scalars(select(Company.id)).one()
    assert client.get(f"/scim/v2/{company_id}/Users", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # Where to go next: the dashboard and how to get a sign-in for it, and how to stop.
    assert "Dashboard:       https://herd.test/dashboard/" in first.output
    assert f"make admin EMAIL=you@example.com COMPANY={company_id}" in first.output
    assert "Ctrl-C" in first.output

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    # A second `make run` repeats the tenant URL, never the token, and says how to get a new one.
    assert f"SCIM tenant URL https://herd.test/scim/v2/{company_id}" in again.output
    assert token not in again.output
    assert f"./herd tokens create {company_id}" in again.output
    assert "Dashboard:       https://herd.test/dashboard/" in again.output
    with sessions() as s:
        assert s.scalars(select(Company.id)).all() == [company_id]


def test_unreachable_database_is_one_line_without_password(settings):
    """A CLI command against a database that refuses connections: one line, no traceback, no password."""
    import dataclasses

    from service import create_app

    app = create_app(dataclasses.replace(settings, database_url="postgresql://herd:s3cret@127.0.0.1:1/herd"))
    result = app.test_cli_runner().invoke(args=["tokens", "create", "1"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: cannot reach the database at postgresql://herd:***@127.0.0.1:1/herd")
    assert "s3cret" not in result.output and "Traceback" not in result.output


def test_db_upgrade_is_idempotent(app):
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "up to date" in result.output


def _documented_commands():
    """Every `./herd ...` and `make ...` line in the README's and the guides' code blocks."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = set()
    for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for block in re.findall(r"```(?:sh)?\n(.*?)```", doc.read_text(), re.DOTALL):
            for line in block.splitlines():
                line = line.split("#")[0].strip()
                if line.startswith(("./herd ", "make ")):
                    found.add(line)
    return sorted(found)


def test_every_documented_command_exists(app):
    """The commands the docs show are real: each `./herd` command answers --help, each make target exists."""
    from pathlib import Path

    commands = _documented_commands()
    assert len(commands) >= 15
    from service.cli.doctor import attach
    from workers.cli import smart_assign_commands

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    app.cli.add_command(attach(smart_assign_commands(lambda: app.extensions["herd.sessions"])))  # as wsgi.py does
    runner = app.test_cli_runner()
    for line in commands:
        words = line.split()
        if words[0] == "make":
            assert f"\n{words[1]}:" in makefile, line
            continue
        # The command words come before the first argument (UPPER_CASE, a number, an option...).
        path = []
        for word in words[1:]:
            if not word.islower() or not word.replace("-", "").isalpha():
                break
            path.append(word)
        result = runner.invoke(args=[*path, "--help"])
        assert result.exit_code == 0, f"{line}: {result.output}"
        assert "Usage:" in result.output and " ".join(path) in result.output, line
