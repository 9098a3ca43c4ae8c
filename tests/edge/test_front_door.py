"""The front door: `/` leads to the dashboard, proxy headers count only when trusted,
/metrics counts real requests, and production settings are enforced at startup."""

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, Settings
from service import create_app

ROOT = Path(__file__).resolve().parents[2]
PROXIED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "herd.example.com",
}


def test_root_redirects_to_the_dashboard(client):
    resp = client.get("/")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/dashboard/"
    # ... whose sign-in page a browser then reaches.
    assert client.get("/", follow_redirects=True).request.path == "/dashboard/login"


def _whoami_app(settings, trusted_proxies):
    app = create_app(dataclasses.replace(settings, trusted_proxies=trusted_proxies))
    app.config["TESTING"] = True

    @app.get("/_whoami")
    def whoami():
        from flask import request

        return {"remote_addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    return app


def test_proxy_headers_are_ignored_unless_trusted(settings):
    """Any client can send X-Forwarded-*: by default they change nothing."""
    client = _whoami_app(settings, trusted_proxies=0).test_client()
    seen = client.get("/_whoami", headers=PROXIED, environ_base={"REMOTE_ADDR": "10.0.0.5"}).get_json()
    assert seen == {"remote_addr": "10.0.0.5", "scheme": "http", "host": "localhost"}


def test_proxy_headers_are_honoured_when_trusted(settings):
    """TRUSTED_PROXIES=1: the client address, scheme and host come from the proxy's headers."""
    client = _whoami_app(settings, trusted_proxies=1).test_client()
    seen = client.get("/_whoami", headers=PROXIED, environ_base={"REMOTE_ADDR": "10.0.0.5"}).get_json()
    assert seen == {"remote_addr": "203.0.113.7", "scheme": "https", "host": "herd.example.com"}


def test_trusted_proxies_takes_only_that_many_hops(settings):
    """A client that forges an X-Forwarded-For in front of the proxy's own entry gains nothing."""
    client = _whoami_app(settings, trusted_proxies=1).test_client()
    forged = {"X-Forwarded-For": "1.2.3.4, 203.0.113.7"}
    seen = client.get("/_whoami", headers=forged, environ_base={"REMOTE_ADDR": "10.0.0.5"}).get_json()
    assert seen["remote_addr"] == "203.0.113.7"


def test_trusted_proxies_reads_the_environment():
    assert Settings.from_env({"TRUSTED_PROXIES": "2"}).trusted_proxies == 2
    assert Settings.from_env({}).trusted_proxies == 0
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES must be a whole number"):
        Settings.from_env({"TRUSTED_PROXIES": "yes"})


# --- /metrics ---------------------------------------------------------------------------------


def _sample(text, name, **labels):
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if line.startswith(name + "{") and found != labels:
            continue
        if line.startswith(name + " ") and labels:
            continue
        return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_by_route_template_and_status(client, tenant):
    route = "/scim/v2/<int:company_id>/Users"
    before = client.get("/metrics").get_data(as_text=True)
    for _ in range(3):
        assert tenant.get("Users").status_code == 200
    assert client.get(f"{tenant.base}/Users", headers={"Authorization": "Bearer wrong"}).status_code == 401
    bad = tenant.get("Users", query_string={"filter": "userName zz 1"})
    assert bad.status_code == 400
    after = client.get("/metrics")
    assert after.status_code == 200 and after.mimetype == "text/plain"
    text = after.get_data(as_text=True)

    def delta(name, **labels):
        return _sample(text, name, **labels) - _sample(before, name, **labels)

    assert delta("herd_http_requests_total", route=route, method="GET", status="200") == 3
    assert delta("herd_http_requests_total", route=route, method="GET", status="401") == 1
    assert delta("herd_http_request_duration_seconds_count", route=route, method="GET") == 5
    assert delta("herd_http_refused_total", route=route, status="400", scim_type="invalidFilter") == 1
    assert delta("herd_http_refused_total", route=route, status="401", scim_type="") == 1
    # The raw path (with the company id) never becomes a label.
    assert f"/scim/v2/{tenant.id}/Users" not in text


def test_invented_methods_and_unknown_paths_add_no_series(client):
    """Anyone can send `curl -X QRNERXYCRSGN`: every label stays in a closed set, so /metrics
    does not grow with what strangers invent (300 such calls once added 500 KB to it)."""
    for i in range(5):
        client.open("/healthz", method=f"INVENTED{i}")
        client.open(f"/no/such/page/{i}", method=f"MADEUP{i}")
        client.get(f"/scim/v2/1/nothing-here-{i}")
    first = client.get("/metrics").get_data(as_text=True)
    for i in range(5, 60):
        client.open("/healthz", method=f"INVENTED{i}")
        client.open(f"/no/such/page/{i}", method=f"MADEUP{i}")
        client.get(f"/scim/v2/1/nothing-here-{i}")
    text = client.get("/metrics").get_data(as_text=True)
    series = {line.split(" ")[0] for line in text.splitlines() if line.startswith("herd_http_")}
    assert series == {line.split(" ")[0] for line in first.splitlines() if line.startswith("herd_http_")}
    assert "INVENTED" not in text and "MADEUP" not in text and "nothing-here" not in text
    assert _sample(text, "herd_http_requests_total", route="<unmatched>", method="OTHER", status="405") > 0
    assert (
        _sample(text, "herd_http_requests_total", route="<unmatched>", method="OTHER", status="405")
        - _sample(first, "herd_http_requests_total", route="<unmatched>", method="OTHER", status="405")
        == 55
    )


def test_metrics_answer_only_the_metrics_token_when_one_is_set(settings):
    token = "m" * 40
    client = create_app(dataclasses.replace(settings, metrics_token=token)).test_client()
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {token}"},
        {"Authorization": token},
    ):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert "herd_http" not in refused.get_data(as_text=True) and token not in refused.get_data(as_text=True)
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert scraped.status_code == 200 and "herd_http_requests_total" in scraped.get_data(as_text=True)


def test_metrics_token_is_read_from_the_environment_and_never_shown():
    settings = Settings.from_env({"METRICS_TOKEN": "secret-token-for-prometheus"})
    assert settings.metrics_token == "secret-token-for-prometheus"
    assert "secret-token-for-prometheus" not in repr(settings)


def test_metrics_report_the_outbox_and_dependencies(client, tenant):
    from tests.dashboard.helpers import user_body

    assert tenant.post("Users", json=user_body("waiting@acme.example")).status_code == 201
    text = client.get("/metrics").get_data(as_text=True)
    # The test broker is down: the event waits in the outbox, and the figures say so.
    assert _sample(text, "herd_outbox_pending_events") == 1
    assert _sample(text, "herd_outbox_oldest_pending_age_seconds") >= 0
    assert _sample(text, "herd_dependency_up", dependency="database") == 1
    assert _sample(text, "herd_dependency_up", dependency="broker") == 0


def test_a_429_is_counted_as_rate_limited(app, client):
    """Whoever refuses a call with 429 (a rate limiter) moves herd_http_rate_limited_total."""
    from flask import abort

    @app.get("/_limited")
    def limited():
        abort(429)

    before = client.get("/metrics").get_data(as_text=True)
    assert client.get("/_limited").status_code == 429
    text = client.get("/metrics").get_data(as_text=True)
    got = _sample(text, "herd_http_rate_limited_total", route="/_limited")
    assert got - _sample(before, "herd_http_rate_limited_total", route="/_limited") == 1


# --- production settings -------------------------------------------------------------------------

PRODUCTION = {
    "HERD_ENV": "production",
    "SECRET_KEY": "k" * 64,
    "PUBLIC_BASE_URL": "https://herd.example.com",
    "DATABASE_URL": "postgresql://herd@db.internal/herd",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "METRICS_TOKEN": "p" * 40,
}


def test_production_refuses_to_start_without_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    with pytest.raises(ConfigError, match="SECRET_KEY is not set") as err:
        create_app(Settings.from_env(env))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("token", [None, "tiny-tok"])
def test_production_refuses_to_start_without_a_metrics_token(token):
    """/metrics shares the public port: in production it must not answer strangers."""
    env = {k: v for k, v in PRODUCTION.items() if k != "METRICS_TOKEN"}
    if token:
        env["METRICS_TOKEN"] = token
    with pytest.raises(ConfigError, match="METRICS_TOKEN is not set") as err:
        create_app(Settings.from_env(env))
    assert "\n" not in str(err.value) and "tiny-tok" not in str(err.value)


def test_production_starts_with_everything_set():
    settings = Settings.from_env(PRODUCTION)
    assert settings.production_problems() == []
    assert create_app(settings).config["SECRET_KEY"] == "k" * 64


def test_development_needs_none_of_it():
    assert Settings.from_env({}).production_problems() == []


def _run(argv, env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION and not k.startswith("FLOWER_")}
    env.update(env_overrides)
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_gunicorn_refuses_to_start_in_production_without_secret_key():
    """The real start command: exits at once with one line, before any worker boots."""
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    argv = [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", "127.0.0.1:0", "--no-control-socket"]
    result = _run(argv, env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("herd: refusing to start with HERD_ENV=production: SECRET_KEY")
    assert "Booting worker" not in result.stderr


def test_flower_refuses_to_start_in_production_without_credentials():
    result = _run([sys.executable, "-m", "workers.flower"], PRODUCTION)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "herd: refusing to start Flower with HERD_ENV=production: set FLOWER_BASIC_AUTH=user:password "
        "(a password of 12 characters or more; every pair when several are comma-separated); "
        "Flower can revoke tasks and shows their arguments."
    )
    weak = _run([sys.executable, "-m", "workers.flower"], {**PRODUCTION, "FLOWER_BASIC_AUTH": "admin:admin"})
    assert weak.returncode == 1 and "FLOWER_BASIC_AUTH" in weak.stderr


@pytest.mark.parametrize(
    "value, refused",
    [
        ("admin:a-long-password", False),
        ("admin:a-long-password,ops:another-long-one", False),
        # Flower lets in whoever matches any pair: the weak second one was let through.
        ("admin:a-long-password,guest:guest", True),
        ("admin:a-long-password,guest:", True),
        ("admin:a-long-password,:a-long-password", True),
        ("admin:a-long-password,", True),
        ("admin:a-long-password,nocolon-long-enough", True),
        ("", True),
    ],
)
def test_flower_checks_every_credential_pair(value, refused):
    from workers.flower import flower_problem

    problem = flower_problem(Settings.from_env(PRODUCTION), {"FLOWER_BASIC_AUTH": value})
    assert (problem is not None) == refused
    if problem:
        assert "FLOWER_BASIC_AUTH" in problem and "guest" not in problem and "a-long-password" not in problem


def test_grafana_dashboard_uses_only_metrics_herd_exposes(client, tenant, monkeypatch):
    """Every herd_* series the dashboard in docs/ queries is one /metrics serves."""
    import json

    import fakeredis

    from config.celery import RELAY_STATS_KEY
    from service.edge import health

    broker = fakeredis.FakeRedis()
    broker.hset(RELAY_STATS_KEY, mapping={"runs": 3, "relayed": 1, "last_run": "1700000000.0"})
    monkeypatch.setattr(health, "broker_client", lambda: broker)
    monkeypatch.setattr(health, "check_broker", lambda: (True, "ok"))
    text = client.get("/metrics").get_data(as_text=True)
    exposed = set(re.findall(r"^# TYPE (\w+) (\w+)", text, re.MULTILINE))
    names = set()
    for name, kind in exposed:
        names.add(name)
        if kind == "counter":
            names.add(f"{name}_total")
        if kind == "histogram":
            names.update(f"{name}_{suffix}" for suffix in ("bucket", "sum", "count"))
    assert _sample(text, "herd_outbox_relay_runs_total") == 3

    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in re.findall(r"\b(herd_\w+)", target["expr"])
    }
    assert len(queried) >= 10
    assert queried - names == set()
