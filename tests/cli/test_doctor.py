"""``./herd smart-assign doctor``, ``alias`` and ``preview`` (a dry run)."""

import json

import pytest
from sqlalchemy import select

from models import Company, LearnerTraining, value_aliases
from service.cli.doctor import attach
from tests.api.conftest import Api, post_learner
from tests.helpers import run_events
from workers.cli import smart_assign_commands


@pytest.fixture()
def herd(app):
    app.cli.add_command(attach(smart_assign_commands(lambda: app.extensions["herd.sessions"])))
    return lambda *args: app.test_cli_runner().invoke(args=["smart-assign", *map(str, args)])


def test_doctor_prints_a_table_and_the_apis_document(herd, tenant, client):
    api = Api(client, tenant.token)
    post_learner(tenant, "c@acme.example", state="Calif.")
    out = herd("doctor", tenant.id)
    assert out.exit_code == 0, out.output
    assert "state" in out.output and '"Calif."' in out.output and "target attribute" in out.output
    document = json.loads(herd("doctor", tenant.id, "--json").output)
    assert document == api.get("reports/smart_assign_coverage").get_json()
    assert "no company 404" in herd("doctor", 404).output


def test_alias_saves_and_refuses_an_unknown_target(herd, tenant, sessions):
    assert herd("alias", tenant.id, "role", "Mgr", "supervisor").exit_code == 0
    with sessions() as s:
        assert value_aliases.of(s.get(Company, tenant.id).attribute_mapping) == {"role": {"mgr": "supervisor"}}
    bad = herd("alias", tenant.id, "country", "X", "Narnia")
    assert bad.exit_code != 0 and "not a country" in bad.output


def test_preview_is_a_dry_run(herd, tenant, sessions):
    post_learner(tenant, "c@acme.example", state="Calif.", learnerRole="non-supervisor")
    run_events(sessions)
    with sessions() as s:
        before = s.scalars(select(LearnerTraining.training_code)).all()
    out = herd("preview", tenant.id, "--alias", "state", "Calif.", "US-CA")
    assert out.exit_code == 0, out.output
    assert "1 would change" in out.output and "HP-CA-EMP" in out.output and "Nothing was changed." in out.output
    document = json.loads(herd("preview", tenant.id, "--industry", "hospitality", "--json").output)
    assert document["learners_changed"] == 0
    with sessions() as s:
        assert s.scalars(select(LearnerTraining.training_code)).all() == before
        assert s.get(Company, tenant.id).attribute_mapping is None
