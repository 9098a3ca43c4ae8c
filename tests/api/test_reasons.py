"""Why each assignment exists: the reason Smart Assign recorded, in /api/v1/learner_trainings
and in the audit trail, from the learner's previous inputs carried by the provisioning event."""

from sqlalchemy import select

from models import AuditEvent, ProvisioningEvent
from service.company import group_rules
from tests.api.conftest import CUSTOM, post_learner, run_events
from tests.workers.test_group_rules import acme, cli, post_group  # noqa: F401  (fixture)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def replace(tenant, learner_id, **values):
    ops = [{"op": "replace", "path": f"{CUSTOM}:{k}", "value": v} for k, v in values.items()]
    resp = tenant.patch(f"Users/{learner_id}", json={"schemas": [PATCH_OP], "Operations": ops})
    assert resp.status_code == 200, resp.get_data(as_text=True)


def reasons(api, learner_id):
    items = api.get("learner_trainings", learner_id=learner_id).get_json()["data"]
    return {item["training_code"]: item["reason"] for item in items}


def test_each_assignment_says_why_it_exists(api, tenant, sessions):
    learner_id = post_learner(tenant, learnerRole="non-supervisor", training_tags="CYBER")
    run_events(sessions)
    first = reasons(api, learner_id)
    assert first["HP-CA-EMP"].startswith("new learner: harassment prevention, region CA, non-supervisor")
    assert first["CYBER"] == "new learner: tag CYBER in training_tags"

    replace(tenant, learner_id, training_tags="CYBER,ABAC")
    run_events(sessions)
    assert reasons(api, learner_id)["ABAC"] == "tag ABAC added: tag ABAC in training_tags"

    replace(tenant, learner_id, learnerRole="supervisor")
    run_events(sessions)
    # Unstarted, the employee version is switched to the supervisor one, which says why.
    assert reasons(api, learner_id)["HP-CA-SUP"].startswith("promoted to supervisor: harassment prevention")

    # Started (> 10 %) work stays; a move then adds the new region's version next to it.
    hp = next(i for i in api.get("learner_trainings", learner_id=learner_id).get_json()["data"] if i["cycle"] == 1)
    assert api.patch(f"learner_trainings/{hp['id']}", json={"status": "completed"}).status_code == 200
    replace(tenant, learner_id, state="Illinois")
    run_events(sessions)
    assert reasons(api, learner_id)["HP-IL-SUP"].startswith("moved from US-CA to US-IL: harassment prevention")

    with sessions() as s:
        move = s.scalars(select(ProvisioningEvent).order_by(ProvisioningEvent.id.desc()).limit(1)).one()
        entry = s.scalars(select(AuditEvent).where(AuditEvent.event_id == move.id)).one()
    # The event carries the inputs Smart Assign had before the change.
    assert move.previous["region"] == "US-CA" and move.previous["role"] == "supervisor"
    assert entry.outcome["reasons"]["HP-IL-SUP"].startswith("moved from US-CA to US-IL")


def test_a_group_rule_is_named_as_the_reason(app, acme, api, sessions):  # noqa: F811
    learner_id = post_learner(acme)
    run_events(sessions)
    with sessions() as s:
        group_rules.add_rule(s, acme.id, "Managers", "HP-ALL-SUP")
        s.commit()
    post_group(acme, "Managers", learner_id)
    run_events(sessions)
    assert reasons(api, learner_id)["HP-ALL-SUP"] == "group rule: member of Managers"
