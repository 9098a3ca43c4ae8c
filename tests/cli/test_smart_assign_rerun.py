"""`./herd smart-assign rerun COMPANY_ID` re-evaluates every learner of a company."""

from sqlalchemy import select

from models import Company, LearnerTraining
from tests.workers.test_process_event import post_learner
from workers.cli import smart_assign_commands


def test_rerun_assigns_after_a_rule_change(app, tenant, sessions):
    app.cli.add_command(smart_assign_commands(lambda: app.extensions["herd.sessions"]))
    ids = [post_learner(tenant), post_learner(tenant, "tex@acme.example", state="Texas")]
    # No worker ran: nothing assigned yet. The re-run reaches every learner.
    with sessions() as s:
        s.get(Company, tenant.id).industry = "hospitality"
        s.commit()
    result = app.test_cli_runner().invoke(args=["smart-assign", "rerun", str(tenant.id)])
    assert result.exit_code == 0, result.output
    assert "Re-evaluated 2 learners" in result.output
    with sessions() as s:
        rows = s.scalars(select(LearnerTraining)).all()
    assert {r.learner_id for r in rows} == set(ids)
    assert "HP-US-SUP" in {r.training_code for r in rows if r.learner_id == ids[1]}
    # Running it again adds nothing.
    again = app.test_cli_runner().invoke(args=["smart-assign", "rerun", str(tenant.id)])
    assert "0 trainings added" in again.output


def test_rerun_of_unknown_company_fails_clearly(app, sessions):
    app.cli.add_command(smart_assign_commands(lambda: app.extensions["herd.sessions"]))
    result = app.test_cli_runner().invoke(args=["smart-assign", "rerun", "404"])
    assert result.exit_code != 0 and "no company 404" in result.output
