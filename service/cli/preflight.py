"""Checks ``make run`` makes before starting anything: ``python -m service.cli.preflight``.

A newcomer gets one line that says what is wrong and what to do, instead of a
traceback: the database cannot be reached (or does not exist yet), or a port the
processes need is taken (often by a Herd already running in another terminal).
"""

import os
import socket
import sys

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from config import ConfigError, Settings
from models import make_engine
from models.db import driver_url


def safe_url(url):
    """The database URL without its password, fit for a message."""
    try:
        return make_url(driver_url(url)).render_as_string(hide_password=True).replace("+psycopg2", "")
    except Exception:  # an unparseable URL: say nothing of it
        return "DATABASE_URL"


def describe_database_error(exc, url):
    """One line for an operator, from a driver's connection error (no password, no traceback)."""
    orig = getattr(exc, "orig", exc)
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0].strip()
    where = safe_url(url)
    if "does not exist" in first and "database" in first:
        parts = make_url(driver_url(url))
        create = f"createdb -h {parts.host or 'localhost'} -p {parts.port or 5432} -U {parts.username or 'postgres'} {parts.database}"
        return f"{first} (at {where}): create it with `{create}`, then run the command again"
    if "password authentication failed" in first or "no password supplied" in first:
        return f"{first} (at {where}): check the user and password in DATABASE_URL"
    if "no such table" in first:
        return f"the database at {where} has no Herd tables yet: run `./herd db upgrade` (make run does it)"
    if "unable to open database file" in first:
        return f"{first} ({where}): the directory must exist and be writable"
    return f"cannot reach the database at {where}: {first}. Is it running, and is DATABASE_URL right?"


def database_problem(url):
    """None when a connection to ``url`` opens and answers, else a one-line description."""
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(url.removeprefix("sqlite:///")) or ".", exist_ok=True)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return describe_database_error(exc, url)
    finally:
        engine.dispose()
    return None


def port_problem(port, variable):
    """None when 127.0.0.1:``port`` is free, else what to do about it."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            pass
        else:
            return None
    return (
        f"port {port} is already in use: is Herd already running in another terminal (Ctrl-C there stops it)? "
        f"Or start on another port: {variable}={port + 1} make run"
    )


def problems(env=None):
    """Everything that would stop ``make run``, as one-line messages."""
    env = os.environ if env is None else env
    try:
        settings = Settings.from_env(env)
    except ConfigError as exc:
        return [str(exc)]
    found = []
    web = int(env.get("PORT") or 5000)
    ports = [(web, "PORT"), (int(env.get("FLOWER_PORT") or 5555), "FLOWER_PORT")]
    if settings.uses_embedded_redis:
        ports.append((settings.embedded_redis_port, "EMBEDDED_REDIS_PORT"))
    for port, variable in ports:
        problem = port_problem(port, variable)
        if problem:
            found.append(problem)
    db = database_problem(settings.database_url)
    if db:
        found.append(db)
    return found


def main():
    found = problems()
    for problem in found:
        print(f"herd: {problem}", file=sys.stderr)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
