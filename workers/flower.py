"""Start Celery Flower, the operators' view of queues and tasks: ``python -m workers.flower``.

Flower can revoke tasks and shows task arguments, so outside development it must
not start unprotected: with ``HERD_ENV=production`` it refuses to start (one line)
unless ``FLOWER_BASIC_AUTH=user:password`` is set (several pairs comma-separated, each
with a strong password). Flower reads its own ``FLOWER_*``
variables (``FLOWER_PORT``, default 5555; ``FLOWER_BASIC_AUTH``); it listens on
127.0.0.1 unless ``FLOWER_ADDRESS`` says otherwise. It also serves Celery's metrics
for Prometheus at ``/metrics``.
"""

import os
import sys

from config import ConfigError, Settings


def _strong_pairs(value):
    """True when ``value`` holds at least one ``user:password`` pair and every pair has a user
    and a password of 12 characters or more.

    Flower reads several comma-separated pairs and lets in whoever matches any of them (its
    own constant-time comparison), so each pair must be as strong as the first.
    """
    pairs = value.split(",")
    for pair in pairs:
        user, sep, password = pair.partition(":")
        if not (user.strip() and sep and len(password) >= 12):
            return False
    return True


def flower_problem(settings, env):
    """Why Flower must not start with these settings, or None."""
    if not settings.is_production:
        return None
    if not _strong_pairs(env.get("FLOWER_BASIC_AUTH", "")):
        return (
            f"refusing to start Flower with HERD_ENV={settings.herd_env}: set FLOWER_BASIC_AUTH=user:password "
            "(a password of 12 characters or more; every pair when several are comma-separated); Flower can revoke tasks and shows their arguments"
        )
    return None


def main():
    """Check the settings, then replace this process with ``celery flower``."""
    try:
        problem = flower_problem(Settings.from_env(), os.environ)
    except ConfigError as exc:
        problem = str(exc)
    if problem:
        sys.exit(f"herd: {problem}.")
    os.environ.setdefault("FLOWER_ADDRESS", "127.0.0.1")
    argv = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "flower"]
    sys.stdout.flush()
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
