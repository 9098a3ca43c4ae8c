"""``./herd smart-assign preview COMPANY_ID [change options]``: a dry run of a Smart Assign change.

Every kind of change the dashboard and ``./herd`` make (the industry, the lead time, the
due period, an attribute mapping source, a value alias, a group rule, a catalog edit)
can be previewed here before it is made: who would gain and lose which training, with
a sample of names and their reasons. Nothing is written.
"""

import json

import click
from tqdm import tqdm

from models import Company
from workers.preview import preview
from workers.preview_spec import SpecError, change_of


def echo_preview(document):
    """Print a preview document: per training the gains and losses, and a sample with reasons."""
    click.echo(f"Dry run over {document['looked_at']} learners: {document['learners_changed']} would change.")
    for t in document["trainings"]:
        click.echo(f"{t['code']:<14} +{t['gain']:<6} -{t['lose']:<6} {t['title'] or ''}")
        for s in t["gain_sample"]:
            click.echo(f"    + {s['name']}: {s['reason']}")
        for s in t["lose_sample"]:
            click.echo(f"    - {s['name']}: {s['reason']}")
    click.echo("Nothing was changed.")


def dry_run(session_factory):
    """``(company_id, spec)`` -> print the spec's preview: what ``wsgi.py`` gives the service's
    commands for ``--dry-run`` (``service/cli/dry_run.py``)."""

    def show(company_id, spec):
        with session_factory()() as session:
            company = session.get(Company, company_id)
            if company is None:
                raise click.ClickException(f"no company {company_id}")
            try:
                change = change_of(session, company, spec)
            except SpecError as exc:
                raise click.ClickException(str(exc)) from None
            session.rollback()
            echo_preview(preview(session, company_id, change))

    return show


def preview_command(session_factory):
    """The ``preview`` command; ``session_factory()`` returns the app's session factory."""

    @click.command("preview")
    @click.argument("company_id", type=int)
    @click.option("--industry", default=None, help="A new industry ('' for none).")
    @click.option("--lead-days", type=click.IntRange(0, 365), default=None, help="A new recertification lead time.")
    @click.option("--due-days", type=click.IntRange(1, 3650), default=None, help="A new due period.")
    @click.option("--source", multiple=True, help="INPUT=SOURCE[,SOURCE...]: new attribute mapping sources.")
    @click.option("--alias", nargs=3, multiple=True, metavar="INPUT VALUE TO", help="A new value alias.")
    @click.option("--rule", multiple=True, help="GROUP=CODE: a new group rule.")
    @click.option("--drop-rule", multiple=True, help="GROUP=CODE: a group rule removed.")
    @click.option("--cadence", multiple=True, help="CODE=MONTHS: a training's new cadence (0: once).")
    @click.option("--add-training", multiple=True, help="CODE=TITLE: a training of the company's own.")
    @click.option("--json", "as_json", is_flag=True, help="The preview document as JSON.")
    def preview_cmd(company_id, as_json, **opts):
        """Who would gain and lose which training if the change were made (a dry run: nothing is written)."""
        sessions = session_factory()
        with sessions() as session:
            company = session.get(Company, company_id)
            if company is None:
                raise click.ClickException(f"no company {company_id}")
            try:
                change = change_of(session, company, {k: v for k, v in opts.items() if v not in (None, ())})
            except SpecError as exc:
                raise click.ClickException(str(exc)) from None
            session.rollback()
            with tqdm(unit="learner", desc="Preview", disable=as_json) as bar:

                def progress(done, total):
                    bar.total = total
                    bar.update(done - bar.n)

                document = preview(session, company_id, change, progress=progress)
        if as_json:
            click.echo(json.dumps(document, indent=2, sort_keys=True))
            return
        echo_preview(document)

    return preview_cmd
