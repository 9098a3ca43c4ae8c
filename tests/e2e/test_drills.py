"""Reliability drills (docs/testing.md, "Reliability drills"), with real processes.

- Redis stopped (or frozen) while learners are POSTed: every POST still answers 201 at once
  (the web never talks to the broker), and once Redis is back (same port) the outbox relay
  publishes the owed events: every learner gets its trainings and exactly one audit entry.
- A worker SIGKILLed mid-task during a burst of 50 events: after a new worker starts,
  every event is processed exactly once and no assignment is duplicated.

The drills run on a redis-server of their own (``own_redis``), never on a shared one.
"""

import os
import signal
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from harness.stack import child_pids, learner_body, unacked_messages, wait_for, writes_blocked
from models import AuditEvent, LearnerTraining, ProvisioningEvent
from tests.conftest import make_tenant

pytestmark = pytest.mark.e2e

EXPECTED = {"HP-CA-SUP", "WVP-CA", "CYBER", "HIPAA"}
# A relay every 5 s (the beat's floor) for events older than 2 s, worker reconnect backoff:
# everything owed must be done well inside this.
CATCH_UP_SECONDS = 90
# Fail fast: with Redis down a POST does not wait for it at all (the outbox relay publishes).
MAX_POST_SECONDS_BROKER_DOWN = 4.0
WEB_WORKERS = 2


def post_learners(herd, tenant, numbers):
    """POST learners ``numbers``; every answer must be 201. Returns {learner id: seconds taken}."""
    taken = {}
    for n in numbers:
        start = time.monotonic()
        resp = herd.post_user(tenant, learner_body(n))
        seconds = time.monotonic() - start
        assert resp.status_code == 201, f"learner {n}: {resp.status_code} {resp.text}\n{herd.tails()}"
        taken[resp.json()["id"]] = seconds
    return taken


def counts(sessions):
    with sessions() as s:
        events = s.scalar(select(func.count()).select_from(ProvisioningEvent))
        done = s.scalar(
            select(func.count()).select_from(ProvisioningEvent).where(ProvisioningEvent.processed_at.is_not(None))
        )
        audit = s.scalar(select(func.count()).select_from(AuditEvent))
    return events, done, audit


def wait_all_processed(sessions, herd, expected_events, timeout=CATCH_UP_SECONDS):
    def all_done():
        events, done, audit = counts(sessions)
        return events == expected_events and done == events and audit == events

    wait_for(
        all_done,
        timeout,
        interval=0.25,
        message=f"all {expected_events} events processed ((events, done, audit) = {counts(sessions)} at first)",
        on_timeout=lambda: f"now (events, done, audit) = {counts(sessions)}\n{herd.tails()}",
    )


def assert_processed_exactly_once(sessions, learner_ids):
    """One create event per learner, each done once, one audit entry each, no duplicate assignment."""
    with sessions() as s:
        events = s.scalars(select(ProvisioningEvent).order_by(ProvisioningEvent.id)).all()
        audit = s.scalars(select(AuditEvent)).all()
        assignments = s.scalars(select(LearnerTraining)).all()
    assert {e.resource_id for e in events} == set(learner_ids) and len(events) == len(learner_ids)
    assert all(e.processed_at is not None for e in events)
    per_event = Counter(a.event_id for a in audit)
    assert per_event == Counter({e.id: 1 for e in events}), "every event must have exactly one audit entry"
    by_learner = {}
    for row in assignments:
        by_learner.setdefault(row.learner_id, []).append(row)
    missing = [lid for lid in learner_ids if not {r.training_code for r in by_learner.get(lid, [])} >= EXPECTED]
    assert not missing, f"{len(missing)} learners without their trainings: {missing[:5]}"
    for lid, rows in by_learner.items():
        codes = Counter(r.training_code for r in rows)
        assert max(codes.values()) == 1, f"learner {lid} has a training twice: {codes}"
        cycles = [(r.family, r.cycle) for r in rows]
        assert {cycle for _, cycle in cycles} == {1}, f"learner {lid} got a second cycle: {cycles}"
    # Every learner got the same assignments as the others (they are identical but for their names).
    assert len({frozenset(r.training_code for r in rows) for rows in by_learner.values()}) == 1


@pytest.mark.parametrize("outage", ["stopped", "frozen"])
def test_redis_down_during_provisioning_every_post_succeeds_and_nothing_is_lost(
    own_redis, herd_stack, sessions, outage
):
    """``stopped``: redis-server shut down (connections refused), started again on its port.
    ``frozen``: redis-server SIGSTOPped (connections hang, as on a wedged host), then SIGCONT:
    the outbox relay's publish waits for its socket timeout; SCIM requests never do.
    """
    tenant = make_tenant(sessions, None, "Acme", 7)
    herd = herd_stack(own_redis.url, relay_after_seconds=2)
    herd.start_web(workers=WEB_WORKERS)
    herd.start_worker()
    beat = herd.start_beat()

    before = post_learners(herd, tenant, range(0, 3))
    wait_all_processed(sessions, herd, 3, timeout=15)

    own_redis.stop() if outage == "stopped" else own_redis.freeze()
    during = post_learners(herd, tenant, range(3, 15))
    slowest = max(during.values())
    assert slowest < MAX_POST_SECONDS_BROKER_DOWN, f"a POST took {slowest:.2f}s with Redis {outage}"
    slow = [s for s in during.values() if s > 1.0]
    assert len(slow) <= WEB_WORKERS, (
        f"only the first POST of each web process may wait for Redis: {sorted(during.values())}"
    )
    # Keep Redis down until the beat's relay tick has failed too (it ticks every 5 s).
    wait_for(
        lambda: "beat: Connection error" in beat.log_text(),
        15,
        message="the beat relay failing to reach Redis",
        on_timeout=herd.tails,
    )
    assert counts(sessions) == (15, 3, 3), "nothing can be processed while Redis is down"

    # Back on the same port: the web, worker and beat find it again by themselves.
    own_redis.start() if outage == "stopped" else own_redis.thaw()
    after = post_learners(herd, tenant, range(15, 18))
    wait_all_processed(sessions, herd, 18)

    assert_processed_exactly_once(sessions, [*before, *during, *after])
    relay = next(p for p in herd.procs if p.name == "relay").log_text()
    assert "broker unavailable, events wait in the outbox" in relay, "the relay must have seen the broker down"
    back = relay[relay.index("broker unavailable") :]
    assert "published" in back, "the outbox relay must have handed the owed events over once Redis was back"


def relayed_lines(worker):
    return [line for line in worker.log_text().splitlines() if "relayed" in line and "pending events" in line]


def burst_of_50(herd, tenant, sessions):
    """10 learners processed by a worker that then shuts down cleanly, 40 more waiting in Redis."""
    herd.start_web()
    first = herd.start_worker("worker-1")
    ids = list(post_learners(herd, tenant, range(0, 10)))
    wait_all_processed(sessions, herd, 10, timeout=15)
    first.stop()  # warm shutdown: nothing in flight
    ids += post_learners(herd, tenant, range(10, 50))
    assert counts(sessions) == (50, 10, 10)
    return ids


@pytest.mark.parametrize("killed", ["worker", "pool-process"])
def test_a_worker_killed_mid_task_every_event_processed_exactly_once(own_redis, herd_stack, sessions, engine, killed):
    """``worker``: the whole worker (SIGKILL to its process group, as a dying machine);
    its unacknowledged message stays with the dead consumer and the beat relay re-sends
    the event to a new worker. ``pool-process``: only the prefork child running the task;
    the worker re-queues the message (acks_late + reject_on_worker_lost) and runs it again.
    """
    tenant = make_tenant(sessions, None, "Acme", 7)
    herd = herd_stack(own_redis.url, relay_after_seconds=2)
    ids = burst_of_50(herd, tenant, sessions)

    # Hold the write lock the task needs (see stack.writes_blocked): the worker takes the
    # first of the 40 queued events and stops inside the task, its transaction open and its
    # message unacknowledged. That is the moment it is killed.
    with writes_blocked(engine):
        victim = herd.start_worker("worker-2", pool="prefork" if killed == "pool-process" else "solo")
        wait_for(
            lambda: unacked_messages(own_redis.url) == 1,
            20,
            message="the worker holding one message",
            on_timeout=herd.tails,
        )
        time.sleep(1.0)
        assert counts(sessions) == (50, 10, 10), "the worker must be stuck inside its first task"
        if killed == "worker":
            victim.kill()
        else:
            children = child_pids(victim.pid)
            assert len(children) == 1, f"prefork --concurrency 1 must have one pool process, not {children}"
            os.kill(children[0], signal.SIGKILL)
            wait_for(
                lambda: "SIGKILL" in victim.log_text() or "WorkerLostError" in victim.log_text(),
                20,
                message="the worker noticing its pool process died",
                on_timeout=herd.tails,
            )
    if killed == "worker":
        # Lock released, no worker running: the dead task's transaction was never committed,
        # and its message is still with the dead consumer.
        assert counts(sessions) == (50, 10, 10)
        assert unacked_messages(own_redis.url) == 1, "the dead worker's message is still unacknowledged"
        successor = herd.start_worker("worker-3")
        herd.start_beat()
    wait_all_processed(sessions, herd, 50)
    assert_processed_exactly_once(sessions, ids)
    if killed == "worker":
        assert relayed_lines(successor), "the event the dead worker held comes back through the relay"
    else:
        assert "WorkerLostError" in victim.log_text()
