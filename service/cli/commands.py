"""Operator commands: ``./herd companies|tokens|db|demo ...`` (``./herd`` runs ``flask --app wsgi``)."""

import functools
import os
from datetime import timedelta

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import or_, select
from sqlalchemy.exc import OperationalError

from models import AccessToken, Company, utcnow
from models.attribute_mapping import DEFAULT_MAPPING
from models.migrate import upgrade
from service import current
from service.cli.admins import admins
from service.cli.dry_run import dry_run_option, show_dry_run
from service.cli.preflight import describe_database_error
from service.cli.session import cli_session, company_id_argument, company_or_exit
from service.company import group_rules, mapping, settings_log
from service.company.settings_log import CLI_ACTOR
from service.company.tenant import create_company, tenant_url

companies = AppGroup("companies", help="Create and configure companies (tenants).")
tokens = AppGroup("tokens", help="Create and revoke company access tokens.")
database = AppGroup("db", help="Database migrations.")


@companies.command("create")
@click.argument("name")
@click.option("--id", "company_id", type=int, help="Use this company id (the number in the tenant URL).")
def companies_create(name, company_id):
    """Create a company; prints its id as the last line."""
    with cli_session() as session:
        if company_id is not None and session.get(Company, company_id):
            raise click.ClickException(f"company {company_id} already exists")
        company = create_company(session, name, company_id)
        session.commit()
        click.echo(f"Tenant URL: {tenant_url(company.id)}")
        click.echo(company.id)


@companies.command("groups")
@company_id_argument
@click.option("--enable/--disable", "enable", default=None, help="Turn group provisioning on or off.")
def companies_groups(company_id, enable):
    """Turn SCIM group provisioning on or off for a company (off by default).

    While off, /Groups answers 501 saying so; groups stored earlier are kept, unseen.
    """
    if enable is None:
        raise click.UsageError("say --enable or --disable")
    with cli_session() as session:
        company = company_or_exit(session, company_id)
        was, company.groups_enabled = bool(company.groups_enabled), enable
        settings_log.record(
            session,
            company_id,
            CLI_ACTOR,
            "groups",
            "Group provisioning turned " + ("on" if enable else "off"),
            {"enabled": was},
            {"enabled": enable},
        )
        session.commit()
        state = "enabled" if enable else "disabled"
        click.echo(f"Group provisioning {state} for company {company_id} ({company.name}).")


@companies.command("group-rule")
@company_id_argument
@click.argument("group_name")
@click.argument("training_code")
@click.option("--remove", is_flag=True, help="Remove the rule instead of adding it.")
@dry_run_option
def companies_group_rule(company_id, group_name, training_code, remove, dry_run):
    """Smart Assign: every member of GROUP_NAME gets TRAINING_CODE (e.g. Managers HP-ALL-SUP)."""
    if dry_run:
        return show_dry_run(company_id, {"drop_rule" if remove else "rule": [f"{group_name}={training_code}"]})
    with cli_session() as session:
        company_or_exit(session, company_id)
        if remove:
            found = group_rules.remove_rule(session, company_id, group_name, training_code)
            if found:
                rule_text = {"group": group_name, "training_code": training_code.upper()}
                settings_log.record(
                    session, company_id, CLI_ACTOR, "group_rules", "Group rule removed", rule_text, None
                )
            session.commit()
            click.echo(f"Rule removed: {group_name} -> {training_code}." if found else "No such rule.")
            return
        try:
            rule, created = group_rules.add_rule(session, company_id, group_name, training_code)
        except group_rules.RuleError as exc:
            raise click.ClickException(str(exc)) from None
        if created:
            rule_text = {"group": rule.group_name, "training_code": rule.training_code}
            settings_log.record(session, company_id, CLI_ACTOR, "group_rules", "Group rule added", None, rule_text)
        session.commit()
        click.echo(f"Rule {'added' if created else 'exists'}: members of '{rule.group_name}' get {rule.training_code}.")
        click.echo(
            f"New group events apply it; to apply it to current members now, run ./herd smart-assign rerun {company_id}"
        )


@companies.command("mapping")
@company_id_argument
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="INPUT=SOURCE,SOURCE",
    help="Ordered sources for one input, e.g. role=extension:learnerRole,easyllamaRole,title.",
)
@click.option("--reset", "resets", multiple=True, metavar="INPUT", help="Back to the default sources of INPUT.")
@click.option("--reset-all", is_flag=True, help="Back to the defaults for every input.")
@dry_run_option
def companies_mapping(company_id, assignments, resets, reset_all, dry_run):
    """Show or change where Smart Assign reads each input (state, country, location, role, ...).

    Sources: extension:NAME (the learner extension under any URN), enterprise:NAME,
    addresses[type eq "work"].NAME, or a top-level attribute NAME. The first source
    with a value wins.
    """
    if dry_run:
        names = list(mapping.INPUTS) if reset_all else list(resets)
        defaults = [f"{n}={','.join(DEFAULT_MAPPING[n])}" for n in names if n in DEFAULT_MAPPING]
        return show_dry_run(company_id, {"source": [*defaults, *assignments]})
    with cli_session() as session:
        company = company_or_exit(session, company_id)
        changed, was = False, mapping.effective_of(company)
        try:
            if reset_all:
                changed |= mapping.reset(company)
            for name in resets:
                if name not in mapping.INPUTS:
                    raise mapping.MappingError(f"Unknown input '{name}': the inputs are {', '.join(mapping.INPUTS)}.")
                changed |= mapping.reset(company, name)
            for assignment in assignments:
                name, sep, sources = assignment.partition("=")
                if not sep:
                    raise mapping.MappingError(f"'{assignment}': write INPUT=SOURCE,SOURCE")
                changed |= mapping.set_sources(company, name.strip(), mapping.parse_list(sources))
        except mapping.MappingError as exc:
            raise click.ClickException(str(exc)) from None
        if changed:
            summary = "Attribute mapping changed"
            if reset_all and not assignments:
                summary = "Attribute mapping reset to the defaults"
            settings_log.record(session, company_id, CLI_ACTOR, "mapping", summary, was, mapping.effective_of(company))
        session.commit()
        for name, _label, sources, default in mapping.rows(company):
            marker = " (default)" if default else ""
            click.echo(f"{name}{marker}: {' | '.join(sources) if sources else '(not read)'}")
        if changed:
            click.echo(
                "Mapping saved: learners written from now on use it. To re-read every stored learner and "
                f"re-run Smart Assign now: ./herd smart-assign rerun {company_id}"
            )


@companies.command("group-rules")
@company_id_argument
def companies_group_rules(company_id):
    """List a company's Smart Assign group rules."""
    with cli_session() as session:
        rules = group_rules.list_rules(session, company_id)
        for rule in rules:
            click.echo(f"{rule.group_name}\t{rule.training_code}")
        if not rules:
            click.echo("No group rules.")


@companies.command("rate-limit")
@company_id_argument
@click.option("--per-second", type=click.IntRange(min=0), help="Requests per second (burst); 0: no limit.")
@click.option("--per-minute", type=click.IntRange(min=0), help="Requests per minute; 0: no limit.")
@click.option("--default", "use_default", is_flag=True, help="Go back to the installation's defaults.")
def companies_rate_limit(company_id, per_second, per_minute, use_default):
    """Show or set a company's rate limit on SCIM and /api/v1 (both count against one budget).

    Takes effect within a few seconds (each web process caches it briefly).
    """
    settings = current.settings()
    with cli_session() as session:
        company = company_or_exit(session, company_id)
        if use_default:
            company.rate_limit_per_second = company.rate_limit_per_minute = None
        if per_second is not None:
            company.rate_limit_per_second = per_second
        if per_minute is not None:
            company.rate_limit_per_minute = per_minute
        session.commit()

        def show(value, default):
            value = default if value is None else value
            return "no limit" if value == 0 else str(value)

        click.echo(
            f"Company {company_id} ({company.name}): "
            f"{show(company.rate_limit_per_second, settings.rate_limit_per_second)} per second, "
            f"{show(company.rate_limit_per_minute, settings.rate_limit_per_minute)} per minute"
            + (" (defaults)" if company.rate_limit_per_second is None and company.rate_limit_per_minute is None else "")
        )


@tokens.command("create")
@company_id_argument
@click.option("--name", default="Entra ID provisioning", show_default=True)
@click.option("--expires-days", type=int, default=None, help="Expire the token after this many days.")
def tokens_create(company_id, name, expires_days):
    """Create an access token; prints the token (shown once) as the last line."""
    with cli_session() as session:
        company = company_or_exit(session, company_id)
        if company.oauth_only:
            click.echo(f"Company {company_id} is OAuth only: this token is refused until that is switched off.")
        expires = utcnow() + timedelta(days=expires_days) if expires_days else None
        row, secret = AccessToken.issue(company_id, name, expires)
        session.add(row)
        session.flush()  # the token's id, for the trail
        summary = f"Access token “{row.name}” created"
        settings_log.record(session, company_id, CLI_ACTOR, "token", summary, None, settings_log.token_values(row))
        session.commit()
        click.echo(f"Token {row.id} ({row.display_prefix}...) for company {company_id}; it will not be shown again.")
        click.echo(secret)


@tokens.command("revoke")
@click.argument("token_prefix_or_id")
def tokens_revoke(token_prefix_or_id):
    """Revoke a token by its id or its first characters; takes effect on the next request."""
    with cli_session() as session:
        cond = AccessToken.display_prefix.startswith(token_prefix_or_id)
        if token_prefix_or_id.isdigit():
            cond = or_(cond, AccessToken.id == int(token_prefix_or_id))
        found = session.scalars(select(AccessToken).where(cond)).all()
        if not found:
            raise click.ClickException("no token matches")
        if len(found) > 1:
            raise click.ClickException(f"{len(found)} tokens match; give more characters or the id")
        token = found[0]
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            summary = f"Access token “{token.name}” revoked"
            described = settings_log.token_values(token)
            settings_log.record(session, token.company_id, CLI_ACTOR, "token", summary, described, None)
            session.commit()
        click.echo(f"Token {token.id} ({token.display_prefix}...) revoked.")


@database.command("upgrade")
def db_upgrade():
    """Apply the Alembic migrations to DATABASE_URL."""
    upgrade(current.settings().database_url)
    click.echo("Database is up to date.")


@click.command("demo")
@with_appcontext
def demo():
    """Create a demo company and token on the first run; on every run, print where everything is."""
    with cli_session() as session:
        existing = session.execute(select(Company.id, Company.name).order_by(Company.id).limit(5)).all()
        if not existing:
            company = create_company(session, "Demo Company")
            row, secret = AccessToken.issue(company.id, "Demo token")
            session.add(row)
            session.commit()
            click.echo(f"Demo company {company.id} created.")
            click.echo(f"SCIM tenant URL: {tenant_url(company.id)}")
            click.echo(f"Secret token:    {secret}")
            first_id = company.id
        else:
            for company_id, name in existing:
                click.echo(f"Company {company_id} ({name}): SCIM tenant URL {tenant_url(company_id)}")
            first_id = existing[0][0]
            click.echo(
                "Tokens are shown only when created. For a new one: "
                f"./herd tokens create {first_id}  (or the dashboard: Settings > Integrations > API)."
            )
    base = current.settings().public_base_url
    click.echo(f"Dashboard:       {base}/dashboard/  (sign-in: make admin EMAIL=you@example.com COMPANY={first_id})")
    click.echo(f"Flower:          http://127.0.0.1:{os.environ.get('FLOWER_PORT') or 5555}/")
    click.echo("Stop:            Ctrl-C in this terminal stops every process.")
    if not base.startswith("https://"):
        click.echo("Entra needs a public https:// tenant URL: see docs/entra.md, 'Reach Herd over HTTPS'.")


def _one_line_database_errors(command):
    """Make ``command`` (and its subcommands) answer an unreachable database with one line."""
    for sub in getattr(command, "commands", {}).values():
        _one_line_database_errors(sub)
    callback = command.callback
    if callback is None or getattr(callback, "herd_wrapped", False):
        return

    @functools.wraps(callback)
    def wrapper(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except OperationalError as exc:
            raise click.ClickException(describe_database_error(exc, current.settings().database_url)) from None

    wrapper.herd_wrapped = True
    command.callback = wrapper


def register_cli(app):
    """Attach the operator commands to the app."""
    from service.cli.catalog import catalog
    from service.cli.oauth_clients import oauth_clients_cli
    from service.cli.webhooks import webhooks_cli

    for group in (companies, tokens, database, demo, admins, catalog, oauth_clients_cli, webhooks_cli):
        _one_line_database_errors(group)
        app.cli.add_command(group)
