"""gunicorn settings for Herd's web tier: it faces the internet with nothing in front.

gunicorn reads this file from the working directory (the Procfiles also name it with
``-c``); command-line flags override it. Why these values: docs/front-door.md.

- gevent workers: every connection is a greenlet, so a client that sends its headers
  byte by byte (or never finishes) holds a few kilobytes of memory, not a worker.
  A request reaches Flask only once its headers are complete.
- psycopg2 yields to the event loop while it waits on PostgreSQL (psycogreen), so one
  process overlaps the waits of many requests; the work itself is CPU in Python,
  hence one process per core.
- Header reads have a deadline (``keepalive`` seconds in gunicorn's gevent worker) and
  header size and count are capped; the body limit (1 MiB, 413 SCIM error) is the app's.
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

_cores = os.cpu_count() or 1

worker_class = os.environ.get("WEB_WORKER_CLASS", "gevent")
# One process per core: gevent overlaps the I/O waits inside a process, and more
# processes than cores only adds context switches and database connections.
workers = int(os.environ.get("WEB_CONCURRENCY", _cores))
# Concurrent connections per process (slow ones included) before it stops accepting.
worker_connections = int(os.environ.get("WEB_CONNECTIONS", "1000"))
# A worker silent this long (a request stuck in CPU) is killed and replaced. Entra waits 60 s.
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 20
# Idle keep-alive connections are closed after this; in the gevent worker it is also the
# deadline for receiving a request's headers, so a slowloris connection lives this long.
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))
# Request line and headers: an Authorization header and a SCIM filter fit well inside.
limit_request_line = 8190
limit_request_fields = 60
limit_request_field_size = 8190
control_socket_disable = True
# Each worker gets a listening socket of its own on the same port (SO_REUSEPORT) and the
# kernel spreads new connections across them. With one shared socket, the worker that is
# awake first takes most connections, and keep-alive clients then stay on it.
reuse_port = True

# The combined format with %(U)s (the path alone) where gunicorn's default has %(r)s, without
# the referrer (a dashboard page's address carries its search terms), plus the request id
# the app returns in X-Request-ID (service/edge/middleware.py), which the app's own log lines show too.
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


def post_worker_init(worker):
    """In each worker, before it serves: under gevent, let psycopg2 wait on the event loop
    instead of blocking it; build the location indexes the first write would otherwise
    build (pycountry's: 0.2 s of CPU)."""
    if "gevent" in str(worker.cfg.worker_class_str):
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()
    from models.normalize import load_indexes

    load_indexes()


def child_exit(server, worker):
    """A worker that exits leaves its counters (still summed) but not its live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the private metrics directory this master created."""
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
