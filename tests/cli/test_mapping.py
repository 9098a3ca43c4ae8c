"""`flask --app wsgi companies mapping COMPANY_ID`: show and change where Smart Assign reads its
inputs; the re-run it offers re-reads stored learners through the new mapping."""

from tests.helpers import run_events
from tests.idps.conftest import assert_scim, fixture, learner_row, trainings
from workers.cli import smart_assign_commands


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["companies", "mapping", *map(str, args)])


def test_shows_the_defaults(app, tenant):
    result = cli(app, tenant.id)
    assert result.exit_code == 0, result.output
    assert "role (default): extension:learnerRole | easyllamaRole | learnerRole" in result.output
    assert 'state (default): extension:state | state | addresses[type eq "work"].region' in result.output


def test_a_jumpcloud_company_reads_the_role_from_title_after_a_change_and_a_rerun(app, tenant, sessions):
    sent = fixture("jumpcloud", "create_user.json")
    sent["title"] = "Supervisor"
    created = assert_scim(tenant.post("Users", json=sent), 201)
    run_events(sessions)
    assert set(trainings(sessions, created["id"])) == {"HP-IL-EMP", "BYST-CHI"}

    result = cli(app, tenant.id, "--set", "role=extension:learnerRole,title")
    assert result.exit_code == 0, result.output
    assert "role: extension:learnerRole | title" in result.output
    assert f"smart-assign rerun {tenant.id}" in result.output
    # The stored learner is re-read by the re-run the CLI offers.
    app.cli.add_command(smart_assign_commands(lambda: app.extensions["herd.sessions"]))
    rerun = app.test_cli_runner().invoke(args=["smart-assign", "rerun", str(tenant.id)])
    assert rerun.exit_code == 0, rerun.output
    row = learner_row(sessions, created["id"])
    assert row.role == "Supervisor" and row.attribute_sources["role"] == "title"
    assert set(trainings(sessions, created["id"])) == {"HP-IL-SUP", "BYST-CHI"}

    # Back to the defaults.
    result = cli(app, tenant.id, "--reset", "role")
    assert result.exit_code == 0 and "role (default)" in result.output


def test_a_malformed_source_is_refused_and_nothing_changes(app, tenant):
    result = cli(app, tenant.id, "--set", "role=addresses[work].title")
    assert result.exit_code != 0 and "is not a source" in result.output
    assert "role (default)" in cli(app, tenant.id).output
    assert cli(app, tenant.id, "--set", "rank=title").exit_code != 0
    assert "no company 404" in cli(app, 404).output
