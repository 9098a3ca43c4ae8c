"""Operator commands that run worker logic: ``./herd smart-assign rerun COMPANY_ID``.

Plain click, no Flask: ``wsgi`` attaches the group to the app's command line
and says where the database sessions come from.
"""

import click
from tqdm import tqdm

from models import Job
from workers.recertify_cli import recertify_command
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

    # The daily recertification run, on demand (workers.recertify_cli).
    smart_assign.add_command(recertify_command(session_factory))
    return smart_assign
