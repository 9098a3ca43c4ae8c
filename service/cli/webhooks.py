"""``./herd webhooks ...``: a company's webhook endpoints, for operators.

``create`` prints the signing secret (shown once, the Standard Webhooks ``whsec_...`` form)
as its last line, ``secret: ...``, so scripts can read it.
"""

import click
from flask.cli import AppGroup

from service import current
from service.cli.session import cli_session, company_id_argument, company_or_exit
from service.webhooks import endpoints as hooks

webhooks_cli = AppGroup("webhooks", help="Webhook endpoints of a company: signed events to other services.")


def _fail(exc):
    raise click.ClickException(str(exc)) from None


@webhooks_cli.command("create")
@company_id_argument
@click.argument("url")
@click.option("--events", default="", help="Event types, comma-separated (default: every type).")
def create(company_id, url, events):
    """Add an endpoint; the last line is its signing secret."""
    with cli_session() as session:
        company_or_exit(session, company_id)
        try:
            endpoint, secret = hooks.create_endpoint(session, company_id, url, events, current.settings())
        except hooks.WebhookError as exc:
            _fail(exc)
        session.commit()
        click.echo(f"Webhook endpoint {endpoint.id} for company {company_id}: {endpoint.url}")
        click.echo(f"Events: {', '.join(hooks.describe(endpoint)['events'])}")
        click.echo("The secret will not be shown again.")
        click.echo(f"secret: {secret}")


@webhooks_cli.command("list")
@company_id_argument
def list_endpoints(company_id):
    """The company's endpoints: id, state, URL and events."""
    with cli_session() as session:
        company_or_exit(session, company_id)
        rows = hooks.endpoints_of(session, company_id)
        if not rows:
            click.echo(f"Company {company_id} has no webhook endpoints.")
        for endpoint in rows:
            shown = hooks.describe(endpoint)
            state = "enabled" if endpoint.enabled else f"disabled ({endpoint.disabled_reason})"
            click.echo(f"{endpoint.id}  {state}  {endpoint.url}  {', '.join(shown['events'])}")


@webhooks_cli.command("disable")
@company_id_argument
@click.argument("endpoint_id", type=int)
def disable(company_id, endpoint_id):
    """Stop deliveries to an endpoint (what is owed waits until it is enabled again)."""
    with cli_session() as session:
        company_or_exit(session, company_id)
        try:
            endpoint = hooks.find_endpoint(session, company_id, endpoint_id)
        except hooks.WebhookError as exc:
            _fail(exc)
        hooks.disable(endpoint, "Disabled by an operator.")
        session.commit()
        click.echo(f"Webhook endpoint {endpoint_id} disabled.")
