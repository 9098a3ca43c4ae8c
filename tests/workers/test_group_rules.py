"""Smart Assign group rules: "everyone in group Managers gets HP-ALL-SUP", applied by the worker
when a Group event is processed; and the operator CLI that edits the rules."""

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from models import AuditEvent, GroupRule, LearnerTraining
from tests.helpers import run_events as run_pending

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "entra"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=[str(a) for a in args])
    return result


def post_learner(tenant, name):
    body = json.loads((FIXTURES / "create_user.json").read_text())
    body.update(userName=f"{name}@acme.example", externalId=name)
    resp = tenant.post("Users", json=body)
    assert resp.status_code == 201
    return resp.get_json()["id"]


def post_group(tenant, name, *member_ids):
    body = json.loads((FIXTURES / "create_group.json").read_text())
    body.update(displayName=name, externalId=name.lower(), members=[{"value": i} for i in member_ids])
    resp = tenant.post("Groups", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def patch_group(tenant, group_id, *ops):
    resp = tenant.patch(f"Groups/{group_id}", json={"schemas": [PATCH_OP], "Operations": list(ops)})
    assert resp.status_code == 204, resp.get_data(as_text=True)


def codes(sessions, learner_id):
    with sessions() as s:
        rows = s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == learner_id)).all()
        return {r.training_code for r in rows}


def last_audit(sessions):
    with sessions() as s:
        return s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()


@pytest.fixture()
def acme(app, tenant):
    assert cli(app, "companies", "groups", tenant.id, "--enable").exit_code == 0
    return tenant


def test_group_rule_assigns_hp_all_sup_to_members_when_the_group_event_is_processed(app, acme, sessions):
    result = cli(app, "companies", "group-rule", acme.id, "Managers", "hp-all-sup")
    assert result.exit_code == 0 and "HP-ALL-SUP" in result.output
    boss, clerk = post_learner(acme, "boss"), post_learner(acme, "clerk")
    run_pending(sessions)
    assert "HP-ALL-SUP" not in codes(sessions, boss)
    group_id = post_group(acme, "Managers", boss)
    run_pending(sessions)
    assert "HP-ALL-SUP" in codes(sessions, boss)
    assert "HP-ALL-SUP" not in codes(sessions, clerk)
    entry = last_audit(sessions)
    assert entry.resource_type == "Group" and entry.action == "create" and entry.learner_id is None
    assert entry.outcome["group_rule_codes"] == ["HP-ALL-SUP"] and entry.outcome["learners_reconciled"] == 1
    assert entry.outcome["trainings_added"] == {boss: ["HP-ALL-SUP"]}
    assert entry.changes["members"] == {"added": [boss]}
    # A member added by PATCH gets it when that event is processed, once.
    patch_group(acme, group_id, {"op": "Add", "path": "members", "value": [{"value": clerk}]})
    run_pending(sessions)
    assert "HP-ALL-SUP" in codes(sessions, clerk)
    ids = run_pending(sessions)
    assert ids == []
    with sessions() as s:
        rows = s.scalars(select(LearnerTraining).where(LearnerTraining.training_code == "HP-ALL-SUP")).all()
        assert len(rows) == 2


def test_user_events_keep_the_rule_codes_of_the_learners_groups(app, acme, sessions):
    cli(app, "companies", "group-rule", acme.id, "Managers", "CYBER")
    learner = post_learner(acme, "boss")
    post_group(acme, "Managers", learner)
    run_pending(sessions)
    acme.patch(f"Users/{learner}", json={"Operations": [{"op": "Replace", "path": "title", "value": "Boss"}]})
    run_pending(sessions)
    entry = last_audit(sessions)
    assert entry.resource_type == "User" and entry.outcome["group_rule_codes"] == ["CYBER"]


def test_without_a_rule_a_group_event_reruns_nothing(app, acme, sessions):
    learner = post_learner(acme, "boss")
    run_pending(sessions)
    before = codes(sessions, learner)
    post_group(acme, "Managers", learner)
    run_pending(sessions)
    assert codes(sessions, learner) == before
    entry = last_audit(sessions)
    assert entry.outcome == {"group_rule_codes": [], "learners_reconciled": 0}


def test_rename_into_a_rule_reaches_every_current_member(app, acme, sessions):
    cli(app, "companies", "group-rule", acme.id, "managers", "HP-ALL-SUP")
    a, b = post_learner(acme, "a"), post_learner(acme, "b")
    group_id = post_group(acme, "Leads", a, b)
    run_pending(sessions)
    assert "HP-ALL-SUP" not in codes(sessions, a)
    patch_group(acme, group_id, {"op": "Replace", "path": "displayName", "value": "Managers"})
    run_pending(sessions)
    assert "HP-ALL-SUP" in codes(sessions, a) and "HP-ALL-SUP" in codes(sessions, b)
    assert last_audit(sessions).outcome["learners_reconciled"] == 2


def test_a_removed_member_is_re_evaluated(app, acme, sessions):
    cli(app, "companies", "group-rule", acme.id, "Managers", "HP-ALL-SUP")
    a = post_learner(acme, "a")
    group_id = post_group(acme, "Managers", a)
    run_pending(sessions)
    patch_group(acme, group_id, {"op": "remove", "path": f'members[value eq "{a}"]'})
    run_pending(sessions)
    entry = last_audit(sessions)
    assert entry.changes["members"] == {"removed": [a]} and entry.outcome["learners_reconciled"] == 1
    # An unstarted assignment is kept (Smart Assign never takes a training away).
    assert "HP-ALL-SUP" in codes(sessions, a)


def test_a_group_rule_name_too_long_once_lower_cased_is_refused(app, tenant, sessions):
    """300 × U+0130 fits group_name but not its lower-cased key (a 500 on PostgreSQL)."""
    refused = cli(app, "companies", "group-rule", tenant.id, "\u0130" * 300, "HP-ALL-SUP")
    assert refused.exit_code != 0 and "once lower-cased" in refused.output
    assert cli(app, "companies", "group-rule", tenant.id, "\u0130" * 150, "HP-ALL-SUP").exit_code == 0
    with sessions() as s:
        assert [r.group_name for r in s.scalars(select(GroupRule))] == ["\u0130" * 150]


def test_group_rule_cli_adds_lists_and_removes(app, tenant, sessions):
    assert cli(app, "companies", "group-rule", tenant.id, "Managers", "HP-ALL-SUP").exit_code == 0
    again = cli(app, "companies", "group-rule", tenant.id, "MANAGERS", "HP-ALL-SUP")
    assert again.exit_code == 0 and "exists" in again.output
    listed = cli(app, "companies", "group-rules", tenant.id)
    assert listed.output.strip() == "Managers\tHP-ALL-SUP"
    bad = cli(app, "companies", "group-rule", tenant.id, "Managers", "NOPE")
    assert bad.exit_code != 0 and "unknown training code" in bad.output
    assert cli(app, "companies", "group-rule", 404, "Managers", "CYBER").exit_code != 0
    removed = cli(app, "companies", "group-rule", tenant.id, "managers", "HP-ALL-SUP", "--remove")
    assert removed.exit_code == 0 and "removed" in removed.output
    with sessions() as s:
        assert s.scalars(select(GroupRule)).all() == []
