"""``--dry-run`` on every command that changes what Smart Assign assigns: it prints the
preview (who would gain and lose which training, with reasons) and changes nothing."""

import pytest
from sqlalchemy import func, select

from models import Company, CompanyTraining, GroupRule, LearnerTraining
from service.cli.doctor import attach
from tests.api.conftest import post_learner
from tests.helpers import run_events
from workers.cli import smart_assign_commands
from workers.preview_cli import dry_run


@pytest.fixture()
def herd(app, groups_on, sessions):
    """The command line as wsgi.py builds it: the workers' commands and the preview handed in."""
    sessions_of = lambda: app.extensions["herd.sessions"]  # noqa: E731
    app.cli.add_command(attach(smart_assign_commands(sessions_of)))
    app.extensions["herd.preview"] = dry_run(sessions_of)
    tenant = groups_on
    post_learner(tenant, "cal@acme.example", state="Calif.", learnerRole="non-supervisor")
    post_learner(tenant, "tit@acme.example", state="Texas", learnerRole="", title="supervisor")
    chicago = post_learner(tenant, "chi@acme.example", state="Illinois", training_tags="SAFETY")
    group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Managers"}
    assert tenant.post("Groups", json={**group, "members": [{"value": chicago}]}).status_code == 201
    run_events(sessions)
    return lambda *args: app.test_cli_runner().invoke(args=[str(a) for a in args])


def _state(sessions, company_id):
    """Everything a change could write: the company's settings, rules, catalog rows and assignments."""
    with sessions() as s:
        company = s.get(Company, company_id)
        return (
            company.attribute_mapping,
            company.lead_days,
            company.industry,
            company.due_days,
            s.scalar(select(func.count()).select_from(GroupRule)),
            s.scalar(select(func.count()).select_from(CompanyTraining)),
            sorted(s.scalars(select(LearnerTraining.training_code))),
        )


CASES = {
    "alias": (["smart-assign", "alias", "{id}", "state", "Calif.", "US-CA"], "HP-CA-EMP      +1"),
    "mapping": (
        ["companies", "mapping", "{id}", "--set", "role=extension:title,extension:learnerRole"],
        "HP-US-SUP      +1",
    ),
    "group_rule": (["companies", "group-rule", "{id}", "Managers", "HP-ALL-SUP"], "HP-ALL-SUP     +1"),
    "catalog_add": (["catalog", "add", "{id}", "SAFETY", "Safety"], "SAFETY         +1"),
    "catalog_set": (["catalog", "set", "{id}", "CYBER", "--once"], "Dry run over 3 learners"),
    "catalog_reset": (["catalog", "reset", "{id}", "CYBER"], "Dry run over 3 learners"),
    "lead_days": (["catalog", "lead-days", "{id}", "90"], "Dry run over 3 learners"),
    "industry": (["catalog", "company", "{id}", "--industry", "hospitality"], "HP-IL-HOSP     +1"),
    "due_days": (["catalog", "company", "{id}", "--due-days", "45"], "Dry run over 3 learners"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_dry_run_prints_the_preview_and_changes_nothing(kind, herd, tenant, sessions):
    args, expected = CASES[kind]
    before = _state(sessions, tenant.id)
    out = herd(*[a.format(id=tenant.id) for a in args], "--dry-run")
    assert out.exit_code == 0, out.output
    assert expected in out.output and out.output.rstrip().endswith("Nothing was changed.")
    assert _state(sessions, tenant.id) == before


def test_a_dry_run_of_a_removal_says_what_the_rerun_would_withdraw(herd, tenant, sessions):
    assert herd("companies", "group-rule", tenant.id, "Managers", "HP-ALL-SUP").exit_code == 0
    assert herd("smart-assign", "rerun", tenant.id).exit_code == 0
    out = herd("companies", "group-rule", tenant.id, "Managers", "HP-ALL-SUP", "--remove", "--dry-run")
    assert "HP-ALL-SUP     +0      -1" in out.output
    assert "withdrawn: no longer required by the learner's inputs (HP-ALL-SUP)" in out.output
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(GroupRule)) == 1


def test_a_dry_run_refuses_what_it_cannot_preview(herd, tenant):
    out = herd("smart-assign", "alias", tenant.id, "state", "Calif.", "Atlantis", "--dry-run")
    assert out.exit_code == 1 and "Atlantis" in out.output
    assert herd("smart-assign", "alias", tenant.id, "state", "Calif.", "--remove", "--dry-run").exit_code == 2
    assert "no company 99" in herd("catalog", "lead-days", 99, "30", "--dry-run").output


def test_the_company_command_sets_industry_and_due_period(herd, tenant, sessions):
    out = herd("catalog", "company", tenant.id, "--industry", "hospitality", "--due-days", "45")
    assert out.exit_code == 0 and "due 45 days, industry hospitality" in out.output
    with sessions() as s:
        company = s.get(Company, tenant.id)
        assert (company.industry, company.due_days) == ("hospitality", 45)
