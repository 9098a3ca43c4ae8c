"""/metrics shows each Celery queue's depth and the age of its oldest message, and the live
events' commit-to-processed histogram the live workers keep in the broker."""

import json
import time
from datetime import timedelta

import fakeredis
import pytest

from config.celery import SENT_AT_HEADER
from models import utcnow
from service.edge import health
from tests.edge.test_front_door import _sample
from workers import live_latency


@pytest.fixture()
def broker(monkeypatch):
    server = fakeredis.FakeServer()
    client = fakeredis.FakeRedis(server=server)
    monkeypatch.setattr(health, "broker_client", lambda: client)
    monkeypatch.setattr(health, "check_broker", lambda: (True, "ok"))
    monkeypatch.setattr(live_latency, "_clients", {"redis://broker": fakeredis.FakeRedis(server=server)})
    return client


def message(sent_at=None):
    """A task message as Celery's Redis transport stores it (headers inside the JSON envelope)."""
    headers = {"task": "herd.provisioning.process_events"}
    if sent_at is not None:
        headers[SENT_AT_HEADER] = sent_at
    return json.dumps({"body": "", "headers": headers, "properties": {}})


def test_metrics_show_each_queue_and_the_age_of_its_oldest_message(client, tenant, broker):
    now = time.time()
    # Celery pushes on the left and the workers pop from the right: the oldest is last.
    broker.lpush("live", message(now - 600), message(now - 5))
    broker.lpush("celery", message())  # queued by a release before the header: age unknown
    text = client.get("/metrics").get_data(as_text=True)
    assert _sample(text, "herd_queue_depth", queue="live") == 2
    assert _sample(text, "herd_queue_depth", queue="bulk") == 0
    assert _sample(text, "herd_queue_depth", queue="celery") == 1
    assert 600 <= _sample(text, "herd_queue_oldest_message_age_seconds", queue="live") < 3600
    assert _sample(text, "herd_queue_oldest_message_age_seconds", queue="bulk") == 0
    assert _sample(text, "herd_queue_oldest_message_age_seconds", queue="celery") == 0


def test_metrics_show_the_live_events_commit_to_processed_histogram(client, tenant, broker):
    now = utcnow()
    live_latency.observe("redis://broker", [now - timedelta(seconds=0.05), now - timedelta(seconds=3)], now=now)
    live_latency.observe("redis://broker", [now - timedelta(seconds=40)], now=now)
    text = client.get("/metrics").get_data(as_text=True)
    bucket = "herd_live_event_latency_seconds_bucket"
    assert _sample(text, bucket, le="0.1") == 1
    assert _sample(text, bucket, le="5.0") == 2
    assert _sample(text, bucket, le="60.0") == 3
    assert _sample(text, bucket, le="+Inf") == 3
    assert _sample(text, "herd_live_event_latency_seconds_count") == 3
    assert _sample(text, "herd_live_event_latency_seconds_sum") == pytest.approx(43.05)
