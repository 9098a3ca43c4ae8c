"""The record of beat's re-delivery runs (``relay_pending``), kept in the broker for the web's ``/metrics``.

Not the outbox relay process (``workers/relay.py``): this counts the periodic task that hands
over again the events a lost message left pending.

A Redis hash (``config.celery.RELAY_STATS_KEY``): ``runs``, ``relayed`` (events handed
over again) and ``last_run`` (Unix time). Operators alert when ``last_run`` stops
moving (beat is down) or ``relayed`` climbs (the broker or the workers lose events).
"""

import logging
import time

import redis

from config.celery import RELAY_STATS_KEY

log = logging.getLogger(__name__)


def record_redelivery(broker_url, relayed, now=None):
    """Count one relay run that re-enqueued ``relayed`` events; best effort (never raises)."""
    client = redis.Redis.from_url(broker_url, socket_connect_timeout=1, socket_timeout=2)
    try:
        with client.pipeline() as pipe:
            pipe.hincrby(RELAY_STATS_KEY, "runs", 1)
            pipe.hincrby(RELAY_STATS_KEY, "relayed", relayed)
            pipe.hset(RELAY_STATS_KEY, "last_run", f"{now or time.time():.3f}")
            pipe.execute()
    except redis.RedisError as exc:  # the broker is down: the relay's own publishes failed too
        log.warning("relay stats not recorded (%s)", type(exc).__name__)
    finally:
        client.close()
