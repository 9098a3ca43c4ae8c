"""Operator commands that run worker logic: ``./herd smart-assign rerun COMPANY_ID`` and
``./herd smart-assign recertify [COMPANY_ID] [--as-of YYYY-MM-DD]`` (run time forward).

Plain click, no Flask: ``wsgi`` attaches the group to the app's command line
and says where the database sessions come from.
"""

import click
from sqlalchemy import select
from tqdm import tqdm

from models import Company, Job, utcnow
from workers.preview_cli import preview_command
from workers.recertify import NoSuchCompany, count_due, moment_of
from workers.recertify import run as recertify_run
from workers.rerun import JobFailed, run


def smart_assign_commands(session_factory):
    """The ``smart-assign`` command group; ``session_factory()`` returns the app's session factory."""

    @click.group("smart-assign", help="Smart Assign maintenance.")
    def smart_assign():
        pass

    @smart_assign.command("rerun")
    @click.argument("company_id", type=int)
    @click.option("--batch", default=200, show_default=True, help="Learners per transaction.")
    def rerun(company_id, batch):
        """Re-evaluate every learner of a company (after a rule change), with a progress bar.

        The same re-run as the dashboard's (``workers.rerun.run``), recorded as a job.
        """
        sessions = session_factory()
        with tqdm(unit="learner", desc=f"Smart Assign company {company_id}") as bar:

            def progress(job):
                bar.total = job.total
                bar.update(job.done - bar.n)

            try:
                job_id = run(sessions, company_id, batch=batch, progress=progress)
            except JobFailed as exc:
                raise click.ClickException(str(exc)) from None
        with sessions() as session:
            job = session.get(Job, job_id)
            click.echo(f"Re-evaluated {job.done} learners; {job.added} trainings added.")

    # The daily recertification run, on demand.
    smart_assign.add_command(recertify_command(session_factory))
    # A dry run of any Smart Assign change.
    smart_assign.add_command(preview_command(session_factory))
    return smart_assign


def recertify_command(session_factory):
    """The ``recertify`` command; ``session_factory()`` returns the app's session factory."""

    @click.command("recertify")
    @click.argument("company_id", type=int, required=False)
    @click.option(
        "--as-of",
        "as_of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="Run as if on this day (default today). Never earlier than what is already recorded.",
    )
    @click.option("--batch", default=500, show_default=True, help="Learners per transaction.")
    def recertify(company_id, as_of, batch):
        """Assign due recertification cycles and mark overdue work, for one company or all, with a progress bar."""
        sessions = session_factory()
        day = as_of.date() if as_of else None
        with sessions() as session:
            if company_id is None:
                companies = session.scalars(select(Company).order_by(Company.id)).all()
            else:
                company = session.get(Company, company_id)
                if company is None:
                    raise click.ClickException(f"no company {company_id}")
                companies = [company]
        total_added = total_overdue = 0
        for company in companies:
            moment = moment_of(day, utcnow())
            if company.recertified_through and company.recertified_through > moment:
                click.echo(
                    f"{company.name}: already recertified through {company.recertified_through:%Y-%m-%d}; "
                    "running as of that day (time never runs backwards)."
                )
                moment = company.recertified_through
            with sessions() as session:
                due = count_due(session, company.id, moment)
            with tqdm(total=due, unit="learner", desc=f"Recertify {company.name}") as bar:
                try:
                    job = recertify_run(sessions, company.id, day, batch=batch, progress=bar.update)
                except NoSuchCompany as exc:
                    raise click.ClickException(str(exc)) from None
            total_added += job.added
            total_overdue += job.overdue
            click.echo(
                f"{company.name} as of {job.as_of:%Y-%m-%d}: {job.done} learners due reviewed; "
                f"{job.added} assignments added; {job.overdue} marked overdue."
            )
        if len(companies) != 1:
            click.echo(f"All companies: {total_added} assignments added; {total_overdue} marked overdue.")

    return recertify
