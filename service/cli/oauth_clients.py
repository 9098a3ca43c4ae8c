"""``./herd oauth-clients ...``: OAuth clients and secrets of a company, for operators.

Commands that create a secret print it (shown once) as their last line, ``client_secret: ...``;
``create`` prints ``client_id: ...`` just before it, so scripts can read both.
"""

import click
from flask.cli import AppGroup

from service import current
from service.cli.session import cli_session, company_id_argument, company_or_exit
from service.company import settings_log
from service.oauth import clients as oauth_clients
from service.oauth.clients import SECRET_DAYS_DEFAULT, SECRET_DAYS_MAX, SECRET_DAYS_MIN, ClientError

oauth_clients_cli = AppGroup(
    "oauth-clients", help="OAuth 2.0 clients (client credentials) of a company, and their secrets."
)
_DAYS = click.IntRange(SECRET_DAYS_MIN, SECRET_DAYS_MAX)


def _token_url():
    return f"{current.settings().public_base_url}/oauth/token"


def _fail(exc):
    raise click.ClickException(str(exc)) from None


def _logged(session, company_id, summary, before=None, after=None):
    """Record an OAuth change in the admin trail, as the dashboard's (names and prefixes only)."""
    settings_log.record(session, company_id, settings_log.CLI_ACTOR, "oauth", summary, before, after)


@oauth_clients_cli.command("create")
@company_id_argument
@click.option("--name", default="Entra ID provisioning", show_default=True)
@click.option(
    "--secret-days", type=_DAYS, default=SECRET_DAYS_DEFAULT, show_default=True, help="Days the secret is valid."
)
def create(company_id, name, secret_days):
    """Create a client with one secret; the last two lines are client_id and client_secret."""
    with cli_session() as session:
        try:
            client, secret, plain = oauth_clients.create_client(session, company_id, name, secret_days)
        except ClientError as exc:
            _fail(exc)
        created = {"client_id": client.client_id, "name": client.name}
        _logged(session, company_id, f"OAuth client “{client.name}” created", None, created)
        session.commit()
        click.echo(f"Client “{client.name}” for company {company_id}; the secret will not be shown again.")
        click.echo(f"Token endpoint: {_token_url()}")
        click.echo(f"Secret {secret.display_prefix}… expires {secret.expires_at:%Y-%m-%d}.")
        click.echo(f"client_id: {client.client_id}")
        click.echo(f"client_secret: {plain}")


@oauth_clients_cli.command("add-secret")
@click.argument("client_id")
@click.option(
    "--secret-days", type=_DAYS, default=SECRET_DAYS_DEFAULT, show_default=True, help="Days the secret is valid."
)
def add_secret(client_id, secret_days):
    """Add a secret to a client (its other secrets keep working); the last line is client_secret."""
    with cli_session() as session:
        try:
            client = oauth_clients.find_client(session, client_id)
            secret, plain = oauth_clients.add_secret(session, client, secret_days)
        except ClientError as exc:
            _fail(exc)
        summary = f"Secret added to OAuth client “{client.name}”"
        _logged(session, client.company_id, summary, None, {"prefix": secret.display_prefix})
        session.commit()
        click.echo(
            f"Secret {secret.display_prefix}… added to {client.client_id}; expires {secret.expires_at:%Y-%m-%d}."
        )
        click.echo(f"client_secret: {plain}")


@oauth_clients_cli.command("revoke-secret")
@click.argument("client_id")
@click.argument("secret_prefix")
def revoke_secret(client_id, secret_prefix):
    """Revoke a secret by its first characters; the tokens it obtained stop working at once."""
    with cli_session() as session:
        try:
            client = oauth_clients.find_client(session, client_id)
            secret = oauth_clients.revoke_secret(session, client, secret_prefix)
        except ClientError as exc:
            _fail(exc)
        summary = f"Secret of OAuth client “{client.name}” revoked"
        _logged(session, client.company_id, summary, {"prefix": secret.display_prefix}, None)
        session.commit()
        click.echo(f"Secret {secret.display_prefix}… of {client.client_id} revoked.")


@oauth_clients_cli.command("disable")
@click.argument("client_id")
def disable(client_id):
    """Disable a client: its secrets and every token it obtained stop working at once."""
    with cli_session() as session:
        try:
            client = oauth_clients.find_client(session, client_id)
        except ClientError as exc:
            _fail(exc)
        if client.enabled:
            before = {"client_id": client.client_id, "enabled": True}
            _logged(session, client.company_id, f"OAuth client “{client.name}” disabled", before, None)
        oauth_clients.disable_client(session, client)
        session.commit()
        click.echo(f"Client {client.client_id} disabled.")


@oauth_clients_cli.command("list")
@company_id_argument
def list_clients(company_id):
    """A company's clients and their secrets (first characters, expiry, status), tab-separated."""
    with cli_session() as session:
        company = company_or_exit(session, company_id)
        mode = "OAuth only" if company.oauth_only else "OAuth and static tokens"
        click.echo(
            f"Company {company_id} ({company.name}): {mode}; access tokens live {company.access_token_minutes} min."
        )
        clients = oauth_clients.clients_of(session, company_id)
        if not clients:
            click.echo("No OAuth clients.")
        for client in clients:
            state = "enabled" if client.enabled else "disabled"
            click.echo(f"{client.client_id}\t{state}\t{client.name}")
            for secret in client.secrets:
                click.echo(f"  {secret.display_prefix}\t{secret.expires_at:%Y-%m-%d}\t{secret.status}")


@oauth_clients_cli.command("oauth-only")
@company_id_argument
@click.option("--on/--off", "on", default=None, help="Refuse static tokens (on) or accept them again (off).")
@click.option(
    "--token-minutes", type=click.IntRange(60, 360), default=None, help="Access-token lifetime (60 to 360 minutes)."
)
def oauth_only(company_id, on, token_minutes):
    """Set a company's "OAuth only" mode and access-token lifetime."""
    with cli_session() as session:
        company = company_or_exit(session, company_id)
        was = {"oauth_only": bool(company.oauth_only), "token_minutes": company.access_token_minutes}
        if on is not None:
            oauth_clients.set_oauth_only(session, company, on)
        if token_minutes is not None:
            oauth_clients.set_token_minutes(session, company, token_minutes)
        now = {"oauth_only": bool(company.oauth_only), "token_minutes": company.access_token_minutes}
        _logged(session, company_id, "OAuth settings changed", was, now)
        session.commit()
        mode = "OAuth only: static tokens are refused" if company.oauth_only else "static tokens are accepted"
        click.echo(f"Company {company_id}: {mode}; access tokens live {company.access_token_minutes} minutes.")
