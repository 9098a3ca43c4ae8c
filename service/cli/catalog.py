"""``./herd catalog list|set|add|reset|lead-days|company``: a company's training catalog and the
settings that choose from it (lead time, due period, industry)."""

import click
from flask.cli import AppGroup

from models.catalog import by_code, legal_cadence
from models.company_training import company_catalog
from service.cli.dry_run import dry_run_option, show_dry_run
from service.cli.session import cli_session, company_id_argument, company_or_exit
from service.company import catalog_edit, settings_log
from service.company.settings_log import CLI_ACTOR

catalog = AppGroup("catalog", help="A company's training catalog: cadence, due period, own trainings.")


def _cadence(value):
    return f"every {value} months" if value else "once"


@catalog.command("list")
@company_id_argument
def catalog_list(company_id):
    """List the company's catalog: code, cadence, due period, title."""
    with cli_session() as session:
        company_or_exit(session, company_id)
        for t in company_catalog(session, company_id):
            due = f"{t.due_days} days" if t.due_days else "company default"
            click.echo(f"{t.code}\t{_cadence(t.cadence_months)}\tdue {due}\t{t.title}")


def _apply(fn):
    with cli_session() as session:
        try:
            result = fn(session)
        except catalog_edit.CatalogError as exc:
            raise click.ClickException(str(exc)) from None
        session.commit()
        return result


@catalog.command("set")
@company_id_argument
@click.argument("code")
@click.option("--cadence-months", type=int, help="Recertify every N months.")
@click.option("--once", is_flag=True, help="Taken once: no recertification.")
@click.option("--due-days", type=int, help="Due N days after assignment (default: the company's due period).")
@click.option("--title", help="Title (for the company's own trainings).")
@click.option(
    "--below-legal-minimum",
    is_flag=True,
    help="Confirm a cadence longer than the law requires (or --once) for a training a law sets.",
)
@dry_run_option
def catalog_set(company_id, code, cadence_months, once, due_days, title, below_legal_minimum, dry_run):
    """Change a training's cadence and due period for one company."""
    if dry_run:  # the cadence decides what is assigned; a due period only moves due dates
        months = 0 if once else cadence_months
        return show_dry_run(company_id, {"cadence": [f"{code}={months}"]} if months is not None else {})

    def run(session):
        company_or_exit(session, company_id)
        current = catalog_edit.find(session, company_id, catalog_edit.normalize_code(code))
        if current is None:
            raise catalog_edit.CatalogError(f"no training {code.upper()} in the catalog")
        cadence = None if once else (cadence_months if cadence_months is not None else current.cadence_months)
        legal = legal_cadence(current)
        if legal and (cadence is None or cadence > legal) and not below_legal_minimum:
            # As on the dashboard's catalog page: saved only once the operator confirms it.
            what = "taking it once" if cadence is None else f"every {cadence} months"
            raise catalog_edit.CatalogError(
                f"not saved: the law requires {current.code} at least every {legal} months, so {what} is "
                "below the legal minimum; add --below-legal-minimum to keep it"
            )
        due = due_days if due_days is not None else current.due_days
        was = catalog_edit.trail_values(current)
        row = catalog_edit.set_training(session, company_id, code, cadence, due, title)
        now = catalog_edit.trail_values(catalog_edit.find(session, company_id, row.code))
        settings_log.record(session, company_id, CLI_ACTOR, "catalog", f"{row.code} edited", was, now)
        return row

    row = _apply(run)
    click.echo(f"{row.code}: {_cadence(row.cadence_months)}, due {row.due_days or 'company default'} days.")


@catalog.command("add")
@company_id_argument
@click.argument("code")
@click.argument("title")
@click.option("--cadence-months", type=int, help="Recertify every N months (default: taken once).")
@click.option("--due-days", type=int, help="Due N days after assignment (default: the company's due period).")
@dry_run_option
def catalog_add(company_id, code, title, cadence_months, due_days, dry_run):
    """Add a training of the company's own (tags and group rules can then assign its code)."""
    if dry_run:
        return show_dry_run(company_id, {"add_training": [f"{code}={title}"]})

    def run(session):
        company_or_exit(session, company_id)
        row = catalog_edit.add_training(session, company_id, code, title, cadence_months, due_days)
        added = catalog_edit.trail_values(catalog_edit.find(session, company_id, row.code))
        settings_log.record(session, company_id, CLI_ACTOR, "catalog", f"{row.code} added", None, added)
        return row

    row = _apply(run)
    click.echo(f"Added {row.code}: {row.title} ({_cadence(row.cadence_months)}).")


@catalog.command("reset")
@company_id_argument
@click.argument("code")
@dry_run_option
def catalog_reset(company_id, code, dry_run):
    """Go back to the default catalog's cadence and due period for a training."""
    if dry_run:
        default = by_code().get(code.strip().upper())
        if default is None:
            raise click.ClickException(f"{code.upper()} has no default to go back to")
        return show_dry_run(company_id, {"cadence": [f"{default.code}={default.cadence_months or 0}"]})

    def run(session):
        company_or_exit(session, company_id)
        normalized = catalog_edit.normalize_code(code)
        was = catalog_edit.trail_values(catalog_edit.find(session, company_id, normalized))
        changed = catalog_edit.reset_training(session, company_id, code)
        now = catalog_edit.trail_values(catalog_edit.find(session, company_id, normalized))
        summary = f"{normalized} reset to the default"
        settings_log.record(session, company_id, CLI_ACTOR, "catalog", summary, was, now)
        return changed

    changed = _apply(run)
    click.echo(f"{code.upper()}: back to the default." if changed else f"{code.upper()} had no change to reset.")


@catalog.command("lead-days")
@company_id_argument
@click.argument("days", type=click.IntRange(0, 365))
@dry_run_option
def catalog_lead_days(company_id, days, dry_run):
    """How many days before a completion expires its next cycle is assigned (default 30)."""
    if dry_run:
        return show_dry_run(company_id, {"lead_days": days})
    with cli_session() as session:
        company = company_or_exit(session, company_id)
        was, company.lead_days = company.lead_days, days
        summary = "Recertification lead time (days) changed"
        settings_log.record(
            session, company_id, CLI_ACTOR, "lead_days", summary, {"lead_days": was}, {"lead_days": days}
        )
        session.commit()
    click.echo(f"Recertification lead time of company {company_id}: {days} days (from the next daily run).")


@catalog.command("company")
@company_id_argument
@click.option("--due-days", type=click.IntRange(1, 3650), help="The company's due period (days after assignment).")
@click.option("--industry", help="The company's industry ('' for none).")
@dry_run_option
def catalog_company(company_id, due_days, industry, dry_run):
    """Set the company's due period and industry (they apply to assignments made from then on)."""
    spec = {k: v for k, v in (("due_days", due_days), ("industry", industry)) if v is not None}
    if dry_run:
        return show_dry_run(company_id, spec)
    with cli_session() as session:
        company = company_or_exit(session, company_id)
        given = {}
        if due_days is not None:
            given["due_days"] = ("due_period", "Due period (days)", due_days)
        if industry is not None:
            given["industry"] = ("industry", "Industry", industry.strip()[:100] or None)
        for attr, (setting, label, value) in given.items():
            was = getattr(company, attr)
            settings_log.record(session, company_id, CLI_ACTOR, setting, f"{label} changed", {attr: was}, {attr: value})
            setattr(company, attr, value)
        session.commit()
        click.echo(f"Company {company_id}: due {company.due_days} days, industry {company.industry or 'not set'}.")
