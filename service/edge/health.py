"""Health and readiness for load balancers and operators.

- ``/healthz`` (liveness): 200 when the process answers and the database answers.
- ``/readyz`` (readiness): the database and the broker, reported separately.
  The database is required: without it nothing can be served, so 503. The broker
  is not: SCIM requests commit the learner and its outbox event without it, and
  the beat relay hands the events to the workers once it is back. A broker that is
  down therefore answers 200 with ``"status": "degraded"``, so a load balancer
  keeps sending Entra's calls here while an operator is alerted.
"""

import time

import redis
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from service import db

bp = Blueprint("health", __name__)
# A readiness probe must answer well inside a load balancer's own timeout.
PROBE_TIMEOUT_SECONDS = 1.0


@bp.get("/healthz")
def healthz():
    """200 when the database answers; the broker is not required for SCIM to work."""
    db.session().execute(text("SELECT 1"))
    return jsonify({"status": "ok"})


def check_database():
    """(ok, detail): can this process run a query? The detail never carries a URL or password."""
    started = time.perf_counter()
    try:
        db.session().execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ready"
        db.session().rollback()
        return False, f"unreachable ({type(exc).__name__})"
    return True, f"ok in {(time.perf_counter() - started) * 1000:.0f} ms"


def broker_client():
    """A Redis client on the broker with short timeouts (one per app, reused)."""
    ext = current_app.extensions
    if "herd.broker_probe" not in ext:
        url = ext["herd.settings"].broker_url
        ext["herd.broker_probe"] = redis.Redis.from_url(
            url, socket_connect_timeout=PROBE_TIMEOUT_SECONDS, socket_timeout=PROBE_TIMEOUT_SECONDS
        )
    return ext["herd.broker_probe"]


def check_broker():
    """(ok, detail): does the broker (Redis) answer a PING?"""
    started = time.perf_counter()
    try:
        broker_client().ping()
    except Exception as exc:  # refused, timed out, auth: all mean "events wait in the outbox"
        return False, f"unreachable ({type(exc).__name__}); SCIM keeps working, events wait in the outbox"
    return True, f"ok in {(time.perf_counter() - started) * 1000:.0f} ms"


@bp.get("/readyz")
def readyz():
    """Database and broker separately: 503 without the database, 200 "degraded" without the broker."""
    db_ok, db_detail = check_database()
    broker_ok, broker_detail = check_broker()
    if not db_ok:
        status, code = "unavailable", 503
    elif not broker_ok:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    body = {
        "status": status,
        "checks": {
            "database": {"ok": db_ok, "detail": db_detail},
            "broker": {"ok": broker_ok, "detail": broker_detail},
        },
    }
    resp = jsonify(body)
    resp.status_code = code
    resp.headers["Cache-Control"] = "no-store"
    return resp
