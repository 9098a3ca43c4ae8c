"""``--dry-run`` on the commands that change what Smart Assign assigns.

The preview runs the workers' planner (``workers/preview_cli.py``), which the service
must not import: ``wsgi.py`` hands it in at start-up as ``app.extensions["herd.preview"]``,
a callable ``(company_id, spec)`` that prints who would gain and lose which training.
A command given ``--dry-run`` describes its change as a spec (``workers/preview_spec.py``'s
keys), hands it over and returns before changing anything.
"""

import click
from flask import current_app

from service.cli.session import cli_session, company_or_exit

PREVIEW = "herd.preview"

dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Show who would gain and lose which training; change nothing."
)


def show_dry_run(company_id, spec):
    """Print the preview of ``spec`` for the company (nothing is written)."""
    show = current_app.extensions.get(PREVIEW)
    if show is None:  # a Flask app without the workers (never through ./herd)
        raise click.ClickException("--dry-run needs the workers' preview; run it through ./herd")
    with cli_session() as session:
        company_or_exit(session, company_id)
    show(company_id, spec)
