"""``./herd oauth-clients``: what an operator types, and the lines a script reads."""

import base64
from datetime import timedelta

from sqlalchemy import select

from models import OAuthSecret, utcnow


def run(app, *args):
    result = app.test_cli_runner().invoke(args=["oauth-clients", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()


def value(line, key):
    name, _, rest = line.partition(": ")
    assert name == key, line
    return rest


def token(client, client_id, secret):
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {auth}"}
    )


def scim(client, company_id, access_token):
    return client.get(f"/scim/v2/{company_id}/Users", headers={"Authorization": f"Bearer {access_token}"})


def test_create_prints_client_id_and_secret_last_and_they_work(app, client, tenant, sessions):
    lines = run(app, "create", str(tenant.id), "--name", "Entra gallery")
    client_id, secret = value(lines[-2], "client_id"), value(lines[-1], "client_secret")
    assert "https://herd.test/oauth/token" in "\n".join(lines)
    resp = token(client, client_id, secret)
    assert resp.status_code == 200
    assert scim(client, tenant.id, resp.get_json()["access_token"]).status_code == 200
    with sessions() as s:
        row = s.scalars(select(OAuthSecret)).one()
        # Two years by default, and only a hash is kept.
        assert timedelta(days=729) < row.expires_at - utcnow() <= timedelta(days=730)
        assert secret not in row.secret_hash and row.display_prefix == secret[:8]


def test_rotation_from_the_command_line(app, client, tenant):
    lines = run(app, "create", str(tenant.id), "--secret-days", "365")
    client_id, old = value(lines[-2], "client_id"), value(lines[-1], "client_secret")
    old_token = token(client, client_id, old).get_json()["access_token"]
    new = value(run(app, "add-secret", client_id, "--secret-days", "1095")[-1], "client_secret")
    assert token(client, client_id, new).status_code == 200 and token(client, client_id, old).status_code == 200
    listed = "\n".join(run(app, "list", str(tenant.id)))
    assert client_id in listed and old[:8] in listed and new[:8] in listed and old not in listed
    run(app, "revoke-secret", client_id, old[:8])
    assert token(client, client_id, old).status_code == 401
    assert scim(client, tenant.id, old_token).status_code == 401
    assert token(client, client_id, new).status_code == 200
    assert "revoked" in "\n".join(run(app, "list", str(tenant.id)))


def test_disable_refuses_the_client_and_its_tokens(app, client, tenant):
    lines = run(app, "create", str(tenant.id))
    client_id, secret = value(lines[-2], "client_id"), value(lines[-1], "client_secret")
    access = token(client, client_id, secret).get_json()["access_token"]
    run(app, "disable", client_id)
    assert scim(client, tenant.id, access).status_code == 401
    assert token(client, client_id, secret).status_code == 401
    assert "disabled" in "\n".join(run(app, "list", str(tenant.id)))


def test_oauth_only_and_lifetime(app, client, tenant):
    lines = run(app, "create", str(tenant.id))
    client_id, secret = value(lines[-2], "client_id"), value(lines[-1], "client_secret")
    run(app, "oauth-only", str(tenant.id), "--on", "--token-minutes", "120")
    assert tenant.get("Users").status_code == 401
    resp = token(client, client_id, secret)
    assert resp.get_json()["expires_in"] == 7200
    assert scim(client, tenant.id, resp.get_json()["access_token"]).status_code == 200
    # A static token made now says it will be refused; its last line is still the token.
    made = app.test_cli_runner().invoke(args=["tokens", "create", str(tenant.id)])
    assert "is OAuth only" in made.output
    static = made.output.strip().splitlines()[-1]
    assert scim(client, tenant.id, static).status_code == 401
    run(app, "oauth-only", str(tenant.id), "--off")
    assert tenant.get("Users").status_code == 200
    assert scim(client, tenant.id, static).status_code == 200


def test_mistakes_fail_clearly(app, tenant):
    runner = app.test_cli_runner()
    for args, said in [
        (["create", "999"], "no company 999"),
        (["create", str(tenant.id), "--secret-days", "30"], "365<=x<=1096"),
        (["create", str(tenant.id), "--secret-days", "2000"], "365<=x<=1096"),
        (["add-secret", "herdc_nothing"], "no client herdc_nothing"),
        (["revoke-secret", "herdc_nothing", "abc"], "no client herdc_nothing"),
        (["disable", "herdc_nothing"], "no client herdc_nothing"),
        (["oauth-only", str(tenant.id), "--token-minutes", "400"], "60<=x<=360"),
    ]:
        result = runner.invoke(args=["oauth-clients", *args])
        assert result.exit_code != 0 and said in result.output, (args, result.output)
    lines = run(app, "create", str(tenant.id))
    result = runner.invoke(args=["oauth-clients", "revoke-secret", value(lines[-2], "client_id"), "zzzzzzzzz"])
    assert result.exit_code != 0 and "starts with that" in result.output


def test_metrics_warn_of_secrets_expiring_within_30_days(app, client, tenant, sessions):
    run(app, "create", str(tenant.id), "--secret-days", "365")
    assert "herd_oauth_client_secrets_expiring 0.0" in client.get("/metrics").get_data(as_text=True)
    with sessions() as s:
        s.scalars(select(OAuthSecret)).one().expires_at = utcnow() + timedelta(days=29)
        s.commit()
    assert "herd_oauth_client_secrets_expiring 1.0" in client.get("/metrics").get_data(as_text=True)
