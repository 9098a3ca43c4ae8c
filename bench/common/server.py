"""The server under test: a fresh database, a company and a token made with the operator CLI, and gunicorn (or granian) on loopback."""

from __future__ import annotations

import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common.report import ROOT
from bench.common.stats import process_cpu

# Nothing listens on port 1: every publish fails fast and the outbox keeps the event.
DEAD_REDIS = "redis://127.0.0.1:1/0"


BENCH_DATABASE = "herd_bench"


# The last line of a traceback: "package.module.SomeError: message".
_RAISED = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b.*)$", re.MULTILINE)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


APPS = {"herd": "wsgi:app", "floor": "bench.floor_app:app", "base": "wsgi:app"}


def app_root(app):
    """The code tree an app runs from: ``base`` is Herd from ``BENCH_BASE_TREE`` (e.g. a
    git archive snapshot of main), to measure a branch against it in the same run."""
    if app == "base":
        tree = os.environ.get("BENCH_BASE_TREE")
        if not tree:
            raise SystemExit("the base app needs BENCH_BASE_TREE=/path/to/another/herd/tree")
        return Path(tree)
    return ROOT


SERVERS = ("sync", "gevent", "gthread", "granian")


def server_command(app, server, port, workers, threads=1):
    """The command line of one server model (gunicorn reads gunicorn.conf.py; flags override it)."""
    target = APPS[app]
    if server == "granian":
        return [
            sys.executable, "-m", "granian", "--interface", "wsgi", target,
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--blocking-threads", str(threads), "--log-level", "warning", "--no-ws",
        ]  # fmt: skip
    if server not in SERVERS:
        raise SystemExit(f"unknown server model {server!r} (one of {', '.join(SERVERS)})")
    cmd = [
        sys.executable, "-m", "gunicorn", "-c", str(app_root(app) / "gunicorn.conf.py"), target,
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", server,
        "--timeout", "60", "--log-level", "warning",
    ]  # fmt: skip
    if server == "gthread":
        cmd += ["--threads", str(threads)]
    return cmd


def describe_server(app, server, workers, threads=1):
    """E.g. ``floor on gunicorn gevent, 2 workers``."""
    name = f"gunicorn {server}" if server != "granian" else "granian (WSGI)"
    per = f" x {threads} threads" if server in ("gthread", "granian") else ""
    tree = " from BENCH_BASE_TREE" if app == "base" else ""
    return f"{APPS[app]}{tree} on {name}, {workers} workers{per}"


class OwnServer:
    """A fresh database, a company, a token and gunicorn on loopback; ``stop()`` undoes it all."""

    def __init__(
        self, database_url, workers, keep_database, database_name, app="herd", server="sync", threads=1, redis_url=None
    ):
        self.requested_url = database_url
        self.workers = workers
        self.app = app  # "herd" (wsgi:app) or "floor" (bench.floor_app:app, PostgreSQL only)
        self.server = server  # see server_command()
        self.threads = threads
        self.redis_url = redis_url or DEAD_REDIS  # a live Redis only to profile the publish (bench.profile_web)
        self.keep_database = keep_database
        self.database_name = database_name
        self.tmp = Path(tempfile.mkdtemp(prefix="herd-bench-"))
        self.proc = None
        self.pg_admin_url = None
        self.dialect = None
        self.database_url = None
        self.log_path = self.tmp / "gunicorn.log"

    def _prepare_database(self):

        from models.db import driver_url

        if not self.requested_url or self.requested_url.startswith("sqlite"):
            # Even when DATABASE_URL names a SQLite file, never write into it: use a fresh one.
            self.dialect = "sqlite"
            self.database_url = f"sqlite:///{self.tmp / 'herd.db'}"
            return
        url = make_url(driver_url(self.requested_url))
        if url.get_backend_name() != "postgresql":
            raise SystemExit(f"unsupported DATABASE_URL dialect {url.get_backend_name()!r}")
        self.dialect = "postgresql"
        if url.database == self.database_name:
            raise SystemExit(f"DATABASE_URL already names {self.database_name!r}; point it at another database")
        name = self.database_name
        if not name.replace("_", "").isalnum():
            raise SystemExit(f"bad database name {name!r}")
        self.pg_admin_url = url.set(database="postgres").render_as_string(hide_password=False)
        engine = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        self.database_url = url.set(database=name).render_as_string(hide_password=False)

    def _sql(self, *statements, autocommit=False):
        """Run statements on the server's database; returns the first column of each first row."""

        from models.db import driver_url

        kw = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
        engine = create_engine(driver_url(self.database_url), **kw)
        try:
            with engine.connect() as conn:
                out = []
                for statement in statements:
                    result = conn.execute(text(statement))
                    out.append(result.scalar() if result.returns_rows else None)
                return out
        finally:
            engine.dispose()

    def database_version(self):
        if self.dialect == "postgresql":
            version, autovacuum, fsync, sync_commit, buffers = self._sql(
                "SHOW server_version", "SHOW autovacuum", "SHOW fsync", "SHOW synchronous_commit", "SHOW shared_buffers"
            )
            return (
                f"PostgreSQL {version}, autovacuum={autovacuum}, fsync={fsync}, "
                f"synchronous_commit={sync_commit}, shared_buffers={buffers}"
            )
        return "SQLite " + self._sql("SELECT sqlite_version()")[0] + ", WAL"

    def statistics(self):
        """Whether the planner has statistics for learners (autovacuum may be off on dev machines)."""
        if self.dialect == "postgresql":
            analyzed, auto = self._sql(
                "SELECT coalesce(max(last_analyze)::text, 'never') FROM pg_stat_user_tables WHERE relname = 'learners'",
                "SELECT coalesce(max(last_autoanalyze)::text, 'never') FROM pg_stat_user_tables WHERE relname = 'learners'",
            )
            return f"learners last ANALYZE: {analyzed}; last autoanalyze: {auto}"
        has = self._sql("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")[0]
        return "sqlite_stat1 present (ANALYZE ran)" if has else "no sqlite_stat1 (never analyzed)"

    def analyze(self):
        self._sql("ANALYZE", autocommit=True)

    def _env(self, port):
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
            SECRET_KEY="herd-bench",
            PYTHONUNBUFFERED="1",
        )
        return env

    def _flask(self, env, *args):
        cmd = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
        done = subprocess.run(
            cmd, check=False, cwd=app_root(self.app), env=env, capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        return lines[-1].strip()

    def cpu_watch(self):
        """For ``run_phase(watch=...)``: CPU so far of this server's processes and its database's backends."""
        database = self.database_name if self.dialect == "postgresql" else None
        return lambda: process_cpu(self.proc.pid, database)

    def provision(self, port):
        """A fresh, migrated database with a company and a token, made with the operator CLI;
        returns ``(environment for the app, company id, token)``."""
        self._prepare_database()
        env = self._env(port)
        self._flask(env, "db", "upgrade")
        company = int(self._flask(env, "companies", "create", "Bench Company"))
        token = self._flask(env, "tokens", "create", str(company), "--name", "Entra bench")
        # Measure Herd, not its refusals: the limiter still runs, with a limit far above the load.
        self._flask(env, "companies", "rate-limit", str(company), "--per-second", "100000", "--per-minute", "6000000")
        return env, company, token

    def start(self):
        port = free_port()
        env, company, token = self.provision(port)
        cmd = server_command(self.app, self.server, port, self.workers, self.threads)
        self.log = open(self.log_path, "w")  # noqa: SIM115  (open while gunicorn runs; closed in stop())
        self.proc = subprocess.Popen(cmd, cwd=app_root(self.app), env=env, stdout=self.log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):  # up to ~30 s
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited ({self.proc.returncode}):\n{self.log_path.read_text()[-4000:]}")
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        else:
            tail = self.log_path.read_text(errors="replace")[-4000:]
            self.stop()
            raise SystemExit(f"the server did not answer /healthz within 30 s:\n{tail}")
        self.server_desc = f"{describe_server(self.app, self.server, self.workers, self.threads)}, 127.0.0.1:{port}"
        return base, company, token

    def log_summary(self):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        tracebacks = text.count("Traceback (most recent call last)")
        timeouts = text.count("WORKER TIMEOUT")
        summary = f"{tracebacks} traceback(s), {timeouts} worker timeout(s) in the gunicorn log"
        # What was raised (the line that ends each traceback), so a report says which error it was.
        raised = collections.Counter(m[:120] for m in _RAISED.findall(text))
        if raised:
            summary += " (" + "; ".join(f"{n}x {line}" for line, n in raised.most_common(3)) + ")"
        return summary

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "log", None):
            self.log.close()
        if self.pg_admin_url and not self.keep_database:
            from sqlalchemy import create_engine, text

            engine = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)'))
            engine.dispose()
        if self.keep_database and self.dialect == "sqlite":
            print(f"kept the SQLite database: {self.database_url}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def in_process_app(database_url):
    """Herd's Flask app on ``database_url`` for a bench that drives it in process (the Flask
    test client); the broker is left out of the figures, as if it were down."""
    from config import Settings
    from service import create_app

    settings = Settings.from_env(
        env={},
        database_url=database_url,
        redis_url=DEAD_REDIS,
        public_base_url="https://herd.bench",
        secret_key="bench",
    )
    app = create_app(settings)
    # Only the company re-run publishes from the web; every request would pay the same for it.
    app.extensions["herd.enqueuer"]._down_until = float("inf")
    return app
