"""Record failed SCIM calls for the dashboard's activity page.

Entra's provisioning log shows "failed" with little context; the admin finds
the status, scimType and detail Herd answered in Provisioning activity, and what
the call sent. Never the token or the query string (it can carry secrets); the
body only as JSON with every password, secret and token replaced, and cut to
BODY_LIMIT characters (``sanitised_body``). Recording never changes the
response: a failure to record is logged and dropped.

Only calls made with a token valid for the company in the URL are recorded: anyone
can send a call without one to any tenant URL, and its path (``/Users/<any text>``)
would put a stranger's words on the company's Activity page. A call refused before
authentication (a 429, a path no route serves) has its token checked here.

It runs as an ``after_request`` hook on the SCIM error that
``service.edge.error_handlers`` noted in ``g.scim_error``: rendering writes nothing.
"""

import contextlib
import json
import logging
import re
import threading
import time

from flask import g, request
from sqlalchemy import select

from models import AccessToken, ScimFailure, hash_token, utcnow
from service import db
from service.auth import bearer_secret

log = logging.getLogger(__name__)

_PATH = re.compile(r"^/scim/v2/(\d{1,9})(?:/|$)")
_USER_ID = re.compile(r"/Users/([0-9a-fA-F-]{36})(?:/|$)")
# Calls refused before authentication and 429s are recorded at most this often per company
# and process: they come in floods, must not fill the table, nor cost a query each.
ANONYMOUS_EVERY = 10.0
_last_anonymous = {}
_lock = threading.Lock()
# What is kept of a failing call's body: enough to see what Entra sent, not a whole bulk request.
BODY_LIMIT = 4000
BODY_READ_LIMIT = 1_000_000
REMOVED = "[removed]"
# A key (or a PATCH operation's path) naming one of these holds a secret: its value is replaced.
_SECRET = re.compile(r"password|passwd|secret|token|credential|api[_-]?key|authorization", re.IGNORECASE)


def _scrub(value):
    if isinstance(value, dict):
        # A PATCH operation {"op": "replace", "path": "password", "value": ...} names its secret in "path".
        path = value.get("path")
        secret_path = isinstance(path, str) and _SECRET.search(path)
        return {
            key: REMOVED
            if (isinstance(key, str) and _SECRET.search(key)) or (secret_path and key == "value")
            else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value


def sanitised_body(raw):
    """The JSON ``raw`` bytes with every secret replaced, as text of at most BODY_LIMIT
    characters; None when there is no body or it is not JSON (nothing unparsed is kept)."""
    if not raw or len(raw) > BODY_READ_LIMIT:
        return None
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    try:
        text = json.dumps(_scrub(doc), ensure_ascii=False, indent=1)
    except RecursionError:
        return None
    return text if len(text) <= BODY_LIMIT else text[: BODY_LIMIT - 1] + "…"


def _request_body():
    """The failing call's body, sanitised (only what the request already read or a bounded one)."""
    length = request.content_length
    if length is None or length > BODY_READ_LIMIT:
        return None
    return sanitised_body(request.get_data(cache=True))


def _company_id():
    company_id = (request.view_args or {}).get("company_id")
    if isinstance(company_id, int):
        return company_id
    match = _PATH.match(request.path)
    return int(match.group(1)) if match else None


def _throttled(company_id):
    now = time.monotonic()
    with _lock:
        if now - _last_anonymous.get(company_id, -ANONYMOUS_EVERY) < ANONYMOUS_EVERY:
            return True
        _last_anonymous[company_id] = now
        return False


def _token_name(session, company_id):
    """The name of the request's token when it is valid for ``company_id``, else None
    (for a call refused before authentication; looked up by hash like ``service.auth``)."""
    secret = bearer_secret()
    if secret is None:
        return None
    token = session.scalar(select(AccessToken).where(AccessToken.token_hash == hash_token(secret)))
    if token is None or token.company_id != company_id or not token.matches(secret) or not token.usable():
        return None
    return token.name


def init_app(app):
    """Record every failed SCIM call after its response is built."""

    @app.after_request
    def _record_failure(response):
        err = g.pop("scim_error", None)
        if err is not None:
            record(err.status, err.scim_type, err.detail)
        return response


def record(status, scim_type, detail):
    """Store one failed SCIM call (4xx/5xx under /scim/ made with a token valid for its company)."""
    if status < 400 or not request.path.startswith("/scim/"):
        return
    company_id = _company_id()
    if company_id is None:
        return
    caller = g.get("caller")
    session = g.get("db_session")
    try:
        if session is None:
            session = db.session_factory()()
            g.db_session = session
        # Whatever the failed request wrote is abandoned first (and SQLite's write lock released).
        session.rollback()
        # Throttled first: a flood of refused calls must not cost a query each.
        if (caller is None or status == 429) and _throttled(company_id):
            return
        if caller is not None:
            token_name = caller.token_name
        else:
            # Refused before authentication (a 429, a path no route serves): one indexed
            # read, as authentication costs any call that carries a token.
            token_name = _token_name(session, company_id)
        if token_name is None:
            # No valid token for this company: nothing of this call reaches its pages.
            return
        match = _USER_ID.search(request.path)
        session.add(
            ScimFailure(
                company_id=company_id,
                method=request.method[:10],
                path=request.path[:500],
                resource_id=match.group(1).lower() if match else None,
                status=status,
                scim_type=(scim_type or None) and scim_type[:40],
                detail=(detail or "")[:1000],
                token_name=token_name[:200],
                request_body=_request_body(),
                occurred_at=utcnow(),
            )
        )
        session.commit()
    except Exception:  # recording is best effort: the client still gets its error
        log.warning("could not record a failed SCIM call on %s %s", request.method, request.path, exc_info=True)
        with contextlib.suppress(Exception):
            session.rollback()
