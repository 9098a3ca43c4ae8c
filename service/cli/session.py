"""What every operator command shares: a database session and the company it names."""

import click

from models import Company
from service import db


def cli_session():
    """A new session for one command (``with cli_session() as session:``); the command commits."""
    return db.session_factory()()


def company_or_exit(session, company_id):
    """The company ``company_id``, or the command ends with ``no company N``."""
    company = session.get(Company, company_id)
    if company is None:
        raise click.ClickException(f"no company {company_id}")
    return company


# The first argument of every command about one company (``./herd tokens create 7``).
company_id_argument = click.argument("company_id", type=int)
