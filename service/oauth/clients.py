"""OAuth clients and secrets of a company: create, add and revoke secrets, disable, list.

Shared by the operator CLI (``./herd oauth-clients``) and the dashboard (Settings >
Integrations > API). A secret's plain text is returned once, by the call that creates it.
Revoking a secret or disabling a client revokes the access tokens it obtained in the same
transaction, so the very next SCIM call with one of them is refused (authentication reads
the token row on every request; nothing is cached).
"""

from datetime import timedelta

from sqlalchemy import func, select, update

from models import AccessToken, Company, OAuthClient, OAuthSecret, utcnow
from models.oauth import (
    EXPIRY_WARNING_DAYS,
    SECRET_DAYS_DEFAULT,
    SECRET_DAYS_MAX,
    SECRET_DAYS_MIN,
    TOKEN_MINUTES_MAX,
    TOKEN_MINUTES_MIN,
)

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "SECRET_DAYS_DEFAULT",
    "SECRET_DAYS_MAX",
    "SECRET_DAYS_MIN",
    "ClientError",
    "add_secret",
    "clients_of",
    "create_client",
    "disable_client",
    "expiring_secret_count",
    "find_client",
    "revoke_secret",
    "set_oauth_only",
    "set_token_minutes",
]


class ClientError(Exception):
    """A request about clients that cannot be met; the message is safe to show."""


def create_client(session, company_id, name="Entra ID provisioning", secret_days=SECRET_DAYS_DEFAULT):
    """A new client of ``company_id`` with one secret: ``(client, secret_row, plain_secret)``."""
    if session.get(Company, company_id) is None:
        raise ClientError(f"no company {company_id}")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ClientError("Give the client a name of 1 to 200 characters.")
    _check_days(secret_days)
    client = OAuthClient.new(company_id, name)
    session.add(client)
    secret, plain = OAuthSecret.issue(client, secret_days)
    session.add(secret)
    session.flush()
    return client, secret, plain


def add_secret(session, client, secret_days=SECRET_DAYS_DEFAULT):
    """Another secret for ``client`` (the others stay active): ``(secret_row, plain_secret)``."""
    if not client.enabled:
        raise ClientError(f"client {client.client_id} is disabled")
    _check_days(secret_days)
    secret, plain = OAuthSecret.issue(client, secret_days)
    session.add(secret)
    session.flush()
    return secret, plain


def revoke_secret(session, client, prefix):
    """Revoke the secret of ``client`` whose first characters are ``prefix``, and its tokens."""
    prefix = (prefix or "").strip()
    found = [s for s in client.secrets if prefix and s.display_prefix.startswith(prefix)]
    if not found:
        raise ClientError(f"no secret of client {client.client_id} starts with that")
    if len(found) > 1:
        raise ClientError(f"{len(found)} secrets start with that; give all {len(found[0].display_prefix)} characters")
    secret = found[0]
    now = utcnow()
    if secret.revoked_at is None:
        secret.revoked_at = now
    session.execute(
        update(AccessToken)
        .where(AccessToken.oauth_secret_id == secret.id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return secret


def disable_client(session, client):
    """Disable ``client``: its secrets stop working and every token it obtained is revoked."""
    now = utcnow()
    if client.disabled_at is None:
        client.disabled_at = now
    session.execute(
        update(AccessToken)
        .where(AccessToken.oauth_client_id == client.id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return client


def find_client(session, client_id, company_id=None):
    """The client with this public ``client_id`` (of ``company_id`` if given), or ClientError."""
    query = select(OAuthClient).where(OAuthClient.client_id == (client_id or "").strip()[:64])
    if company_id is not None:
        query = query.where(OAuthClient.company_id == company_id)
    client = session.scalar(query)
    if client is None:
        raise ClientError(f"no client {client_id}" if company_id is None else "no such client")
    return client


def clients_of(session, company_id):
    """The company's clients, newest first, with their secrets."""
    return session.scalars(
        select(OAuthClient).where(OAuthClient.company_id == company_id).order_by(OAuthClient.id.desc())
    ).all()


def set_oauth_only(session, company, on):
    """Turn "OAuth only" on or off: while on, static tokens are refused at authentication."""
    company.oauth_only = bool(on)


def set_token_minutes(session, company, minutes):
    """Set the lifetime of the access tokens the company's clients obtain (60 to 360 minutes)."""
    if not TOKEN_MINUTES_MIN <= minutes <= TOKEN_MINUTES_MAX:
        raise ClientError(f"An access token lives {TOKEN_MINUTES_MIN} to {TOKEN_MINUTES_MAX} minutes.")
    company.access_token_minutes = minutes


def expiring_secret_count(session, now=None):
    """Secrets of enabled clients that still work but expire within ``EXPIRY_WARNING_DAYS`` days."""
    now = now or utcnow()
    return session.scalar(
        select(func.count())
        .select_from(OAuthSecret)
        .join(OAuthClient, OAuthClient.id == OAuthSecret.client_id)
        .where(
            OAuthClient.disabled_at.is_(None),
            OAuthSecret.revoked_at.is_(None),
            OAuthSecret.expires_at > now,
            OAuthSecret.expires_at <= now + timedelta(days=EXPIRY_WARNING_DAYS),
        )
    )


def _check_days(days):
    if not SECRET_DAYS_MIN <= days <= SECRET_DAYS_MAX:
        raise ClientError(f"A secret lives {SECRET_DAYS_MIN} to {SECRET_DAYS_MAX} days (1 to 3 years).")
