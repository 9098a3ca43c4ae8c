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
pool that keeps its connections. The bearer token is checked against the token hashes
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
import psycopg2.pool

SCIM_JSON = "application/scim+json"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
ROUTE = re.compile(r"^/scim/v2/(\d+)/Users(?:/([0-9a-fA-F-]{36}))?/?$")
FILTER = re.compile(r'^\s*(userName|externalId|emails\[type eq "work"\]\.value)\s+eq\s+"(.*)"\s*$', re.I)
COLUMNS = {"username": "user_name_key", "externalid": "external_id_lower"}
VALUE_PATH = re.compile(r"^(\w+)\[type eq \"(\w+)\"\]\.value$", re.I)
RETURNING = "RETURNING id, resource::text, created_at, updated_at, version"

_pool = None
_tokens: dict[str, int] | None = None
_lock = threading.Lock()


def _setup():
    """Connection pool and token hashes, once per process (after the fork)."""
    global _pool, _tokens
    with _lock:
        if _pool is None:
            url = os.environ["DATABASE_URL"].replace("postgresql+psycopg2://", "postgresql://")
            # psycopg2's pool closes a returned connection once it holds ``minconn``: with
            # minconn=1, every request beyond the first in flight paid a new connection.
            # 10 kept (as Herd's pool_size), up to 30 at once (as Herd's 30 per process).
            pool = psycopg2.pool.ThreadedConnectionPool(10, 30, url)
            conn = pool.getconn()
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT token_hash, company_id FROM access_tokens WHERE revoked_at IS NULL")
                    _tokens = dict(cur.fetchall())
                conn.commit()
            finally:
                pool.putconn(conn)
            _pool = pool  # published last: other requests test it without the lock


def _one(sql, params):
    """Run one statement in autocommit (one round trip: a single statement is atomic by itself)."""
    conn = _pool.getconn()
    try:
        conn.autocommit = True  # client-side once per connection: no BEGIN, no COMMIT
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        _pool.putconn(conn)


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
        column = COLUMNS.get(match.group(1).lower(), "email_lower")
        rows = _one(
            "SELECT id, resource::text, created_at, updated_at, version FROM learners "
            f"WHERE company_id = %s AND {column} = %s AND deleted_at IS NULL ORDER BY created_at, id LIMIT 100",
            (company_id, _key(match.group(2)) if column == "user_name_key" else match.group(2).lower()),
        )
        resources = [_resource(r, base) for r in rows]
        listing = {"schemas": [LIST], "totalResults": len(resources), "startIndex": 1}
        return _answer(start_response, "200 OK", listing | {"itemsPerPage": len(resources), "Resources": resources})
    if method == "GET":
        rows = _one(
            "SELECT id, resource::text, created_at, updated_at, version FROM learners "
            "WHERE id = %s AND company_id = %s AND deleted_at IS NULL",
            (learner_id, company_id),
        )
        if not rows:
            return _error(start_response, "404 Not Found", "no such user")
        return _answer(start_response, "200 OK", _resource(rows[0], base))
    if method in ("POST", "PUT"):
        doc = {k: v for k, v in body.items() if k not in ("schemas", "meta", "id")}
        cols = _columns(doc)
        now = datetime.now(UTC).replace(tzinfo=None)
        try:
            if method == "POST":
                rows = _one(
                    "INSERT INTO learners (id, company_id, resource, user_name, user_name_lower, user_name_key,"
                    " external_id_lower,"
                    " email_lower, display_name, given_name, family_name, active, training_tags, version,"
                    " created_at, updated_at) VALUES (%(id)s, %(company)s, %(doc)s, %(user_name)s,"
                    " %(user_name_lower)s, %(user_name_key)s, %(external_id_lower)s, %(email_lower)s, %(display_name)s,"
                    " %(given_name)s, %(family_name)s, %(active)s, '[]', 1, %(now)s, %(now)s) " + RETURNING,
                    cols | {"id": str(uuid.uuid4()), "company": company_id, "doc": json.dumps(doc), "now": now},
                )
            else:
                rows = _one(
                    "UPDATE learners SET resource = %(doc)s, user_name = %(user_name)s,"
                    " user_name_lower = %(user_name_lower)s, user_name_key = %(user_name_key)s,"
                    " external_id_lower = %(external_id_lower)s,"
                    " email_lower = %(email_lower)s, display_name = %(display_name)s, given_name = %(given_name)s,"
                    " family_name = %(family_name)s, active = %(active)s, version = version + 1,"
                    " updated_at = %(now)s WHERE id = %(id)s AND company_id = %(company)s AND deleted_at IS NULL "
                    + RETURNING,
                    cols | {"id": learner_id, "company": company_id, "doc": json.dumps(doc), "now": now},
                )
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
