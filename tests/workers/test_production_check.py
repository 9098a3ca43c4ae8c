"""The Celery worker, beat and the outbox relay refuse an unsafe production configuration
as the web does: at once, with the same one line, before connecting to anything."""

import os
import subprocess
import sys

import pytest

from config import ROOT

SAFE = {
    "HERD_ENV": "production",
    "SECRET_KEY": "k" * 64,
    "PUBLIC_BASE_URL": "https://herd.example.com",
    "DATABASE_URL": "postgresql://herd@db.internal/herd",
    "REDIS_URL": "redis://redis.internal:6379/0",
}
CELERY = [sys.executable, "-m", "celery", "-A", "workers.celery_app"]


@pytest.mark.parametrize(
    "argv",
    [[*CELERY, "worker", "--pool=solo"], [*CELERY, "beat"], [sys.executable, "-m", "workers.relay"]],
    ids=["worker", "beat", "relay"],
)
def test_refuses_to_start_in_production_without_a_secret_key(argv, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in SAFE}
    env.update({k: v for k, v in SAFE.items() if k != "SECRET_KEY"})
    result = subprocess.run(
        argv, cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("herd: refusing to start with HERD_ENV=production: SECRET_KEY")
    assert "Traceback" not in result.stdout + result.stderr
