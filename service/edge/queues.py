"""The Celery queues as ``/metrics`` shows them: depth, age of the oldest message, live latency.

Read from the broker when ``/metrics`` is scraped. A queue is a Redis list (Celery's Redis
transport pushes on the left and the workers pop from the right, so the oldest message is
the last element); each message carries the time it was published in a header
(``config.celery.SENT_AT_HEADER``). The live events' commit-to-processed histogram is the
one the live workers keep in the broker (``workers/live_latency.py``).
"""

import json
import time

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from config.celery import LIVE_LATENCY_BUCKETS, LIVE_LATENCY_KEY, QUEUES, SENT_AT_HEADER, latency_bucket_field


def oldest_age(client, queue, now):
    """Seconds since the oldest message of ``queue`` was published (0 when empty or unknown)."""
    raw = client.lindex(queue, -1)
    if raw is None:
        return 0.0
    try:
        sent_at = float(json.loads(raw)["headers"][SENT_AT_HEADER])
    except (ValueError, KeyError, TypeError):  # a message of a release before the header
        return 0.0
    return max(0.0, now - sent_at)


def queue_families(client, now=None):
    """The queues' depth and oldest-message age, and the live latency histogram."""
    now = now or time.time()
    depth = GaugeMetricFamily("herd_queue_depth", "Messages waiting in the Celery queue.", labels=["queue"])
    age = GaugeMetricFamily(
        "herd_queue_oldest_message_age_seconds",
        "Time since the oldest message waiting in the queue was published (0 when none waits).",
        labels=["queue"],
    )
    with client.pipeline(transaction=False) as pipe:
        for queue in QUEUES:
            pipe.llen(queue)
        lengths = pipe.execute()
    for queue, length in zip(QUEUES, lengths, strict=True):
        depth.add_metric([queue], float(length))
        age.add_metric([queue], oldest_age(client, queue, now) if length else 0.0)
    return [depth, age, live_latency_family(client.hgetall(LIVE_LATENCY_KEY))]


def live_latency_family(stats):
    """``herd_live_event_latency_seconds`` from the broker's hash (field -> count)."""
    stats = {k.decode() if isinstance(k, bytes) else k: float(v) for k, v in stats.items()}
    count = stats.get("count", 0.0)
    buckets = [(floatToGoString(bound), stats.get(latency_bucket_field(bound), 0.0)) for bound in LIVE_LATENCY_BUCKETS]
    buckets.append(("+Inf", count))
    family = HistogramMetricFamily(
        "herd_live_event_latency_seconds",
        "Time from a provisioning event's commit to its processing by a live worker.",
    )
    family.add_metric([], buckets, stats.get("sum", 0.0))
    return family
