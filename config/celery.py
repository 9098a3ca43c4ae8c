"""Celery settings shared by the workers and the web app's enqueue module."""

import time

from celery import Celery
from celery.schedules import crontab
from celery.signals import before_task_publish

# Task names say what they do; Flower shows them as they are.
PROCESS_EVENT = "herd.provisioning.process_event"
PROCESS_EVENTS = "herd.provisioning.process_events"
RERUN_HELP = "herd.smart_assign.rerun_help"
# Ids per process_events message: a batch commits once, which amortizes the commit and
# Celery's per-message cost; small enough that its transaction stays short and that
# two workers share a burst.
EVENTS_PER_MESSAGE = 50
RELAY_PENDING = "herd.provisioning.relay_pending_events"
RERUN_COMPANY = "herd.smart_assign.rerun_company"
PREVIEW_CHANGE = "herd.smart_assign.preview_change"
RECERTIFY_ALL = "herd.smart_assign.recertify_all"
RECERTIFY_COMPANY = "herd.smart_assign.recertify_company"
PRUNE_RETENTION = "herd.retention.prune"
# Webhook delivery runs on its own queue (``-Q webhooks``): a slow receiver never holds
# up Smart Assign. One task drains one endpoint's due deliveries, in order.
WEBHOOKS_QUEUE = "webhooks"
WEBHOOK_DELIVER = "herd.webhooks.deliver_endpoint"
WEBHOOK_DISPATCH = "herd.webhooks.dispatch"
WEBHOOK_DUE_SOON = "herd.webhooks.due_soon"
# A Redis hash in the broker where the relay records its runs (runs, relayed, last_run);
# the web's /metrics reads it, so beat's health shows up next to the outbox figures.
RELAY_STATS_KEY = "herd:outbox:relay"

# Queues. ``live``: what must follow a request within seconds (provisioning events); its
# workers take nothing else, so a live event always finds a free slot. ``bulk``: company-wide
# work (re-runs, recertification, retention), cut into small parts that go to the back of
# the queue after each part, so companies take turns and none holds a worker for long.
# ``celery`` is Celery's default queue, where a previous release put every message: the
# bulk workers drain it too, so messages already queued still run.
LIVE_QUEUE = "live"
BULK_QUEUE = "bulk"
LEGACY_QUEUE = "celery"
# The queues /metrics reports on (depth, age of the oldest message). Add a queue here and
# its route to TASK_QUEUES below.
QUEUES = (LIVE_QUEUE, BULK_QUEUE, WEBHOOKS_QUEUE, LEGACY_QUEUE)
# Task name -> queue. A task not listed goes to the bulk queue (task_default_queue).
TASK_QUEUES = {
    PROCESS_EVENT: LIVE_QUEUE,
    PROCESS_EVENTS: LIVE_QUEUE,
    # Beat's safety net for late live events: a few queries, and it feeds the live queue.
    RELAY_PENDING: LIVE_QUEUE,
    RERUN_COMPANY: BULK_QUEUE,
    RERUN_HELP: BULK_QUEUE,
    RECERTIFY_ALL: BULK_QUEUE,
    RECERTIFY_COMPANY: BULK_QUEUE,
    PRUNE_RETENTION: BULK_QUEUE,
    WEBHOOK_DELIVER: WEBHOOKS_QUEUE,
    WEBHOOK_DISPATCH: WEBHOOKS_QUEUE,
    WEBHOOK_DUE_SOON: WEBHOOKS_QUEUE,
}
# A message header with the Unix time it was published: /metrics reads it off the oldest
# message of each queue (its age), and the live workers off each event batch.
SENT_AT_HEADER = "herd_sent_at"
# A Redis hash in the broker: the histogram of live events' commit-to-processed time, which
# the live workers add to and /metrics serves (fields ``le_<bound>``, ``count``, ``sum``).
LIVE_LATENCY_KEY = "herd:live:latency"
LIVE_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def latency_bucket_field(bound):
    """The field of ``LIVE_LATENCY_KEY`` counting the events processed within ``bound`` seconds."""
    return f"le_{bound:g}"


def _stamp_sent_at(headers=None, **_kwargs):
    """Mark every task message with the time it was published (see ``SENT_AT_HEADER``)."""
    if headers is not None:
        headers.setdefault(SENT_AT_HEADER, round(time.time(), 3))


before_task_publish.connect(_stamp_sent_at, weak=False, dispatch_uid="herd-sent-at")


def celery_config(settings):
    """Celery configuration for ``settings`` (Redis broker, at-least-once delivery)."""
    return {
        "broker_url": settings.broker_url,
        "task_ignore_result": True,
        "task_routes": {name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
        "task_default_queue": BULK_QUEUE,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        # A publish must fail fast when Redis is down: the outbox relay catches up later.
        "task_publish_retry": False,
        "broker_connection_timeout": 1,
        "broker_connection_retry_on_startup": True,
        # With acks_late the message comes back after a lost connection: stop the
        # running copy instead of finishing it twice.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "broker_transport_options": {
            "socket_connect_timeout": 1,
            "socket_timeout": 2,
            "visibility_timeout": 3600,
            "max_retries": 0,
        },
        "redis_socket_connect_timeout": 1,
        "redis_socket_timeout": 2,
        "beat_schedule": {
            # Deliveries due (new, retries, after a broker or worker outage) to their endpoint's task.
            "webhooks-dispatch": {"task": WEBHOOK_DISPATCH, "schedule": 5},
            "webhooks-due-soon": {"task": WEBHOOK_DUE_SOON, "schedule": crontab(minute=23)},
            "relay-pending-events": {
                "task": RELAY_PENDING,
                "schedule": max(5, settings.relay_after_seconds // 2),
            },
            # Recertification and overdue work: once a day, only the learners due.
            "recertify-daily": {"task": RECERTIFY_ALL, "schedule": crontab(hour=2, minute=0)},
            # Daily, at a quiet hour: failed SCIM calls and old outbox payloads (workers/retention.py).
            "prune-retention": {"task": PRUNE_RETENTION, "schedule": crontab(hour=3, minute=17)},
        },
    }


def make_celery(settings, main="herd"):
    """A Celery app configured from ``settings`` (no Flask needed)."""
    app = Celery(main)
    app.conf.update(celery_config(settings))
    return app
