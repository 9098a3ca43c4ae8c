"""The outbox relay (workers/relay.py): committed events reach the broker outside the request."""

import threading
import time

import pytest
from sqlalchemy import select

from models import ProvisioningEvent
from tests.workers.test_process_event import post_learner
from workers.relay import Relay, relay_once


class Broker:
    """Records published event ids; ``down`` makes publishing fail after ``fail_after`` messages."""

    def __init__(self):
        self.sent = []
        self.down = False
        self.fail_after = 0

    def publish(self, event_id):
        if self.down and len(self.sent) >= self.fail_after:
            raise ConnectionError("broker down")
        self.sent.append(event_id)


def event_ids(sessions, published=None):
    with sessions() as s:
        query = select(ProvisioningEvent.id).order_by(ProvisioningEvent.id)
        if published is not None:
            column = ProvisioningEvent.published_at
            query = query.where(column.is_not(None) if published else column.is_(None))
        return s.scalars(query).all()


def test_a_posted_learner_leaves_its_event_unpublished_until_the_relay_publishes_it_once(tenant, sessions):
    post_learner(tenant, "a@acme.example")
    post_learner(tenant, "b@acme.example")
    owed = event_ids(sessions, published=False)
    assert len(owed) == 2, "the request commits the event; it does not publish it"

    broker = Broker()
    with sessions() as s:
        assert relay_once(s, broker.publish) == 2
    assert broker.sent == owed, "oldest first"
    assert event_ids(sessions, published=False) == []
    with sessions() as s:
        assert relay_once(s, broker.publish) == 0
    assert broker.sent == owed, "an event is published once"


def test_a_broker_failure_mid_batch_keeps_the_rest_owed(tenant, sessions):
    for n in range(3):
        post_learner(tenant, f"u{n}@acme.example")
    first, second, third = event_ids(sessions)
    broker = Broker()
    broker.down, broker.fail_after = True, 1
    with sessions() as s, pytest.raises(ConnectionError):
        relay_once(s, broker.publish)
    assert broker.sent == [first]
    assert event_ids(sessions, published=False) == [second, third], "unpublished events stay owed"

    broker.down = False
    with sessions() as s:
        assert relay_once(s, broker.publish) == 2
    assert broker.sent == [first, second, third]


def test_the_running_relay_publishes_a_new_event_within_a_second(tenant, sessions, engine):
    broker = Broker()
    relay = Relay(engine, sessions, broker.publish)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        time.sleep(0.3)  # the relay is listening / polling
        post_learner(tenant, "fast@acme.example")
        committed = time.monotonic()
        (event_id,) = event_ids(sessions)
        deadline = committed + 5
        while event_id not in broker.sent and time.monotonic() < deadline:
            time.sleep(0.01)
        took = time.monotonic() - committed
        assert broker.sent == [event_id]
        assert took < 1.0, f"published {took:.2f}s after the commit"

        broker.down = True  # an outage: the relay keeps the next event owed, then catches up
        post_learner(tenant, "later@acme.example")
        time.sleep(0.5)
        assert len(event_ids(sessions, published=False)) == 1
        broker.down = False
        deadline = time.monotonic() + 5
        # The relay publishes, then stamps published_at: wait for both (the stamp's commit
        # trails the publish by a moment on a loaded machine).
        while (len(broker.sent) < 2 or event_ids(sessions, published=False)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(broker.sent) == 2 and event_ids(sessions, published=False) == []
    finally:
        relay.stop()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_the_beat_relay_with_the_database_away_logs_one_line_and_waits_for_its_next_run(monkeypatch, caplog):
    """A PostgreSQL restart must not print a traceback every beat tick: one line, and the
    next tick relays what is owed."""
    from sqlalchemy import create_engine

    from models import make_session_factory
    from workers import tasks

    away = create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    monkeypatch.setattr(tasks, "sessions", lambda: make_session_factory(away))
    monkeypatch.setattr(tasks, "record_redelivery", lambda *a: None)
    try:
        assert tasks.relay_pending_events.run() == 0
    finally:
        away.dispose()
    lines = [r for r in caplog.records if r.name == "workers.tasks"]
    assert [r.getMessage() for r in lines] == [
        "relay: database unreachable (OperationalError), pending events wait for the next run"
    ]
    assert lines[0].exc_info is None
