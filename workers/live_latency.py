"""The live events' commit-to-processed time, kept in the broker for the web's ``/metrics``.

A Redis hash (``config.celery.LIVE_LATENCY_KEY``) holds a Prometheus histogram: one
cumulative counter per bucket (``le_<bound>``), ``count`` and ``sum`` (seconds). Every
live worker adds the events of each message it processed, so the figure covers all
workers on all hosts; the web serves it as ``herd_live_event_latency_seconds``.
"""

import logging

import redis

from config.celery import LIVE_LATENCY_BUCKETS, LIVE_LATENCY_KEY, latency_bucket_field
from models import utcnow

log = logging.getLogger(__name__)
_clients = {}


def observe(broker_url, committed_at, now=None):
    """Add the time from each commit in ``committed_at`` to ``now``; best effort (never raises)."""
    if not committed_at:
        return
    now = now or utcnow()
    seconds = [max(0.0, (now - at).total_seconds()) for at in committed_at]
    client = _client(broker_url)
    try:
        with client.pipeline() as pipe:
            for bound in LIVE_LATENCY_BUCKETS:
                within = sum(1 for s in seconds if s <= bound)
                if within:
                    pipe.hincrby(LIVE_LATENCY_KEY, latency_bucket_field(bound), within)
            pipe.hincrby(LIVE_LATENCY_KEY, "count", len(seconds))
            pipe.hincrbyfloat(LIVE_LATENCY_KEY, "sum", round(sum(seconds), 6))
            pipe.execute()
    except redis.RedisError as exc:  # the broker went away: the figure misses these events
        log.warning("live latency not recorded (%s)", type(exc).__name__)


def _client(broker_url):
    """One client per broker URL and process (redis-py's pool reconnects after a fork)."""
    if broker_url not in _clients:
        _clients[broker_url] = redis.Redis.from_url(broker_url, socket_connect_timeout=1, socket_timeout=2)
    return _clients[broker_url]
