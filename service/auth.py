"""Bearer tokens -> company. Tokens are looked up by hash and compared in constant time."""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, request
from sqlalchemy import select, update

from models import AccessToken, Company, hash_token, utcnow
from service import db
from service.errors import Unauthorized

# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)

DETAIL_MISSING = (
    "Missing bearer token. Send 'Authorization: Bearer <token>' with an access token "
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
    """The bearer token of the current request, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def authenticate(company_id):
    """Return the Caller for ``company_id`` or raise Unauthorized (same answer for every cause)."""
    secret = bearer_secret()
    if secret is None:
        raise Unauthorized(DETAIL_MISSING, headers={"WWW-Authenticate": 'Bearer realm="herd"'})
    session = db.session()
    token = session.scalar(select(AccessToken).where(AccessToken.token_hash == hash_token(secret)))
    now = utcnow()
    if token is None or not token.matches(secret) or not token.usable(now) or token.company_id != company_id:
        raise Unauthorized(DETAIL_INVALID, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    company = session.get(Company, company_id)
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
