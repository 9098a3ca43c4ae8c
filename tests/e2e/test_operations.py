"""What an operator sees, on real processes: /metrics summed across two gunicorn workers,
/readyz with the broker stopped, and the beat relay's runs in /metrics."""

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from harness.stack import learner_body, wait_for
from tests.conftest import make_tenant

pytestmark = pytest.mark.e2e

ROUTE = "/scim/v2/<int:company_id>/Users"


def sample(text, name, **labels):
    """One sample of a Prometheus exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        series, value = line.rsplit(" ", 1)
        got_name, _, got_labels = series.partition("{")
        if got_name == name and dict(re.findall(r'(\w+)="([^"]*)"', got_labels)) == labels:
            return float(value)
    return 0.0


def test_metrics_add_up_across_two_gunicorn_workers(herd_stack, sessions, tmp_path, monkeypatch):
    metrics_dir = tmp_path / "prometheus"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    herd = herd_stack("redis://127.0.0.1:1/0")  # no broker needed to count requests
    herd.start_web(workers=2)
    tenant = make_tenant(sessions, None, "Acme", 7)
    url = f"{herd.url}/scim/v2/{tenant.id}/Users"
    headers = {"Authorization": f"Bearer {tenant.token}"}

    def lookup(_):
        # A fresh connection each time, so either worker may take it.
        return requests.get(url, params={"filter": 'userName eq "nobody"'}, headers=headers, timeout=30).status_code

    def worker_pids():
        return {m.group(1) for m in (re.match(r"counter_(\d+)\.db$", p.name) for p in metrics_dir.iterdir()) if m}

    sent = 0
    # Until both workers have answered some: the server answers once one worker is up, and
    # the other may still be starting (a machine under load took long enough for 40).
    for _ in range(10):
        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(lookup, range(40))) == [200] * 40
        sent += 40
        if len(worker_pids()) == 2:
            break
    assert requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=30).status_code == 401
    # /metrics itself answers only its token (METRICS_TOKEN, set by the harness).
    assert requests.get(f"{herd.url}/metrics", timeout=30).status_code == 401

    # Each worker keeps its own file of samples ...
    assert len(worker_pids()) == 2, sorted(p.name for p in metrics_dir.iterdir())
    # ... and whichever worker answers /metrics reports the sum of both.
    for _ in range(4):
        text = herd.metrics(timeout=30)
        assert sample(text, "herd_http_requests_total", route=ROUTE, method="GET", status="200") == sent
        assert sample(text, "herd_http_requests_total", route=ROUTE, method="GET", status="401") == 1
        assert sample(text, "herd_http_request_duration_seconds_count", route=ROUTE, method="GET") == sent + 1
        assert sample(text, "herd_http_refused_total", route=ROUTE, status="401", scim_type="") == 1


def test_readyz_reports_the_broker_apart_and_scim_keeps_working(herd_stack, own_redis, sessions):
    herd = herd_stack(own_redis.url)
    herd.start_web(workers=1)
    tenant = make_tenant(sessions, None, "Acme", 7)

    ready = requests.get(f"{herd.url}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    assert ready.json()["checks"]["broker"]["ok"] is True

    own_redis.stop()
    started = time.monotonic()
    degraded = requests.get(f"{herd.url}/readyz", timeout=10)
    assert time.monotonic() - started < 5, "readiness must answer inside a load balancer's timeout"
    # The load balancer keeps this instance (200); the body says what is missing.
    assert degraded.status_code == 200
    body = degraded.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is False
    assert "SCIM keeps working" in body["checks"]["broker"]["detail"]
    # ... and it is true: Entra's calls succeed while the broker is down.
    assert herd.post_user(tenant, learner_body(1)).status_code == 201
    text = herd.metrics()
    assert sample(text, "herd_dependency_up", dependency="broker") == 0
    assert sample(text, "herd_outbox_pending_events") == 1

    own_redis.start()
    wait_for(
        lambda: requests.get(f"{herd.url}/readyz", timeout=10).json()["status"] == "ok",
        30,
        message="readyz ok again",
    )


def test_readyz_is_503_without_the_database(settings):
    """No database, nothing can be served: the load balancer must take this instance out."""
    import dataclasses

    from service import create_app

    app = create_app(dataclasses.replace(settings, database_url="postgresql://herd@127.0.0.1:1/herd"))
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["status"] == "unavailable"
    assert resp.get_json()["checks"]["database"]["ok"] is False
    assert "herd@" not in resp.get_data(as_text=True)


def test_relay_runs_show_in_metrics(herd_stack, e2e_redis_url, sessions):
    import redis

    from config.celery import RELAY_STATS_KEY

    redis.Redis.from_url(e2e_redis_url).delete(RELAY_STATS_KEY)
    herd = herd_stack(e2e_redis_url, relay_after_seconds=2)
    herd.start_web(workers=1)
    herd.start_worker()
    herd.start_beat()

    def relay_ran():
        text = herd.metrics()
        return text if sample(text, "herd_outbox_relay_runs_total") >= 1 else None

    text = wait_for(relay_ran, 60, interval=1, message="a relay run in /metrics", on_timeout=herd.tails)
    assert abs(sample(text, "herd_outbox_last_relay_timestamp_seconds") - time.time()) < 60
    assert sample(text, "herd_dependency_up", dependency="broker") == 1
