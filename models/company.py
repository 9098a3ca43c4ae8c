"""Companies (tenants) and their access tokens."""

import hashlib
import hmac
import secrets

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.db import Base, Document, utcnow

TOKEN_PREFIX = "herd_"
DISPLAY_CHARS = 12


class Company(Base):
    """A customer company; its integer id is the one in the tenant URL."""

    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[object] = mapped_column(DateTime, default=utcnow)
    groups_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The learner-extension URN this company's IdP uses (None until one is seen).
    extension_urn: Mapped[str | None] = mapped_column(String(300))
    due_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    industry: Mapped[str | None] = mapped_column(String(100))
    # Days before a completion expires that its next cycle is assigned (recertification).
    lead_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # The latest moment the daily recertification ran as of: time never runs backwards.
    recertified_through: Mapped[object | None] = mapped_column(DateTime)
    # Requests allowed on SCIM and /api/v1 together; None: the installation's default, 0: no limit.
    rate_limit_per_second: Mapped[int | None] = mapped_column(Integer)
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    # Where Smart Assign reads each input from (models/attribute_mapping.py); None = the defaults.
    attribute_mapping: Mapped[dict | None] = mapped_column(Document)
    # Lower-cased names of the attributes Herd does not declare that this company's IdP has
    # sent (``easyllamarole``, ``urn:...:user:costcode``): these stay filterable.
    custom_attributes: Mapped[list | None] = mapped_column(Document)
    # "OAuth only": static bearer tokens are refused; only access tokens from /oauth/token open it.
    oauth_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Lifetime of the access tokens /oauth/token issues for this company (60 to 360 minutes).
    access_token_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    # Days before a due date that its assignment.due_soon webhook is sent.
    webhook_due_soon_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    # Raised by the database's triggers (migration 0019), never by the application, whenever
    # this row or one of its access tokens' revocation, expiry or owner changes: a web process
    # that accepted a token under another version checks it in full again (service/auth_cache.py).
    auth_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    tokens = relationship("AccessToken", back_populates="company")


def hash_token(secret):
    """SHA-256 of a token. Tokens carry 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(secret.encode()).hexdigest()


class AccessToken(Base):
    """A bearer token for one company; only its hash and first characters are stored."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    display_prefix: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[object] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[object | None] = mapped_column(DateTime)
    expires_at: Mapped[object | None] = mapped_column(DateTime)
    revoked_at: Mapped[object | None] = mapped_column(DateTime)
    # Set on the tokens /oauth/token issues (None: a static token made by an operator or admin).
    # Revoking the secret or disabling the client revokes these rows in the same transaction.
    oauth_client_id: Mapped[int | None] = mapped_column(ForeignKey("oauth_clients.id"), index=True)
    oauth_secret_id: Mapped[int | None] = mapped_column(ForeignKey("oauth_client_secrets.id"), index=True)

    company = relationship("Company", back_populates="tokens")

    @classmethod
    def issue(cls, company_id, name, expires_at=None):
        """Create a token row and return ``(row, secret)``; the secret is never stored."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = cls(
            company_id=company_id,
            name=name,
            token_hash=hash_token(secret),
            display_prefix=secret[:DISPLAY_CHARS],
            expires_at=expires_at,
        )
        return row, secret

    def matches(self, secret):
        """Constant-time comparison of a presented secret with the stored hash."""
        return hmac.compare_digest(self.token_hash, hash_token(secret))

    def usable(self, now=None):
        """True unless revoked or expired."""
        now = now or utcnow()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now

    @property
    def status(self):
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "active"
