"""``POST /oauth/token``: OAuth 2.0 client credentials (RFC 6749 §4.4), on Authlib.

Authlib's Flask ``AuthorizationServer`` with its ``ClientCredentialsGrant`` reads the
request, authenticates the client by HTTP Basic or by ``client_id``/``client_secret`` in the
body (§2.3.1), and writes the token response (§5.1) and errors (§5.2). Herd adds:

- the client's secrets: several may be active at once (rotation); each is compared with the
  presented one in constant time, and a revoked or expired secret or a disabled client
  authenticates nothing;
- the token: an ``access_tokens`` row (``herd_`` + 256 random bits, stored hashed) with the
  client and secret it came from and the company's lifetime (1 to 6 hours), so SCIM's
  authentication reads it with the same statement as a static token;
- ``invalid_client`` is always a 401 with ``WWW-Authenticate`` (Authlib answers 400 when the
  credentials came in the body); credentials in the URL, or a header that does not decode,
  are refused before Authlib reads them (an URL lands in access logs);
- rate limits (Flask-Limiter, counters in the broker's Redis): every call per source
  address, failed calls per address (so a guessed secret costs the guesser), and tokens
  issued per client (a leaked secret cannot mint tokens without end). Nothing is counted
  against the company's SCIM budget.

Authlib's debug log lines would carry the issued token: its loggers are held at INFO.
"""

import base64
import binascii
import logging
import secrets
from datetime import timedelta

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError
from flask import Blueprint, current_app, jsonify, request
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from models import AccessToken, Company, OAuthClient, OAuthSecret, hash_token, utcnow
from models.company import DISPLAY_CHARS, TOKEN_PREFIX
from service import db
from service.errors import HerdError

PATH = "/oauth/token"
PER_ADDRESS = "30/minute;300/hour"
FAILURES_PER_ADDRESS = "10/minute;50/hour"
ISSUED_PER_CLIENT = "20/minute;200/hour"
# Issued tokens of a client that expired longer ago than this are deleted when it gets a new one.
EXPIRED_TOKENS_KEPT_SECONDS = 24 * 3600
MAX_CLIENT_ID = 64
DETAIL_INVALID_CLIENT = (
    "Client authentication failed: the client id is unknown or disabled, or the secret is wrong, "
    "expired or revoked. Check them in Settings > Integrations > API."
)
MAX_SECRET = 200

# Authlib logs the token it issues at DEBUG; nothing here may ever write a secret or token.
logging.getLogger("authlib").setLevel(logging.INFO)

bp = Blueprint("oauth", __name__)


class _Client:
    """Authlib's view of an ``OAuthClient`` row (its ``ClientMixin`` methods)."""

    def __init__(self, row, company):
        self.row = row
        self.company = company
        self.secret = None  # the secret that authenticated this request

    def get_client_id(self):
        return self.row.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        # No scopes: a token opens its company's tenant URL and /api/v1, nothing else.
        return ""

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        if not client_secret or len(client_secret) > MAX_SECRET:
            return False
        self.secret = self.row.matching_secret(client_secret)
        return self.secret is not None

    def check_endpoint_auth_method(self, method, endpoint):
        return endpoint == "token" and method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type == "client_credentials"

    @property
    def lifetime_seconds(self):
        return self.company.access_token_minutes * 60


class _ClientCredentials(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class _Server(AuthorizationServer):
    def handle_error_response(self, request, error):
        # RFC 6749 §5.2 allows 400 when the credentials came in the body; IdPs (and our
        # docs) expect one answer for every failed client authentication: 401 + WWW-Authenticate.
        if isinstance(error, InvalidClientError):
            error.status_code = 401
            # One answer for every cause: it tells a guesser nothing about which part was wrong.
            error.description = DETAIL_INVALID_CLIENT
        return super().handle_error_response(request, error)


def _query_client(client_id):
    """The enabled client with this id and its company, or None (Authlib: invalid_client)."""
    if not client_id or len(client_id) > MAX_CLIENT_ID:
        return None
    found = (
        db.session()
        .execute(
            select(OAuthClient, Company)
            .join(Company, Company.id == OAuthClient.company_id)
            .options(selectinload(OAuthClient.secrets))
            .where(OAuthClient.client_id == client_id, OAuthClient.disabled_at.is_(None))
        )
        .first()
    )
    return _Client(*found) if found else None


def _generate_token(grant_type=None, client=None, **_ignored):
    """The response body of a new token; the row is written by ``_save_token``."""
    return {
        "access_token": TOKEN_PREFIX + secrets.token_urlsafe(32),
        "token_type": "Bearer",
        "expires_in": client.lifetime_seconds,
    }


def _save_token(token, oauth_request):
    """Store the token's hash, unless the secret was revoked (or the client disabled) since
    it was checked: the secret and client rows are locked (PostgreSQL) until the token is
    committed, so a revocation either sees the new token and revokes it, or is seen here."""
    client = oauth_request.client
    company_id, client_pk, secret_pk = client.row.company_id, client.row.id, client.secret.id
    name = f"OAuth client {client.row.name}"[:200]
    session = db.session()
    # A fresh transaction: the one that read the client may hold a snapshot (SQLite) older
    # than a revocation committed since.
    session.rollback()
    now = utcnow()
    locked = session.execute(
        select(OAuthSecret.revoked_at, OAuthSecret.expires_at, OAuthClient.disabled_at)
        .join(OAuthClient, OAuthClient.id == OAuthSecret.client_id)
        .where(OAuthSecret.id == secret_pk)
        .with_for_update()
    ).first()
    if locked is None or locked.revoked_at is not None or locked.expires_at <= now or locked.disabled_at is not None:
        session.rollback()
        raise InvalidClientError(status_code=401, description="The client secret is no longer valid.")
    plain = token["access_token"]
    session.add(
        AccessToken(
            company_id=company_id,
            name=name,
            token_hash=hash_token(plain),
            display_prefix=plain[:DISPLAY_CHARS],
            created_at=now,
            expires_at=now + _seconds(token["expires_in"]),
            oauth_client_id=client_pk,
            oauth_secret_id=secret_pk,
        )
    )
    # Issued tokens pile up (one an hour per client): drop the client's long-expired ones.
    session.execute(
        delete(AccessToken).where(
            AccessToken.oauth_client_id == client_pk,
            AccessToken.expires_at < now - _seconds(EXPIRED_TOKENS_KEPT_SECONDS),
        )
    )
    session.commit()


def _seconds(n):
    return timedelta(seconds=n)


def _refuse_before_authlib():
    """An OAuth2Error for what Authlib would mishandle or must not see, else None."""
    if request.args:
        # §2.3.1: credentials never go in the URL (proxies and access logs keep URLs).
        return InvalidRequestError(description="Send the parameters in a form-encoded body, not in the URL.")
    if request.mimetype != "application/x-www-form-urlencoded":
        return InvalidRequestError(description="Send a body of type application/x-www-form-urlencoded.")
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "basic":
        try:
            base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return InvalidClientError(status_code=401, description="The Authorization header does not decode.")
    if not request.form.get("grant_type"):
        return InvalidRequestError(description="The grant_type parameter is missing.")
    for name in ("grant_type", "client_id", "client_secret", "scope"):
        if len(request.form.getlist(name)) > 1:
            # §3.2: a parameter must not be sent twice.
            return InvalidRequestError(description=f"The {name} parameter is repeated.")
    return None


def _oauth_error(error):
    server = current_app.extensions["herd.oauth_server"]
    return server.handle_error_response(None, error)


@bp.post(PATH)
def token():
    """Issue an access token for a client's credentials (RFC 6749 §4.4)."""
    refused = _refuse_before_authlib()
    if refused is not None:
        return _oauth_error(refused)
    server = current_app.extensions["herd.oauth_server"]
    try:
        return server.create_token_response()
    except OAuth2Error as error:  # raised outside Authlib's own handling (plain http, _save_token)
        return _oauth_error(error)


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(err):
    from service.ratelimit.limiter import retry_after_seconds

    seconds = retry_after_seconds()
    response = jsonify(
        error="temporarily_unavailable",
        error_description=f"Too many token requests from here. Retry after {seconds} seconds.",
    )
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(HerdError)
def _herd_error(err):
    # A refusal from a request-wide check (control characters in the form, ...): §5.2's shape.
    response = jsonify(error="invalid_request", error_description=err.detail)
    response.status_code = err.status if err.status < 500 else 400
    response.headers["Cache-Control"] = "no-store"
    return response


def _address():
    return request.remote_addr or "unknown"


def _client_key():
    """The client a token request names (Basic user or body ``client_id``), for its limit."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            return decoded.partition(":")[0][:MAX_CLIENT_ID]
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return ""
    return (request.form.get("client_id") or "")[:MAX_CLIENT_ID]


def _failed(response):
    return response.status_code >= 400


def _issued(response):
    return response.status_code == 200


def init_app(app):
    """Register the token endpoint, its Authlib server and its rate limits."""
    server = _Server(app, query_client=_query_client, save_token=_save_token)
    server.register_grant(_ClientCredentials)
    server.register_token_generator("client_credentials", _generate_token)
    app.extensions["herd.oauth_server"] = server
    app.register_blueprint(bp)
    limiter = app.extensions["herd.limiter"]
    view = app.view_functions["oauth.token"]
    view = limiter.shared_limit(PER_ADDRESS, scope="oauth-token", key_func=_address)(view)
    view = limiter.shared_limit(
        FAILURES_PER_ADDRESS, scope="oauth-token-failures", key_func=_address, deduct_when=_failed
    )(view)
    view = limiter.shared_limit(
        ISSUED_PER_CLIENT, scope="oauth-token-client", key_func=_client_key, deduct_when=_issued
    )(view)
    app.view_functions["oauth.token"] = view
