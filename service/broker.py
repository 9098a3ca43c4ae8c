"""The web app's one client of the Celery broker: the dashboard's company re-run and preview.

Provisioning events never touch the broker inside a request: the request commits the
learner and its event row (the outbox, ``service.db.commit``) and returns, and the outbox
relay process (workers/relay.py) publishes committed events, woken by PostgreSQL NOTIFY or
a tight poll. Only the company re-run and the preview of a change are published from here;
a failed publish is reported to the admin.
"""

import logging
import threading
import time

from flask import current_app

from config.celery import PREVIEW_CHANGE, RERUN_COMPANY, make_celery

log = logging.getLogger(__name__)
# After a failed publish, skip publishing for this long instead of paying a
# connection timeout on every request while Redis is down.
BACKOFF_SECONDS = 10.0


class Enqueuer:
    """Publishes task messages by name, with a short circuit breaker."""

    def __init__(self, settings):
        self.celery = make_celery(settings, main="herd-web")
        self._down_until = 0.0
        self._lock = threading.Lock()

    def mark_down(self):
        """Another client of the same Redis (the rate limiter) just found it unreachable:
        skip publishing for a while rather than wait for a timeout of our own."""
        with self._lock:
            self._down_until = time.monotonic() + BACKOFF_SECONDS
        log.warning("broker unavailable (found by the rate limiter), events deferred to the relay")

    def send(self, name, args):
        """Publish one task; returns False (and logs) when the broker is unreachable."""
        if time.monotonic() < self._down_until:
            return False
        try:
            self.celery.send_task(name, args=args)
            return True
        except Exception as exc:  # any broker failure: the relay will deliver later
            with self._lock:
                self._down_until = time.monotonic() + BACKOFF_SECONDS
            log.warning("broker unavailable, %s deferred to the relay (%s)", name, type(exc).__name__)
            return False


def init_app(app, settings):
    app.extensions["herd.enqueuer"] = Enqueuer(settings)


def rerun_company(company_id, job_id=None):
    """Start a Smart Assign re-run of a whole company (progress in ``jobs`` row ``job_id``);
    False when the broker is down."""
    return current_app.extensions["herd.enqueuer"].send(RERUN_COMPANY, [company_id, job_id])


def preview_change(job_id):
    """Start the preview of the change stored on ``jobs`` row ``job_id``; False when the broker is down."""
    return current_app.extensions["herd.enqueuer"].send(PREVIEW_CHANGE, [job_id])
