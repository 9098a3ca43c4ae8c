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
"""

import os

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


def post_worker_init(worker):
    """In each gevent worker: let psycopg2 wait on the event loop instead of blocking it."""
    if "gevent" in str(worker.cfg.worker_class_str):
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()
