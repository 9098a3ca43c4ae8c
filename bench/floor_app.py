"""The bench floor: a bare WSGI app that does only the SQL each Entra/Okta request needs.

    gunicorn bench.floor_app:app   (DATABASE_URL=postgresql://... of a migrated Herd database)

It answers the requests ``bench.entra_cycle`` sends with the shapes the bench checks, and
issues exactly one statement per request on Herd's own schema and indexes:

- ``GET /Users?filter=<attr> eq "<v>"``: one indexed SELECT (userName, externalId or work email);
- ``GET /Users/<id>``: one SELECT by primary key;
- ``POST /Users``: one INSERT (the unique index answers 409 for a taken userName);
- ``PATCH /Users/<id>``: one UPDATE ... RETURNING (plain and nested paths through ``jsonb_set``,
  a value-path ``Add`` appended to its array);
- ``PUT /Users/<id>``: one UPDATE ... RETURNING of the whole document.

Each statement runs in autocommit, so a request is one round trip to PostgreSQL, on a
pool whose minimum equals its maximum (psycopg2's pool closes a returned connection above
``minconn``), opened and warmed before the first request. Every statement but PATCH's
(whose expression depends on the operations) is ``PREPARE``d once per connection and then
run with ``EXECUTE``: PostgreSQL parses and plans it once, as a tuned bare stack would. The bearer token is checked against the token hashes
read once per process (SHA-256, constant-time compare): the ideal of a cache, with no
statement per request. There is no validation, no outbox row and no broker: it is the
ceiling Herd is measured against, not a SCIM server. PostgreSQL only. Never imported by Herd or the tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import threading
import unicodedata
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.pool

SCIM_JSON = "application/scim+json"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
ROUTE = re.compile(r"^/scim/v2/(\d+)/Users(?:/([0-9a-fA-F-]{36}))?/?$")
FILTER = re.compile(r'^\s*(userName|externalId|emails\[type eq "work"\]\.value)\s+eq\s+"(.*)"\s*$', re.I)
STATEMENTS = {"username": "by_user_name_key", "externalid": "by_external_id_lower"}
VALUE_PATH = re.compile(r"^(\w+)\[type eq \"(\w+)\"\]\.value$", re.I)
RETURNING = "RETURNING id, resource::text, created_at, updated_at, version"

_pool = None
_tokens: dict[str, int] | None = None
_lock = threading.Lock()
# Connections per process, all opened at start and kept (minconn == maxconn): more than the
# bench's clients, so a request never waits for, or opens, a connection.
POOL_SIZE = 16
_SELECT = "SELECT id, resource::text, created_at, updated_at, version FROM learners "
# No ORDER BY in the lookups: a prepared statement's generic plan for "ORDER BY created_at, id"
# walks the company's (company_id, created_at) index and filters every learner of the company
# (seen with EXPLAIN). The lookups match a handful of rows at most; they are sorted in Python,
# as Herd's own IdP lookups are.
_LISTING = " AND deleted_at IS NULL"
_PAGE = 100
_DOC_COLUMNS = (
    "user_name, user_name_lower, user_name_key, external_id_lower, email_lower, display_name, given_name,"
    " family_name, active"
)
# The statements PREPAREd on every connection: name -> SQL with $n parameters.
PREPARED = {
    "by_user_name_key": _SELECT + "WHERE company_id = $1 AND user_name_key = $2" + _LISTING,
    "by_external_id_lower": _SELECT + "WHERE company_id = $1 AND external_id_lower = $2" + _LISTING,
    "by_email_lower": _SELECT + "WHERE company_id = $1 AND email_lower = $2" + _LISTING,
    "by_id": _SELECT + "WHERE id = $1 AND company_id = $2 AND deleted_at IS NULL",
    "insert": "INSERT INTO learners (id, company_id, resource, "
    + _DOC_COLUMNS
    + ", training_tags, version, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, '[]', 1, $13, $13) " + RETURNING,
    "replace": "UPDATE learners SET resource = $3, ("
    + _DOC_COLUMNS
    + ") = ($4, $5, $6, $7, $8, $9, $10, $11, $12), version = version + 1, updated_at = $13"
    " WHERE id = $1 AND company_id = $2 AND deleted_at IS NULL " + RETURNING,
}
COLUMN_ORDER = _DOC_COLUMNS.split(", ")


def _prepare(conn):
    """Autocommit and every ``PREPARED`` statement, once per connection."""
    conn.autocommit = True  # no BEGIN, no COMMIT: a single statement is atomic by itself
    with conn.cursor() as cur:
        for name, sql in PREPARED.items():
            cur.execute(f"PREPARE {name} AS {sql}")
    conn.prepared = True


class _Connection(psycopg2.extensions.connection):
    """A connection that remembers whether its statements are prepared."""

    prepared = False


def _setup():
    """Connection pool (every connection opened and prepared) and token hashes, once per process (after the fork)."""
    global _pool, _tokens
    with _lock:
        if _pool is None:
            url = os.environ["DATABASE_URL"].replace("postgresql+psycopg2://", "postgresql://")
            pool = psycopg2.pool.ThreadedConnectionPool(POOL_SIZE, POOL_SIZE, url, connection_factory=_Connection)
            held = [pool.getconn() for _ in range(POOL_SIZE)]
            try:
                for conn in held:
                    _prepare(conn)
                with held[0].cursor() as cur:
                    cur.execute("SELECT token_hash, company_id FROM access_tokens WHERE revoked_at IS NULL")
                    _tokens = dict(cur.fetchall())
            finally:
                for conn in held:
                    pool.putconn(conn)
            _pool = pool  # published last: other requests test it without the lock


def _one(sql, params):
    """Run one statement in autocommit (one round trip); ``EXECUTE name(...)`` for a prepared one."""
    conn = _pool.getconn()
    try:
        if not conn.prepared:  # a connection the pool replaced after an error
            _prepare(conn)
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        _pool.putconn(conn)


def _execute(name, params):
    """Run the prepared statement ``name`` with ``params`` (positional)."""
    return _one(f"EXECUTE {name}({', '.join(['%s'] * len(params))})", params)


def _resource(row, base):
    learner_id, doc, created, updated, version = row
    out = {"schemas": [CORE], "id": learner_id, **json.loads(doc)}
    out["meta"] = {
        "resourceType": "User",
        "created": created.isoformat() + "Z",
        "lastModified": updated.isoformat() + "Z",
        "location": f"{base}/Users/{learner_id}",
        "version": f'W/"{version}"',
    }
    return out


def _answer(start_response, status, body, extra=()):
    data = json.dumps(body).encode()
    headers = [("Content-Type", SCIM_JSON), ("Content-Length", str(len(data))), *extra]
    start_response(status, headers)
    return [data]


def _error(start_response, status, detail):
    return _answer(start_response, status, {"schemas": [ERROR], "status": status.split()[0], "detail": detail})


def _key(text):
    """userName's unique key, as Herd's schema defines it (NFC, case folded)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


def _columns(doc):
    emails = doc.get("emails") or []
    work = next((e.get("value") for e in emails if isinstance(e, dict) and e.get("type") == "work"), None)
    name = doc.get("name") or {}
    return {
        "user_name": doc["userName"],
        "user_name_lower": doc["userName"].lower(),
        "user_name_key": _key(doc["userName"]),
        "external_id_lower": (doc.get("externalId") or "").lower() or None,
        "email_lower": work.lower() if work else None,
        "display_name": doc.get("displayName"),
        "given_name": name.get("givenName"),
        "family_name": name.get("familyName"),
        "active": doc.get("active", True) is not False,
    }


def _patch_sql(ops):
    """One UPDATE expression over ``resource`` for the ops of the bench (plain, nested, value path)."""
    expr, params, active = "resource", [], None
    for op in ops:
        path, value = op.get("path", ""), op.get("value")
        match = VALUE_PATH.match(path)
        if match:
            attr, kind = match.groups()
            expr = f"jsonb_set({expr}, %s, coalesce(resource->%s, '[]'::jsonb) || %s::jsonb)"
            params += ["{" + attr + "}", attr, json.dumps([{"type": kind, "value": value}])]
            continue
        if path.lower() == "active":
            active = str(value).lower() == "true" if isinstance(value, str) else bool(value)
            value = active
        if path.lower().startswith("urn:"):
            urn, _, attr = path.rpartition(":")
            keys = [urn, attr]
        else:
            keys = path.split(".")
        expr = f"jsonb_set({expr}, %s, %s::jsonb)"
        params += ["{" + ",".join(f'"{k}"' for k in keys) + "}", json.dumps(value)]
    return expr, params, active


def app(environ, start_response):
    """The WSGI entry point."""
    path = environ.get("PATH_INFO", "")
    if path == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    if _pool is None:
        _setup()
    route = ROUTE.match(path)
    if route is None:
        return _error(start_response, "404 Not Found", "no such route")
    company_id, learner_id = int(route.group(1)), route.group(2)
    auth = environ.get("HTTP_AUTHORIZATION", "")
    digest = hashlib.sha256(auth.partition(" ")[2].encode()).hexdigest()
    owner = next((c for h, c in _tokens.items() if hmac.compare_digest(h, digest)), None)
    if owner != company_id:
        return _error(start_response, "401 Unauthorized", "bad token")
    base = f"{environ['wsgi.url_scheme']}://{environ['HTTP_HOST']}/scim/v2/{company_id}"
    method = environ["REQUEST_METHOD"]
    if method in ("POST", "PATCH", "PUT"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length))
    if method == "GET" and learner_id is None:
        match = FILTER.match(parse_qs(environ.get("QUERY_STRING", "")).get("filter", [""])[0])
        if match is None:
            return _error(start_response, "400 Bad Request", "unsupported filter")
        statement = STATEMENTS.get(match.group(1).lower(), "by_email_lower")
        value = _key(match.group(2)) if statement == "by_user_name_key" else match.group(2).lower()
        rows = sorted(_execute(statement, (company_id, value)), key=lambda r: (r[2], r[0]))[:_PAGE]
        resources = [_resource(r, base) for r in rows]
        listing = {"schemas": [LIST], "totalResults": len(resources), "startIndex": 1}
        return _answer(start_response, "200 OK", listing | {"itemsPerPage": len(resources), "Resources": resources})
    if method == "GET":
        rows = _execute("by_id", (learner_id, company_id))
        if not rows:
            return _error(start_response, "404 Not Found", "no such user")
        return _answer(start_response, "200 OK", _resource(rows[0], base))
    if method in ("POST", "PUT"):
        doc = {k: v for k, v in body.items() if k not in ("schemas", "meta", "id")}
        cols = _columns(doc)
        now = datetime.now(UTC).replace(tzinfo=None)
        key = str(uuid.uuid4()) if method == "POST" else learner_id
        params = (key, company_id, json.dumps(doc), *(cols[c] for c in COLUMN_ORDER), now)
        try:
            rows = _execute("insert" if method == "POST" else "replace", params)
        except psycopg2.errors.UniqueViolation:
            return _error(start_response, "409 Conflict", "userName taken")
        if not rows:
            return _error(start_response, "404 Not Found", "no such user")
        resource = _resource(rows[0], base)
        if method == "PUT":
            return _answer(start_response, "200 OK", resource)
        return _answer(start_response, "201 Created", resource, [("Location", resource["meta"]["location"])])
    if method == "PATCH":
        expr, params, active = _patch_sql(body.get("Operations") or [])
        rows = _one(
            f"UPDATE learners SET resource = {expr}, active = coalesce(%s, active), version = version + 1,"
            " updated_at = %s WHERE id = %s AND company_id = %s AND deleted_at IS NULL " + RETURNING,
            (*params, active, datetime.now(UTC).replace(tzinfo=None), learner_id, company_id),
        )
        if not rows:
            return _error(start_response, "404 Not Found", "no such user")
        return _answer(start_response, "200 OK", _resource(rows[0], base))
    return _error(start_response, "405 Method Not Allowed", "unsupported method")
