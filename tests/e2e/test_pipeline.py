"""End to end: gunicorn, a real Celery worker, a real Redis and the test database.

A learner POSTed over SCIM shows its Smart Assign trainings in the admin API shortly
after, with one audit entry: the whole path of "How a change flows" in docs/features.md, in processes.
"""

import time

import pytest
import requests
from sqlalchemy import select

from harness.stack import learner_body, wait_for
from models import AuditEvent, ProvisioningEvent
from tests.conftest import make_tenant

pytestmark = pytest.mark.e2e

# What Smart Assign owes the recorded Entra learner: a California supervisor tagged CYBER,HIPAA.
EXPECTED = {"HP-CA-SUP", "WVP-CA", "CYBER", "HIPAA"}
# "Within seconds" from the 201, on a loaded 2-core CI machine.
WITHIN_SECONDS = 10


def api_training_codes(herd, tenant, learner_id):
    resp = requests.get(
        f"{herd.url}/api/v1/learner_trainings",
        params={"learner_id": learner_id},
        headers={"Authorization": f"Bearer {tenant.token}"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return {row["training_code"] for row in resp.json()["data"]}


def test_a_learner_posted_over_scim_has_its_trainings_within_seconds(e2e_redis_url, herd_stack, sessions):
    tenant = make_tenant(sessions, None, "Acme", 7)
    herd = herd_stack(e2e_redis_url)
    herd.start_web()
    herd.start_worker()

    resp = herd.post_user(tenant, learner_body(1))
    posted = time.monotonic()
    assert resp.status_code == 201, resp.text
    learner_id = resp.json()["id"]

    def trainings_shown():
        codes = api_training_codes(herd, tenant, learner_id)
        return codes if codes >= EXPECTED else None

    codes = wait_for(
        trainings_shown,
        WITHIN_SECONDS,
        interval=0.1,
        message=f"trainings of learner {learner_id} in /api/v1/learner_trainings",
        on_timeout=herd.tails,
        procs=herd.procs,
    )
    elapsed = time.monotonic() - posted
    print(f"trainings visible {elapsed:.2f}s after the 201: {sorted(codes)}")

    with sessions() as s:
        event = s.scalars(select(ProvisioningEvent)).one()
        audit = s.scalars(select(AuditEvent)).all()
    assert event.processed_at is not None and event.resource_id == learner_id
    assert [(a.event_id, a.learner_id, a.action) for a in audit] == [(event.id, learner_id, "create")]
    assert set(audit[0].outcome["trainings_added"]) == codes
