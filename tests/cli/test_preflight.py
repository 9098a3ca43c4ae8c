"""`make run` checks before it starts anything: one line for a taken port or a database it
cannot use, never a traceback (`python -m service.cli.preflight`, the first step of `make run`)."""

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from harness.stack import free_port

ROOT = Path(__file__).resolve().parents[2]


def preflight(tmp_path, **env):
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PORT", "HERD_ENV")}
    base.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'herd.db'}",
        PORT=str(free_port()),
        FLOWER_PORT=str(free_port()),
        EMBEDDED_REDIS_PORT=str(free_port()),
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, "-m", "service.cli.preflight"], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60
    )


def test_all_clear(tmp_path):
    result = preflight(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_port_in_use_is_one_line_that_says_what_to_do(tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        result = preflight(tmp_path, PORT=str(port))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"herd: port {port} is already in use: is Herd already running in another terminal (Ctrl-C there stops it)? "
        f"Or start on another port: PORT={port + 1} make run"
    ]


def test_unreachable_database_is_one_line_without_password(tmp_path):
    result = preflight(tmp_path, DATABASE_URL="postgresql://herd:s3cret@127.0.0.1:1/herd")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("herd: cannot reach the database at postgresql://herd:***@127.0.0.1:1/herd: ")
    assert "s3cret" not in result.stderr


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs a PostgreSQL server (DATABASE_URL)"
)
def test_missing_postgresql_database_says_how_to_create_it(tmp_path):
    missing = f"herd_missing_{uuid.uuid4().hex[:8]}"
    url = make_url(os.environ["DATABASE_URL"]).set(database=missing).render_as_string(hide_password=False)
    result = preflight(tmp_path, DATABASE_URL=url)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f'database "{missing}" does not exist' in lines[0]
    assert "createdb -h " in lines[0] and lines[0].split("`")[1].endswith(f" {missing}")
