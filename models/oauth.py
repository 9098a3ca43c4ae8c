"""OAuth 2.0 clients of a company (RFC 6749 §4.4 client credentials) and their secrets.

A client has a public ``client_id`` and one or more secrets, each valid 1 to 3 years; several
can be active at once so that a secret can be rotated without a gap. Secrets are stored as a
hash and their first ``SECRET_DISPLAY_CHARS`` characters (which name them in lists). The access
tokens the token endpoint issues are rows of ``access_tokens`` (``models.company.AccessToken``)
with ``oauth_client_id`` and ``oauth_secret_id`` set, so authentication reads both kinds of
token with the same statement.
"""

import hmac
import secrets
import string
from datetime import timedelta

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.company import hash_token
from models.db import Base, utcnow

CLIENT_ID_PREFIX = "herdc_"
SECRET_LENGTH = 48  # letters and digits: about 285 bits
SECRET_DISPLAY_CHARS = 8
# Letters and digits only: a secret (and so its first characters) never starts with "-",
# which a command line would read as an option.
_ALPHABET = string.ascii_letters + string.digits
SECRET_DAYS_MIN, SECRET_DAYS_DEFAULT, SECRET_DAYS_MAX = 365, 730, 1096
# Access tokens live 1 to 6 hours (Microsoft's gallery bar: 60 to 360 minutes).
TOKEN_MINUTES_MIN, TOKEN_MINUTES_DEFAULT, TOKEN_MINUTES_MAX = 60, 60, 360
# Secrets expiring within this many days are flagged on /metrics and the dashboard.
EXPIRY_WARNING_DAYS = 30


class OAuthClient(Base):
    """One OAuth client of a company: what an IdP's "client id" names."""

    __tablename__ = "oauth_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[object] = mapped_column(DateTime, default=utcnow)
    disabled_at: Mapped[object | None] = mapped_column(DateTime)

    secrets = relationship("OAuthSecret", back_populates="client", order_by="OAuthSecret.id")

    @classmethod
    def new(cls, company_id, name):
        """A new enabled client with a fresh public client id (no secret yet)."""
        return cls(company_id=company_id, name=name, client_id=CLIENT_ID_PREFIX + secrets.token_hex(12))

    @property
    def enabled(self):
        return self.disabled_at is None

    def active_secrets(self, now=None):
        """The secrets that authenticate this client now (none while it is disabled)."""
        if not self.enabled:
            return []
        now = now or utcnow()
        return [s for s in self.secrets if s.usable(now)]

    def matching_secret(self, presented, now=None):
        """The active secret equal to ``presented`` (compared in constant time), or None.

        Every active secret is compared, so the time taken does not say which one matched."""
        digest = hash_token(presented)
        found = None
        for secret in self.active_secrets(now):
            if hmac.compare_digest(secret.secret_hash, digest):
                found = secret
        return found


class OAuthSecret(Base):
    """A client secret: only its hash and first characters are stored."""

    __tablename__ = "oauth_client_secrets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    display_prefix: Mapped[str] = mapped_column(String(SECRET_DISPLAY_CHARS))
    created_at: Mapped[object] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[object] = mapped_column(DateTime)
    revoked_at: Mapped[object | None] = mapped_column(DateTime)

    client = relationship("OAuthClient", back_populates="secrets")

    @classmethod
    def issue(cls, client, days=SECRET_DAYS_DEFAULT, now=None):
        """A new secret row for ``client`` and its plain text (shown once, never stored)."""
        if not SECRET_DAYS_MIN <= days <= SECRET_DAYS_MAX:
            raise ValueError(f"a secret lives {SECRET_DAYS_MIN} to {SECRET_DAYS_MAX} days")
        plain = "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_LENGTH))
        row = cls(
            client=client,
            secret_hash=hash_token(plain),
            display_prefix=plain[:SECRET_DISPLAY_CHARS],
            created_at=now or utcnow(),
            expires_at=(now or utcnow()) + timedelta(days=days),
        )
        return row, plain

    def usable(self, now=None):
        """True unless revoked or expired."""
        now = now or utcnow()
        return self.revoked_at is None and self.expires_at > now

    def expiring_soon(self, now=None):
        """Usable, but for less than ``EXPIRY_WARNING_DAYS`` more days."""
        now = now or utcnow()
        return self.usable(now) and self.expires_at <= now + timedelta(days=EXPIRY_WARNING_DAYS)

    @property
    def status(self):
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= utcnow():
            return "expired"
        return "expiring" if self.expiring_soon() else "active"
