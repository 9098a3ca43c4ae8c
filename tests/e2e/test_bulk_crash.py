"""A gunicorn worker SIGKILLed half-way through a 1,000-operation /Bulk request (real processes).

Each operation is its own transaction with its event (service/scim/bulk.py): what committed
before the kill stays, each with exactly one event; the operation in flight is rolled back
with nothing of it left. The IdP, having no answer, sends the same request again: the
learners already made answer 409 (userName is unique), the others 201, and the company ends
with 1,000 learners and 1,000 create events, none twice.
"""

import os
import signal
import threading
from collections import Counter

import pytest
import requests
from sqlalchemy import func, select

from harness.stack import child_pids, wait_for
from models import Company, Learner, ProvisioningEvent
from tests.conftest import make_tenant

pytestmark = pytest.mark.e2e

OPERATIONS = 1_000
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def bulk_body():
    return {
        "schemas": [BULK_REQUEST],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": f"u{n}",
                "data": {"userName": f"bulk{n}@acme.example", "displayName": f"Bulk {n}"},
            }
            for n in range(OPERATIONS)
        ],
    }


def state(sessions):
    """(learners, their userNames' counts, events per learner) as the database has them now."""
    with sessions() as s:
        names = s.scalars(select(Learner.user_name)).all()
        learners = s.scalars(select(Learner.id)).all()
        events = s.execute(select(ProvisioningEvent.resource_id, ProvisioningEvent.action)).all()
    return names, learners, events


def test_a_worker_killed_mid_bulk_loses_and_duplicates_nothing(e2e_redis_url, herd_stack, sessions):
    tenant = make_tenant(sessions, None, "Acme", 7)
    with sessions() as s:
        # The budget is not under test here: no operation waits for the next second.
        company = s.get(Company, tenant.id)
        company.rate_limit_per_second, company.rate_limit_per_minute = 100_000, 1_000_000
        s.commit()
    herd = herd_stack(e2e_redis_url)
    web = herd.start_web(workers=1, relay=False)
    url = f"{herd.url}/scim/v2/{tenant.id}/Bulk"
    headers = {"Authorization": f"Bearer {tenant.token}", "Content-Type": "application/scim+json"}

    answer = {}

    def send():
        try:
            answer["response"] = requests.post(url, json=bulk_body(), headers=headers, timeout=120)
        except requests.RequestException as exc:
            answer["error"] = exc

    sender = threading.Thread(target=send)
    sender.start()

    def learners():
        with sessions() as s:
            return s.scalar(select(func.count()).select_from(Learner))

    wait_for(lambda: learners() >= 50, 60, interval=0.02, message="50 operations committed", on_timeout=herd.tails)
    (worker,) = child_pids(web.pid)
    os.kill(worker, signal.SIGKILL)
    sender.join(timeout=120)
    assert "error" in answer, f"the request must die with its worker, not answer {answer.get('response')}"

    names, ids, events = state(sessions)
    assert 50 <= len(ids) < OPERATIONS, "killed half-way"
    # Every committed operation has exactly its one event; nothing of the one in flight is left.
    assert Counter(events) == Counter({(i, "create"): 1 for i in ids})
    assert max(Counter(n.lower() for n in names).values()) == 1
    made_before = set(names)

    # gunicorn replaces the worker; the IdP sends the same request again.
    wait_for(
        lambda: requests.get(f"{herd.url}/healthz", timeout=2).status_code == 200,
        30,
        message="gunicorn's new worker",
        on_timeout=herd.tails,
    )
    resp = requests.post(url, json=bulk_body(), headers=headers, timeout=120)
    assert resp.status_code == 200, resp.text
    results = resp.json()["Operations"]
    assert len(results) == OPERATIONS
    statuses = Counter(r["status"] for r in results)
    assert statuses == Counter({"409": len(made_before), "201": OPERATIONS - len(made_before)})
    for n, result in enumerate(results):
        expected = "409" if f"bulk{n}@acme.example" in made_before else "201"
        assert result["bulkId"] == f"u{n}" and result["status"] == expected

    names, ids, events = state(sessions)
    assert len(ids) == OPERATIONS and sorted(names) == sorted(f"bulk{n}@acme.example" for n in range(OPERATIONS))
    assert Counter(events) == Counter({(i, "create"): 1 for i in ids})
