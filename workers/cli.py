"""Operator commands that run worker logic: ``flask --app wsgi smart-assign rerun COMPANY_ID``."""

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from tqdm import tqdm

from models import Company, Learner
from workers.reconcile import learner_ids, reconcile

smart_assign = AppGroup("smart-assign", help="Smart Assign maintenance.")


@smart_assign.command("rerun")
@click.argument("company_id", type=int)
@click.option("--batch", default=200, show_default=True, help="Learners per transaction.")
def rerun(company_id, batch):
    """Re-evaluate every learner of a company (after a rule change), with a progress bar."""
    sessions = current_app.extensions["herd.sessions"]
    with sessions() as session:
        company = session.get(Company, company_id)
        if company is None:
            raise click.ClickException(f"no company {company_id}")
        total = session.scalar(select(func.count()).where(Learner.company_id == company_id))
        ids = list(learner_ids(session, company_id))
    added = 0
    with tqdm(total=total, unit="learner", desc=f"Smart Assign {company.name}") as bar:
        for start in range(0, len(ids), batch):
            with sessions() as session:
                company = session.get(Company, company_id)
                for learner in session.scalars(select(Learner).where(Learner.id.in_(ids[start : start + batch]))):
                    added += len(reconcile(session, learner, company)["trainings_added"])
                session.commit()
            bar.update(len(ids[start : start + batch]))
    click.echo(f"Re-evaluated {total} learners; {added} trainings added.")
