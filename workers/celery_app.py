"""The Celery app: built from config, no Flask. ``celery -A workers.celery_app worker``."""

import sys

from celery.signals import worker_process_init
from sqlalchemy.exc import DBAPIError, IntegrityError

from config import ConfigError, Settings
from config.celery import make_celery
from models import make_engine, make_session_factory

try:
    settings = Settings.from_env()
    # The worker, beat and the relay refuse an unsafe production configuration as the web
    # does (gunicorn.conf.py, wsgi.py): one line for the operator, not a traceback.
    settings.check_production()
except ConfigError as exc:
    sys.exit(f"herd: {exc}")
app = make_celery(settings)
app.conf.include = [
    "workers.tasks",
    "workers.rerun",
    "workers.preview_job",
    "workers.recertify",
    "workers.retention",
    "workers.webhooks",
]

_state = {}

# The one retry policy of every task that writes: a unique-key race (IntegrityError)
# or a dropped connection (DBAPIError) is retried with jittered exponential backoff,
# a bounded number of times; acks_late because every such task is idempotent.
MAX_RETRIES = 8
RETRY_POLICY = {
    "acks_late": True,
    "autoretry_for": (IntegrityError, DBAPIError),
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": MAX_RETRIES,
}


def sessions():
    """The worker's session factory (engine created lazily, once per process)."""
    if "sessions" not in _state:
        # The workers' own, longer timeouts: a batch's statements run longer than a request's.
        _state["engine"] = make_engine(
            settings.database_url,
            statement_timeout=settings.worker_statement_timeout,
            idle_in_transaction_timeout=settings.worker_idle_in_transaction_timeout,
        )
        _state["sessions"] = make_session_factory(_state["engine"])
    return _state["sessions"]


@worker_process_init.connect
def _fresh_engine(**_kwargs):
    # Forked pool processes must not share the parent's database connections.
    if "engine" in _state:
        _state["engine"].dispose(close=False)
    _state.clear()
