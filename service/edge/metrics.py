"""Prometheus metrics of the web processes and of the outbox, served at ``GET /metrics``.

Requests are counted by route template (``/scim/v2/<int:company_id>/Users``, never
the raw path; ``<unmatched>`` for a URL no route serves), method and status, with a
latency histogram. Every label comes from a closed set: a method outside the standard
ones counts as ``OTHER`` (anyone can invent methods, and each new label value would be
a new series in every scrape, for ever).
Across gunicorn workers: when ``PROMETHEUS_MULTIPROC_DIR`` is set (``gunicorn.conf.py``
gives each gunicorn master a private one) every worker writes its samples there and
whichever worker answers ``/metrics`` adds them all up (prometheus_client's
multiprocess mode). Without it (one process, the test client) the process's own
registry is served.

The outbox figures (events waiting, age of the oldest, relay runs), the Celery queues
(depth, age of the oldest message, live events' commit-to-processed histogram; see
``service/edge/queues.py``) and whether the database and broker answer are read when
``/metrics`` is scraped, not counted.

With ``METRICS_TOKEN`` set, ``/metrics`` answers only ``Authorization: Bearer <token>``
(compared by hash, in constant time); production requires it (``config.Settings``).
"""

import contextlib
import hashlib
import hmac
import os
import time

import redis
from flask import Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select

from config.celery import RELAY_STATS_KEY
from models import ProvisioningEvent, utcnow
from service import db
from service.edge import health, queues
from service.oauth.clients import expiring_secret_count

REQUESTS = Counter(
    "herd_http_requests_total",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "herd_http_request_duration_seconds",
    "Time from the request reaching Flask to the response leaving it, by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
REFUSED = Counter(
    "herd_http_refused_total",
    "SCIM and admin API calls answered with an error (4xx/5xx), by route template, status and SCIM scimType.",
    ["route", "status", "scim_type"],
)
RATE_LIMITED = Counter(
    "herd_http_rate_limited_total",
    "Requests refused because their client is over its rate budget (429), by route template.",
    ["route"],
)
UNMATCHED = "<unmatched>"
# The methods counted by name (RFC 9110's and PATCH); any other is counted as OTHER.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})
OTHER_METHOD = "OTHER"


def route_label():
    """The current request's route template (``<unmatched>`` for a URL no route serves)."""
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


def method_label():
    """The current request's method, or ``OTHER`` for one outside ``METHODS``."""
    method = request.method
    return method if method in METHODS else OTHER_METHOD


def _start_timer():
    g.herd_started = time.perf_counter()


# Each request's series, looked up once per process: ``labels()`` validates its values and
# takes the metric's lock on every call, and every label here comes from a closed set
# (route templates, methods, statuses), so the dictionaries stay small.
_counted = {}
_timed = {}


def _count(response):
    route = route_label()
    status = response.status_code
    method = method_label()
    key = (route, method, status)
    counter = _counted.get(key)
    if counter is None:
        counter = _counted[key] = REQUESTS.labels(route, method, str(status))
    counter.inc()
    started = g.get("herd_started")
    if started is not None:
        timer = _timed.get(key[:2])
        if timer is None:
            timer = _timed[key[:2]] = LATENCY.labels(route, method)
        timer.observe(time.perf_counter() - started)
    if status == 429 and not g.get("herd_rate_limit_counted"):
        RATE_LIMITED.labels(route).inc()
    if status >= 400 and request.path.startswith(("/scim/", "/api/")):
        REFUSED.labels(route, str(status), _scim_type(response)).inc()
    return response


def _scim_type(response):
    """The scimType of a SCIM Error body ("" when there is none)."""
    if not response.is_json or response.direct_passthrough:
        return ""
    body = response.get_json(silent=True)
    value = body.get("scimType") if isinstance(body, dict) else None
    return value if isinstance(value, str) and len(value) <= 32 else ""


class _ScrapeTimeCollector:
    """Outbox and dependency figures, read once per scrape."""

    def __init__(self, families):
        self._families = families

    def collect(self):
        return self._families


def _scrape_time_families():
    families = []
    db_ok, _ = health.check_database()
    broker_ok, _ = health.check_broker()
    up = GaugeMetricFamily(
        "herd_dependency_up", "1 when the dependency answers this web process.", labels=["dependency"]
    )
    up.add_metric(["database"], 1 if db_ok else 0)
    up.add_metric(["broker"], 1 if broker_ok else 0)
    families.append(up)
    if db_ok:
        pending, oldest = (
            db.session()
            .execute(
                select(func.count(), func.min(ProvisioningEvent.created_at)).where(
                    ProvisioningEvent.processed_at.is_(None)
                )
            )
            .one()
        )
        age = max(0.0, (utcnow() - oldest).total_seconds()) if oldest is not None else 0.0
        families.append(
            GaugeMetricFamily(
                "herd_outbox_pending_events", "Provisioning events committed but not yet processed.", value=pending
            )
        )
        families.append(
            GaugeMetricFamily(
                "herd_outbox_oldest_pending_age_seconds",
                "Age of the oldest event not yet processed (0 when none waits).",
                value=age,
            )
        )
        families.append(
            GaugeMetricFamily(
                "herd_oauth_client_secrets_expiring",
                "OAuth client secrets still valid that expire within 30 days (rotate them).",
                value=expiring_secret_count(db.session()),
            )
        )
    if broker_ok:
        families.extend(_relay_families())
        # The broker going away between the ping and now only leaves these figures out.
        with contextlib.suppress(redis.RedisError):
            families.extend(queues.queue_families(health.broker_client()))
    return families


def _relay_families():
    """The beat relay's own record, which it keeps in the broker (see workers/tasks.py)."""
    try:
        stats = health.broker_client().hgetall(RELAY_STATS_KEY)
    except Exception:  # the broker went away between the ping and now: skip these figures
        return []
    stats = {k.decode(): v.decode() for k, v in stats.items()}
    runs = CounterMetricFamily("herd_outbox_relay_runs", "Runs of the beat relay that re-enqueues late events.")
    runs.add_metric([], float(stats.get("runs", 0)))
    relayed = CounterMetricFamily("herd_outbox_relayed_events", "Events the relay handed to the workers again.")
    relayed.add_metric([], float(stats.get("relayed", 0)))
    families = [runs, relayed]
    if "last_run" in stats:
        families.append(
            GaugeMetricFamily(
                "herd_outbox_last_relay_timestamp_seconds",
                "Unix time of the relay's last run (beat stopped when this stops moving).",
                value=float(stats["last_run"]),
            )
        )
    return families


def _token_hash(token):
    return hashlib.sha256(token.encode()).digest()


def _authorized():
    """True when no METRICS_TOKEN is set or the request carries it as a bearer token."""
    expected = current_app.extensions.get("herd.metrics_token_hash")
    if expected is None:
        return True
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Hashes of equal length compared in constant time: neither the token nor its length leaks.
    return hmac.compare_digest(_token_hash(token.strip()), expected)


def metrics_view():
    """The Prometheus text exposition of every web process plus the scrape-time figures."""
    if not _authorized():
        return Response(
            "Send the METRICS_TOKEN as 'Authorization: Bearer <token>'.\n",
            status=401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
        )
    extra = CollectorRegistry(auto_describe=False)
    extra.register(_ScrapeTimeCollector(_scrape_time_families()))
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    body += generate_latest(extra)
    return Response(body, mimetype=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def init_app(app, settings):
    """Time and count every request; serve ``/metrics`` (behind ``settings.metrics_token`` when set)."""
    if settings.metrics_token:
        # Only the hash is kept: the token itself stays in the settings it was read from.
        app.extensions["herd.metrics_token_hash"] = _token_hash(settings.metrics_token)
    app.before_request(_start_timer)
    app.after_request(_count)
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
