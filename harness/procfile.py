"""The Celery workers of a Procfile, started by ``harness.stack.Herd`` as the Procfile runs them.

Each ``celery -A workers.celery_app worker`` line gives a worker with its queues (``-Q``)
and its concurrency (``${VAR:-default}`` takes the default), so a test runs the same
worker set-up as ``make run`` (``Procfile.dev``) and follows it when it changes.
"""

import itertools
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_DEFAULTED = re.compile(r"\$\{[A-Z_]+:-([^}]*)\}")


def celery_workers(procfile="Procfile.dev"):
    """``[(process name, queues, concurrency, pool)]`` of the Procfile's Celery worker lines."""
    workers = []
    for line in (ROOT / procfile).read_text().splitlines():
        name, _, command = line.partition(":")
        argv = shlex.split(_DEFAULTED.sub(r"\1", command))
        if argv[:4] != ["celery", "-A", "workers.celery_app", "worker"]:
            continue
        options = dict(itertools.pairwise(argv[4:]))
        queues = tuple(options.get("-Q", "celery").split(","))
        pool = options.get("--pool", "prefork")
        workers.append((name.strip(), queues, int(options.get("--concurrency", "1")), pool))
    return workers


def start_workers(herd, procfile="Procfile.dev"):
    """Start the Procfile's Celery workers on ``herd`` with their pools (prefork, Celery's default,
    unless the line says ``--pool``); ``{process name: process}``."""
    return {
        name: herd.start_worker(name, pool=pool, concurrency=concurrency, queues=queues)
        for name, queues, concurrency, pool in celery_workers(procfile)
    }
