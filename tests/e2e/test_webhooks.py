"""Webhook drills with real processes: gunicorn, the relay, the Smart Assign worker, the
``webhooks`` worker (its own queue, threads) and beat, against a receiver started here.

The webhooks worker is SIGKILLed while a delivery is in flight, then Redis is stopped while
more learners arrive; once both are back, the receiver has every event, signed, and the
only repeat is the delivery that was in flight (same webhook-id)."""

import dataclasses
import threading
from collections import Counter

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from harness.stack import learner_body, wait_for
from models import WebhookDelivery, WebhookMessage
from tests.conftest import make_tenant
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.e2e
CATCH_UP_SECONDS = 90


def delivered(sessions):
    with sessions() as s:
        rows = s.scalars(select(WebhookDelivery)).all()
    return len(rows), sum(d.status == "delivered" for d in rows)


def test_worker_killed_mid_delivery_then_broker_down_nothing_lost(
    own_redis, herd_stack, sessions, settings, monkeypatch
):
    from service.webhooks.endpoints import create_endpoint

    monkeypatch.setenv("WEBHOOKS_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("WEBHOOK_LEASE_SECONDS", "3")
    receiver = Receiver()
    receiver.hang = threading.Event()
    tenant = make_tenant(sessions, None, "Acme", 7)
    with sessions() as s:  # SECRET_KEY as the stack's processes have it
        _, secret = create_endpoint(
            s, tenant.id, receiver.url, "learner.created", dataclasses.replace(settings, secret_key="e2e-secret")
        )
        s.commit()
    herd = herd_stack(own_redis.url, relay_after_seconds=2)
    try:
        herd.start_web()
        herd.start_worker("worker")
        hooks = herd.start_worker("webhooks-1", pool="threads", concurrency=4, queues="webhooks")
        herd.start_beat()
        for n in range(3):
            assert herd.post_user(tenant, learner_body(n)).status_code == 201
        wait_for(lambda: receiver.arrived >= 1, 60, message="a delivery in flight", on_timeout=herd.tails)
        hooks.kill()  # mid-delivery: its outcome is never recorded
        receiver.hang.set()
        own_redis.stop()
        for n in range(3, 6):  # the broker is down: SCIM still answers, the outbox keeps the events
            assert herd.post_user(tenant, learner_body(n)).status_code == 201
        own_redis.start()
        herd.start_worker("webhooks-2", pool="threads", concurrency=4, queues="webhooks")
        wait_for(
            lambda: delivered(sessions) == (6, 6),
            CATCH_UP_SECONDS,
            message="every learner.created delivered",
            on_timeout=lambda: f"{delivered(sessions)}\n{herd.tails()}",
        )
        with sessions() as s:
            expected = {m.webhook_id for m in s.scalars(select(WebhookMessage))}
        hook = Webhook(secret)
        for request in receiver.requests:
            hook.verify(request["body"], request["headers"])
        seen = Counter(r["headers"]["webhook-id"] for r in receiver.requests)
        assert set(seen) == expected and len(expected) == 6
        assert sum(seen.values()) - len(seen) <= 1, f"only the delivery in flight may repeat: {seen}"
    finally:
        receiver.close()
