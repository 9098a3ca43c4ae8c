"""Celery settings shared by the workers and the web app's enqueue module."""

from celery import Celery
from celery.schedules import crontab

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


def celery_config(settings):
    """Celery configuration for ``settings`` (Redis broker, at-least-once delivery)."""
    return {
        "broker_url": settings.broker_url,
        "task_ignore_result": True,
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
        "task_routes": {"herd.webhooks.*": {"queue": WEBHOOKS_QUEUE}},
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
