"""``./herd smart-assign doctor COMPANY_ID`` and ``./herd smart-assign alias COMPANY_ID ...``.

The doctor is the API's document (``--json``) or a table; an alias maps a value the IdP
sends that Herd does not recognise to a known one, for every later event (a re-run
applies it to the learners already stored).
"""

import json

import click
from flask.cli import with_appcontext

from models import value_aliases
from service.cli.dry_run import dry_run_option, show_dry_run
from service.cli.session import cli_session, company_id_argument, company_or_exit
from service.company import settings_log
from service.reports.smart_assign_coverage import coverage

LABELS = {"state": "State", "country": "Country", "role": "Role", "training_tags": "Training tags"}


@click.command("doctor")
@with_appcontext
@company_id_argument
@click.option("--json", "as_json", is_flag=True, help="The document of GET /api/v1/reports/smart_assign_coverage.")
@click.option(
    "--idp",
    type=click.Choice(["entra", "okta", "onelogin", "jumpcloud", "rippling"]),
    default="entra",
    show_default=True,
    help="The IdP whose fixes to show.",
)
def doctor(company_id, as_json, idp):
    """What Smart Assign cannot read in a company's learners, and what to change in the IdP."""
    with cli_session() as session:
        company_or_exit(session, company_id)
        report = coverage(session, company_id)
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    total = report["active_learners"]
    click.echo(f"{total} active learners")
    click.echo(f"{'input':<14} {'resolved':>9} {'missing':>8} {'unrecognised':>13} {'share':>7}")
    for name, f in report["inputs"].items():
        click.echo(
            f"{name:<14} {f['resolved']:>9} {f['missing']:>8} {f['unrecognised']:>13} {f['share_resolved']:>7.1%}"
        )
    if report["unrecognised_values"]:
        click.echo("\nUnrecognised values")
        click.echo(f"{'count':>6}  {'input':<14} {'value':<24} source -> got instead")
        for v in report["unrecognised_values"]:
            got = v["got_instead"][0]["got"]
            click.echo(f"{v['count']:>6}  {v['input']:<14} {json.dumps(v['value']):<24} {v['source']} -> {got}")
    if report["fixes"]:
        click.echo(f"\nFixes in {idp}")
        for name, lines in report["fixes"].items():
            click.echo(f"  {LABELS[name]}: {lines[idp]}")
        click.echo(f"\nOr map a value: ./herd smart-assign alias {company_id} INPUT VALUE KNOWN_VALUE")


@click.command("alias")
@with_appcontext
@company_id_argument
@click.argument("input_name", metavar="INPUT", type=click.Choice(value_aliases.INPUTS))
@click.argument("value")
@click.argument("to", required=False)
@click.option("--remove", is_flag=True, help="Remove the alias of VALUE.")
@dry_run_option
def alias(company_id, input_name, value, to, remove, dry_run):
    """Read VALUE as TO for INPUT from now on (``alias 7 state Calif. US-CA``)."""
    if dry_run:
        if remove or to is None:
            raise click.UsageError("--dry-run previews a new alias: give the known value VALUE stands for.")
        return show_dry_run(company_id, {"alias": [[input_name, value, to]]})
    with cli_session() as session:
        company = company_or_exit(session, company_id)
        was = company.attribute_mapping
        if remove:
            company.attribute_mapping = value_aliases.remove(was, input_name, value) or None
            summary = f"Alias removed: {LABELS[input_name]} “{value}”"
        else:
            if to is None:
                raise click.UsageError("Give the known value VALUE stands for, or --remove.")
            try:
                company.attribute_mapping = value_aliases.add(was, input_name, value, to)
            except value_aliases.AliasError as exc:
                raise click.ClickException(str(exc)) from None
            summary = f"Alias saved: {LABELS[input_name]} “{value}” reads as {to}"
        settings_log.record_aliases(session, company, settings_log.CLI_ACTOR, input_name, was, summary)
        session.commit()
    click.echo(f"Alias {'removed' if remove else 'saved'}: {input_name} {value!r}" + ("" if remove else f" -> {to}."))
    click.echo(f"New events apply it; to apply it to stored learners now, run ./herd smart-assign rerun {company_id}")


def attach(group):
    """Add the doctor and alias commands to the ``smart-assign`` group (``wsgi.py``); the group is
    plain click, so each command enters the app's context itself."""
    group.add_command(doctor)
    group.add_command(alias)
    return group
