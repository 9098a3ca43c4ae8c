"""gunicorn reads this file from the working directory (``gunicorn wsgi:app`` in the repo).

- Refuse to start, with one line, when production settings are missing (before any
  worker forks, so gunicorn does not respawn failing workers in a loop).
- Access log lines without the query string: Entra's lookups carry userNames and
  emails in ``filter=...``, and personal data stays out of log lines.
- Prometheus multiprocess mode: every worker writes its metrics to files in
  ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` sums them. Unless the operator sets
  it, each gunicorn master gets a private temporary directory, removed on exit, so
  two servers on one machine never mix or wipe each other's figures.
"""

import os
import shutil
import sys
import tempfile

from config import ConfigError, Settings

try:
    Settings.from_env().check_production()
except ConfigError as exc:
    sys.exit(f"herd: {exc}")

# The combined format with %(U)s (the path alone) where gunicorn's default has %(r)s, without
# the referrer (a dashboard page's address carries its search terms), plus the request id
# the app returns in X-Request-ID (service/middleware.py), which the app's own log lines show too.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(L)ss rid=%({x-request-id}o)s'

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="herd-metrics-")
    _own_metrics_dir = True
else:
    _own_metrics_dir = False


def on_starting(server):
    """Start from an empty metrics directory: stale files would add old counts."""
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def child_exit(server, worker):
    """A worker that exits leaves its counters (still summed) but not its live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
