"""Webhooks end to end in-process: SCIM and the admin API change things, the workers' code writes
the events and delivers them to a real HTTP server, which verifies them with the Standard
Webhooks library."""

import json
import logging
import threading
from datetime import timedelta

from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from harness.stack import wait_for
from models import LearnerTraining, WebhookDelivery, WebhookEndpoint, utcnow
from models.webhook import EVENT_TYPES
from tests.api.conftest import post_learner, run_events, user_body
from tests.webhooks.conftest import add_endpoint, deliver, endpoint_row
from tests.webhooks.receiver import Receiver
from workers import recertify
from workers.webhooks import write_due_soon

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def verified(receiver, secret):
    """Every request the receiver got, verified with the library (raises on a bad signature)."""
    hook = Webhook(secret)
    return [hook.verify(r["body"], r["headers"]) for r in receiver.requests]


def set_active(tenant, learner_id, active):
    resp = tenant.patch(
        f"Users/{learner_id}", json={"Operations": [{"op": "replace", "path": "active", "value": active}]}
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)


def test_every_event_type_arrives_signed_with_the_manager_chain(tenant, api, sessions, settings, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    endpoint_id, secret = add_endpoint(sessions, settings, tenant.id, receiver.url)
    boss = post_learner(tenant, "boss@acme.example")
    body = user_body("jdoe@acme.example")
    body[ENTERPRISE]["manager"] = {"value": "boss"}  # the boss's externalId, as Entra sends it
    resp = tenant.post("Users", json=body)
    assert resp.status_code == 201
    jdoe = resp.get_json()["id"]
    run_events(sessions)
    resp = tenant.patch(
        f"Users/{jdoe}", json={"Operations": [{"op": "replace", "path": "displayName", "value": "Jo D."}]}
    )
    assert resp.status_code == 200
    run_events(sessions)
    with sessions() as s:
        first, second = s.scalars(
            select(LearnerTraining).where(LearnerTraining.learner_id == jdoe).order_by(LearnerTraining.id)
        ).all()[:2]
        due = second.due_at
    completed = api.patch(f"learner_trainings/{first.id}", json={"status": "completed"})
    assert completed.status_code == 200
    with sessions() as s:  # the hourly run finds the open ones due within the lead time
        assert write_due_soon(s, due - timedelta(days=3)) > 0
        s.commit()
    recertify.run(sessions, tenant.id, as_of=(due + timedelta(days=1)).date())  # past due: overdue
    set_active(tenant, jdoe, False)
    run_events(sessions)
    set_active(tenant, jdoe, True)
    run_events(sessions)

    assert deliver(sessions, settings, endpoint_id) == len(receiver.requests) > 0
    events = verified(receiver, secret)
    assert {e["type"] for e in events} == set(EVENT_TYPES)
    for event in events:
        if event["data"]["learner"]["id"] == jdoe:
            assert [m["id"] for m in event["data"]["managers"]] == [boss]
    created = [e for e in events if e["type"] == "assignment.created" and e["data"]["learner"]["id"] == jdoe]
    assert created[0]["data"]["training"]["code"] and created[0]["data"]["reason"]
    ids = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert len(ids) == len(set(ids))
    assert secret not in caplog.text and secret.removeprefix("whsec_") not in caplog.text
    with sessions() as s:  # the secret is kept encrypted, not as given
        assert secret not in s.get(WebhookEndpoint, endpoint_id).secret_sealed


def test_a_receiver_down_then_back_gets_everything_in_order_per_learner(tenant, sessions, settings):
    answers = iter([503, 503])
    receiver = Receiver(status=lambda: next(answers, 200))
    try:
        endpoint_id, secret = add_endpoint(
            sessions, settings, tenant.id, receiver.url, "learner.created,learner.updated"
        )
        ids = [post_learner(tenant, f"u{n}@acme.example") for n in range(3)]
        run_events(sessions)
        for n, learner_id in enumerate(ids):
            tenant.patch(
                f"Users/{learner_id}",
                json={"Operations": [{"op": "replace", "path": "displayName", "value": f"Renamed {n}"}]},
            )
        run_events(sessions)
        assert deliver(sessions, settings, endpoint_id) == 0  # down: the first fails, nothing overtakes it
        assert len(receiver.requests) == 1
        later = utcnow() + timedelta(hours=1)
        from workers.webhooks import drain

        assert drain(sessions, endpoint_id, settings.webhook_key, True, False, now_fn=lambda: later) == 0
        assert (
            drain(sessions, endpoint_id, settings.webhook_key, True, False, now_fn=lambda: later + timedelta(hours=1))
            == 6
        )
        events = verified(receiver, secret)
        received_ids = [r["headers"]["webhook-id"] for r in receiver.requests]
        # Duplicates only by webhook-id: the two failed attempts were the first event again.
        assert received_ids[:3] == [received_ids[0]] * 3 and len(set(received_ids)) == 6
        for learner_id in ids:
            mine = [e["type"] for e in events[2:] if e["data"]["learner"]["id"] == learner_id]
            assert mine == ["learner.created", "learner.updated"]
        assert endpoint_row(sessions, endpoint_id).failing_since is None
    finally:
        receiver.close()


def test_a_hanging_receiver_does_not_hold_up_another_company(tenant, other_tenant, sessions, settings):
    hanging, healthy = Receiver(), Receiver()
    hanging.hang = threading.Event()
    try:
        slow_id, _ = add_endpoint(sessions, settings, tenant.id, hanging.url, "learner.created")
        fast_id, secret = add_endpoint(sessions, settings, other_tenant.id, healthy.url, "learner.created")
        post_learner(tenant, "a@acme.example")
        post_learner(other_tenant, "b@globex.example")
        run_events(sessions)
        stuck = threading.Thread(target=deliver, args=(sessions, settings, slow_id))
        stuck.start()
        wait_for(lambda: hanging.arrived == 1, 20, message="the first company's delivery hanging")
        assert deliver(sessions, settings, fast_id) == 1  # while the other company's receiver hangs
        assert [e["type"] for e in verified(healthy, secret)] == ["learner.created"]
        assert stuck.is_alive() and hanging.requests == []
        hanging.hang.set()
        stuck.join(30)
    finally:
        hanging.close()
        healthy.close()


def test_three_days_of_failures_disable_the_endpoint_and_say_why(tenant, sessions, settings):
    receiver = Receiver(status=500)
    try:
        endpoint_id, _ = add_endpoint(sessions, settings, tenant.id, receiver.url)
        post_learner(tenant)
        run_events(sessions)
        from workers.webhooks import drain

        start = utcnow()
        for hours in (0, 1, 30, 60, 73):
            drain(
                sessions,
                endpoint_id,
                settings.webhook_key,
                True,
                False,
                now_fn=lambda h=hours: start + timedelta(hours=h),
            )
        endpoint = endpoint_row(sessions, endpoint_id)
        assert endpoint.enabled is False
        assert "failed for three days" in endpoint.disabled_reason and "HTTP 500" in endpoint.disabled_reason
        with sessions() as s:
            pending = s.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)).all()
        assert pending and all(d.status == "pending" for d in pending)  # kept for when it is fixed
    finally:
        receiver.close()


def test_nothing_is_written_for_a_company_without_endpoints(tenant, sessions):
    post_learner(tenant)
    run_events(sessions)
    with sessions() as s:
        assert s.scalars(select(WebhookDelivery)).all() == []


def test_payload_is_plain_json(tenant, sessions, settings, receiver):
    endpoint_id, _ = add_endpoint(sessions, settings, tenant.id, receiver.url, "learner.created")
    post_learner(tenant)
    run_events(sessions)
    deliver(sessions, settings, endpoint_id)
    request = receiver.requests[0]
    assert request["headers"]["content-type"] == "application/json"
    assert json.loads(request["body"])["type"] == "learner.created"


def test_one_run_at_a_time_per_endpoint_and_a_stale_run_leaves_the_new_lease_alone(tenant, sessions, settings):
    from workers.webhooks import claim, release

    endpoint_id, _ = add_endpoint(sessions, settings, tenant.id, "https://hr.example.com/hook")
    now = utcnow()
    first = claim(sessions, endpoint_id, now)
    assert first is not None and claim(sessions, endpoint_id, now) is None
    assert deliver(sessions, settings, endpoint_id) == -1  # the holder sends them, in order
    later = now + timedelta(minutes=5)  # the first run died: its lease expired
    second = claim(sessions, endpoint_id, later)
    assert second is not None
    release(sessions, endpoint_id, first)  # the dead run's late release
    assert endpoint_row(sessions, endpoint_id).lease_until == second
    release(sessions, endpoint_id, second)
    assert endpoint_row(sessions, endpoint_id).lease_until is None
