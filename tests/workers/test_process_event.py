"""Worker logic called directly: Smart Assign per event, audit entries, idempotence, the relay."""

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from models import AuditEvent, LearnerTraining, ProvisioningEvent, utcnow
from tests.workers.helpers import move_to_state
from workers.tasks import pending_event_ids, process

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "entra"


def post_learner(tenant, user_name="jdoe@acme.example", **ext):
    body = json.loads((FIXTURES / "create_user.json").read_text())
    body["userName"] = user_name
    body["urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"].update(ext)
    resp = tenant.post("Users", json=body)
    assert resp.status_code == 201
    return resp.get_json()["id"]


def run_pending(sessions):
    with sessions() as s:
        ids = s.scalars(select(ProvisioningEvent.id).order_by(ProvisioningEvent.id)).all()
    for event_id in ids:
        with sessions() as s:
            process(s, event_id)
    return ids


def codes(sessions, learner_id):
    with sessions() as s:
        rows = s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == learner_id)).all()
        return sorted((r.training_code, r.status) for r in rows)


def test_a_posted_ca_supervisor_gets_trainings_and_an_audit_entry(tenant, sessions):
    learner_id = post_learner(tenant)
    run_pending(sessions)
    got = {code for code, _ in codes(sessions, learner_id)}
    assert {"HP-CA-SUP", "WVP-CA", "CYBER", "HIPAA"} <= got
    with sessions() as s:
        audit = s.scalars(select(AuditEvent)).all()
        assert len(audit) == 1
        entry = audit[0]
        assert entry.action == "create" and entry.token_name == "Acme token"
        assert "HP-CA-SUP" in entry.outcome["trainings_added"]
        assert entry.changes["userName"] == {"before": None, "after": "jdoe@acme.example"}
        assert tenant.token not in json.dumps(entry.changes) + json.dumps(entry.outcome)


def test_processing_an_event_twice_has_one_effect(tenant, sessions):
    learner_id = post_learner(tenant)
    ids = run_pending(sessions)
    before = codes(sessions, learner_id)
    for event_id in ids:
        with sessions() as s:
            assert process(s, event_id) is False
    assert codes(sessions, learner_id) == before
    with sessions() as s:
        assert len(s.scalars(select(AuditEvent)).all()) == 1


def test_unknown_tags_are_reported_and_assign_nothing(tenant, sessions):
    learner_id = post_learner(tenant, training_tags="CYBER,NOPE-1")
    run_pending(sessions)
    assert "NOPE-1" not in {c for c, _ in codes(sessions, learner_id)}
    with sessions() as s:
        assert s.scalars(select(AuditEvent)).one().outcome["unknown_tags"] == ["NOPE-1"]


def test_deactivation_archives_and_reactivation_resumes(tenant, sessions):
    learner_id = post_learner(tenant)
    run_pending(sessions)
    tenant.patch(f"Users/{learner_id}", json={"Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    run_pending(sessions)
    assert {s for _, s in codes(sessions, learner_id)} == {"archived"}
    tenant.patch(f"Users/{learner_id}", json={"Operations": [{"op": "Replace", "path": "active", "value": "True"}]})
    run_pending(sessions)
    assert {s for _, s in codes(sessions, learner_id)} == {"assigned"}


def test_stale_event_processed_late_reflects_the_latest_state(tenant, sessions):
    learner_id = post_learner(tenant)
    move_to_state(tenant, learner_id, "New York")
    with sessions() as s:
        first, second = s.scalars(select(ProvisioningEvent.id).order_by(ProvisioningEvent.id)).all()
    for event_id in (second, first):  # out of order
        with sessions() as s:
            process(s, event_id)
    got = {c for c, _ in codes(sessions, learner_id)}
    assert "HP-NY-SUP" in got and "HP-CA-SUP" not in got


def test_relay_finds_only_events_still_owed_after_the_delay(tenant, sessions):
    post_learner(tenant)
    with sessions() as s:
        assert pending_event_ids(s, utcnow() - timedelta(seconds=60)) == []
        owed = pending_event_ids(s, utcnow() + timedelta(seconds=1))
        assert len(owed) == 1
    run_pending(sessions)
    with sessions() as s:
        assert pending_event_ids(s, utcnow() + timedelta(seconds=1)) == []
