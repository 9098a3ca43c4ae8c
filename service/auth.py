"""Bearer tokens -> company. Tokens are looked up by hash and compared in constant time."""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, request
from sqlalchemy import select, update

from models import AccessToken, Company, hash_token, utcnow
from service import db
from service.db_retry import first_statement
from service.errors import Unauthorized

# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)

DETAIL_MISSING = (
    "Missing bearer token. Send 'Authorization: Bearer <token>' (or the bare token) with an access token "
    "created in Settings > Integrations > API."
)
DETAIL_INVALID = (
    "The access token is not valid for this tenant URL: it is unknown, revoked or expired, "
    "or it belongs to another company. Create a new token in Settings > Integrations > API "
    "and check the Company ID at the end of the tenant URL."
)


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's company and the token (its id and name, never the secret)."""

    company: Company
    token_id: int
    token_name: str


def bearer_secret():
    """The token of the current request, or None.

    ``Authorization: Bearer <token>`` and a bare ``Authorization: <token>`` both
    count: Okta's app wizard lets the admin paste either form. A value with another
    scheme (``Basic ...``) carries no token; a bare value that is not a token
    (``non-token``) is looked up like any other and fails as an unknown token.
    """
    header = request.headers.get("Authorization", "").strip()
    scheme, _, secret = header.partition(" ")
    if not secret:
        return scheme or None
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def authenticate(company_id):
    """Return the Caller for ``company_id`` or raise Unauthorized (same answer for every cause)."""
    secret = bearer_secret()
    if secret is None:
        raise Unauthorized(DETAIL_MISSING, headers={"WWW-Authenticate": 'Bearer realm="herd"'})
    session = db.session()
    # One round trip: the token and its company together (the join is on the token's own
    # company, so another company's id in the URL finds the token but fails the check below).
    row = first_statement(
        session, select(AccessToken, Company).join(Company).where(AccessToken.token_hash == hash_token(secret))
    ).first()
    token, company = row if row is not None else (None, None)
    now = utcnow()
    if token is None or not token.matches(secret) or not token.usable(now) or token.company_id != company_id:
        raise Unauthorized(DETAIL_INVALID, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        _touch(token.id, now)
    caller = Caller(company=company, token_id=token.id, token_name=token.name)
    g.caller = caller
    return caller


def _touch(token_id, now):
    """Record ``last_used_at`` in a short transaction of its own.

    The request's own transaction is committed only at the request boundary
    (with its provisioning event), so the token's bookkeeping must not commit it.
    """
    with current_app.extensions["herd.sessions"]() as session:
        session.execute(update(AccessToken).where(AccessToken.id == token_id).values(last_used_at=now))
        session.commit()
