"""``./herd smart-assign preview COMPANY_ID [change options]``: a dry run of a Smart Assign change.

Every kind of change the dashboard and ``./herd`` make (the industry, the lead time, the
due period, an attribute mapping source, a value alias, a group rule, a catalog edit)
can be previewed here before it is made: who would gain and lose which training, with
a sample of names and their reasons. Nothing is written.
"""

import json
from dataclasses import replace

import click
from sqlalchemy import select
from tqdm import tqdm

from models import Company, GroupRule, value_aliases
from models.attribute_mapping import MappingError, effective, validate
from models.catalog import ALL, Training
from models.company_training import company_catalog
from workers.preview import Change, preview


def _pairs(values, what):
    out = []
    for text in values:
        key, sep, value = text.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise click.BadParameter(f"'{text}': write {what}")
        out.append((key.strip(), value.strip()))
    return out


def _change(session, company, opts) -> Change:
    """The options given, as a ``Change`` against the company as it is."""
    change = Change()
    for name in ("industry", "lead_days", "due_days"):
        if opts[name] is not None:
            change = replace(change, **{name: opts[name] or None if name == "industry" else opts[name]})
    mapping = company.attribute_mapping
    try:
        for name, sources in _pairs(opts["source"], "INPUT=SOURCE[,SOURCE...]"):
            wanted = validate({**effective(mapping), name: [s.strip() for s in sources.split(",") if s.strip()]})
            mapping = {**wanted, **({"aliases": value_aliases.of(mapping)} if value_aliases.of(mapping) else {})}
        for name, value, to in opts["alias"]:
            mapping = value_aliases.add(mapping, name, value, to)
    except (MappingError, value_aliases.AliasError) as exc:
        raise click.ClickException(str(exc)) from None
    if mapping is not company.attribute_mapping:
        change = replace(change, mapping=mapping)
    if opts["rule"] or opts["drop_rule"]:
        rules = [
            (r.group_name, r.training_code)
            for r in session.scalars(select(GroupRule).where(GroupRule.company_id == company.id))
        ]
        dropped = {(g.casefold(), c.upper()) for g, c in _pairs(opts["drop_rule"], "GROUP=CODE")}
        rules = [(g, c) for g, c in rules if (g.casefold(), c.upper()) not in dropped]
        rules += _pairs(opts["rule"], "GROUP=CODE")
        change = replace(change, rules=rules)
    if opts["cadence"] or opts["add_training"]:
        catalog = list(company_catalog(session, company.id))
        for code, months in _pairs(opts["cadence"], "CODE=MONTHS (0: once)"):
            if not months.isdigit():
                raise click.BadParameter(f"'{months}': a number of months")
            catalog = [replace(t, cadence_months=int(months) or None) if t.code == code.upper() else t for t in catalog]
        for code, title in _pairs(opts["add_training"], "CODE=TITLE"):
            code = code.upper()
            catalog.append(Training(code, title, code, None, ALL, 12, None))
        change = replace(change, catalog=tuple(catalog))
    return change


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
            change = _change(session, company, opts)
            session.rollback()
            with tqdm(unit="learner", desc="Preview", disable=as_json) as bar:

                def progress(done, total):
                    bar.total = total
                    bar.update(done - bar.n)

                document = preview(session, company_id, change, progress=progress)
        if as_json:
            click.echo(json.dumps(document, indent=2, sort_keys=True))
            return
        click.echo(f"Dry run over {document['looked_at']} learners: {document['learners_changed']} would change.")
        for t in document["trainings"]:
            click.echo(f"{t['code']:<14} +{t['gain']:<6} -{t['lose']:<6} {t['title'] or ''}")
            for s in t["gain_sample"]:
                click.echo(f"    + {s['name']}: {s['reason']}")
            for s in t["lose_sample"]:
                click.echo(f"    - {s['name']}: {s['reason']}")
        click.echo("Nothing was changed.")

    return preview_cmd
