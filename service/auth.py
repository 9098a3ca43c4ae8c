"""Bearer tokens -> company. Tokens are looked up by hash and compared in constant time.

A token accepted here is kept by the process (``service.auth_cache``) with its company's
``auth_version``; the token's next request reads that version instead of the token and
its company, in the same one statement as the rows the request is about. Any other
version (a token revoked, re-dated or deleted, the company changed: the database's
triggers raise it in the same transaction) sends the request to the full check.
"""

from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from hmac import compare_digest

from flask import current_app, g, request
from sqlalchemy import and_, bindparam, select, update

from models import AccessToken, Company, hash_token, utcnow
from models.prebuilt import Prebuilt
from service import db
from service.auth_cache import AcceptedTokens
from service.db.retry import first_read, first_statement
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


# Built once: the statement's SQL and its cache key are computed on first use, not per request.
# The caller's token, company and rows come back as records: each table's columns as a
# namedtuple with the ORM attributes' names. No ORM object is made for them: the session,
# its identity map and the ORM's loading cost a request more CPU than the statement itself.
_TOKEN_COLUMNS = tuple(
    getattr(AccessToken.__table__.c, name)
    for name in (
        "id",
        "name",
        "company_id",
        "token_hash",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "oauth_client_id",
    )
)
_TokenRecord = namedtuple("TokenRecord", [c.key for c in _TOKEN_COLUMNS])
# The company's columns a request reads with its token: all but the names of the custom
# attributes its IdP has sent, a list that grows with every new name and that only a
# filter on such an attribute or a write introducing one needs (they read it then:
# ``service.scim.users.custom_names``). Every request pays for what authentication reads.
_COMPANY_COLUMNS = tuple(c for c in Company.__table__.columns if c.key != "custom_attributes")
CompanyRecord = namedtuple("CompanyRecord", [c.key for c in _COMPANY_COLUMNS])
_RECORDS = {}


def record_type(model, columns=None):
    """The namedtuple a request gets for a ``model`` row: its columns (or only ``columns``,
    names in table order), by attribute name."""
    key = (model, columns)
    if key not in _RECORDS:
        names = [c.key for c in _selected(model, columns)]
        _RECORDS[key] = namedtuple(f"{model.__name__}Record", names)
    return _RECORDS[key]


def _selected(model, columns):
    """``model``'s table columns, or those named in ``columns``, in table order."""
    table_columns = model.__table__.columns
    return list(table_columns) if columns is None else [c for c in table_columns if c.key in columns]


_TOKEN_AND_COMPANY = (
    select(*_TOKEN_COLUMNS, *_COMPANY_COLUMNS)
    .join_from(AccessToken.__table__, Company.__table__, Company.__table__.c.id == AccessToken.__table__.c.company_id)
    .where(AccessToken.__table__.c.token_hash == bindparam("token_hash"))
)
_WITH_COMPANY = Prebuilt(_TOKEN_AND_COMPANY)
# A kept token's check: its company's version only (by primary key), no token row.
_COMPANIES = Company.__table__
_VERSION_COLUMNS = (_COMPANIES.c.auth_version,)
_VERSION = Prebuilt(select(*_VERSION_COLUMNS).where(_COMPANIES.c.id == bindparam("company_id")))
# Where this app keeps the tokens it accepted (``init_app``).
CACHE = "herd.accepted_tokens"


def init_app(app, settings):
    """Give ``app`` its own cache of accepted tokens (each app, each process: its own),
    unless ``AUTH_CACHE=off``."""
    if settings.auth_cache:
        app.extensions[CACHE] = AcceptedTokens()


@dataclass(frozen=True)
class RowLookup:
    """Rows a request is about, read in authentication's statement: the token's company's
    ``model`` rows whose ``column`` equals ``value`` (a primary key, a unique name key).

    They cost no round trip of their own, and only the token's own company's rows are
    ever read. The request finds them with ``Caller.rows_for``.
    """

    model: type
    column: str
    value: str
    live_only: bool = False  # only rows not DELETEd (``deleted_at IS NULL``)
    # ``confirm(row)``: the rows kept (the column narrows, this decides), or None for all.
    confirm: Callable | None = None
    # The columns read (names), or None for all: a read-only request reads what its answer
    # shows, where every column name costs the driver a decode and every JSON column a parse.
    # Not part of equality: a request finds its rows whichever columns it asked for.
    columns: tuple | None = field(default=None, compare=False)


_WITH_ROWS = {}
_VERSION_WITH_ROWS = {}


def _row_condition(table, column, live_only, company_id):
    condition = and_(
        table.c[column] == bindparam("row_value"), table.c.company_id == bindparam("company_id"), company_id
    )
    return and_(condition, table.c.deleted_at.is_(None)) if live_only else condition


def _with_rows(model, column, live_only, columns):
    """``_TOKEN_AND_COMPANY`` outer-joined with the company's ``model`` rows where
    ``column = :row_value`` (their ``columns``, see ``RowLookup``)."""
    key = (model, column, live_only, columns)
    if key not in _WITH_ROWS:
        table = model.__table__
        # The tenant URL's company id, bound as a value, lets the (company_id, column) index
        # find the row directly; the token's own company (the join) still bounds what is read.
        condition = _row_condition(table, column, live_only, table.c.company_id == AccessToken.company_id)
        _WITH_ROWS[key] = Prebuilt(
            _TOKEN_AND_COMPANY.add_columns(*_selected(model, columns)).outerjoin(table, condition)
        )
    return _WITH_ROWS[key]


def _version_with_rows(model, column, live_only, columns):
    """A kept token's check with the rows: its company's version, outer-joined with the
    company's ``model`` rows where ``column = :row_value`` (only that company's)."""
    key = (model, column, live_only, columns)
    if key not in _VERSION_WITH_ROWS:
        table = model.__table__
        condition = _row_condition(table, column, live_only, table.c.company_id == _COMPANIES.c.id)
        statement = (
            select(*_VERSION_COLUMNS, *_selected(model, columns))
            .select_from(_COMPANIES.outerjoin(table, condition))
            .where(_COMPANIES.c.id == bindparam("company_id"))
        )
        _VERSION_WITH_ROWS[key] = Prebuilt(statement)
    return _VERSION_WITH_ROWS[key]


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's company and the token (its id and name, never the secret).

    ``company``: a record of the company's columns (``CompanyRecord``: all but its custom
    attribute names); a write that changes the company row does so in SQL. ``lookup`` and
    ``rows``: the rows read with the token (see ``RowLookup``), as records.
    """

    company: tuple
    token_id: int
    token_name: str
    lookup: RowLookup | None = None
    rows: tuple = ()

    def rows_for(self, lookup):
        """The rows read with the token for exactly this ``RowLookup``, or None if it was not made."""
        return self.rows if lookup is not None and self.lookup == lookup else None


def bearer_secret():
    """The token of the current request, or None.

    ``Authorization: Bearer <token>`` and a bare ``Authorization: <token>`` both
    count: Okta's app wizard lets the admin paste either form. A value with another
    scheme (``Basic ...``) carries no token; a bare value that is not a token
    (``non-token``) is looked up like any other and fails as an unknown token.
    """
    # The environ's value is what request.headers would return, without its key lookup.
    header = request.environ.get("HTTP_AUTHORIZATION", "").strip()
    scheme, _, secret = header.partition(" ")
    if not secret:
        return scheme or None
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def presented_token():
    """``(secret, its hash)`` of the current request's bearer token, or ``(None, None)``.

    Worked out once per request: the rate limiter (before authentication) and
    authentication both need the hash, and the header's parsing and the SHA-256 are the
    same for both."""
    found = g.get("_presented_token")
    if found is None:
        secret = bearer_secret()
        found = g._presented_token = (secret, hash_token(secret) if secret is not None else None)
    return found


# ``authenticate``'s company_id for a surface whose URLs name no company (/api/v1): the
# token's own company, whichever it is.
TOKENS_OWN_COMPANY = object()


def authenticate(company_id, lookup=None):
    """Return the Caller for ``company_id`` or raise Unauthorized (same answer for every cause).

    ``company_id``: the tenant URL's company, or ``TOKENS_OWN_COMPANY`` where the token
    alone names it. ``lookup``: a ``RowLookup`` of the rows the request is about, read in
    the same statement (SCIM only: it needs the tenant URL's company).
    """
    secret, token_hash = presented_token()
    if secret is None:
        raise Unauthorized(DETAIL_MISSING, headers={"WWW-Authenticate": 'Bearer realm="herd"'})
    cache = current_app.extensions.get(CACHE)
    kept = cache.get(token_hash) if cache is not None else None
    found = None
    if kept is not None and (company_id is TOKENS_OWN_COMPANY or kept.token.company_id == company_id):
        found = _read_kept(kept, lookup)
    full = found is None
    if full:
        found = _read_records(token_hash, company_id, lookup)
    token, company, rows = found
    if lookup is not None and lookup.confirm is not None:
        rows = tuple(row for row in rows if lookup.confirm(row))
    now = utcnow()
    # The row has the token's columns, so the model's own checks apply to it unchanged.
    if (
        token is None
        # The stored hash against the presented token's, in constant time (the index found
        # the row by equality; this comparison does not say how much of it matched).
        or not compare_digest(token.token_hash, token_hash)
        or not AccessToken.usable(token, now)
        or (company_id is not TOKENS_OWN_COMPANY and token.company_id != company_id)
        # "OAuth only": a static token (one not issued by /oauth/token) no longer opens the company.
        or (company.oauth_only and token.oauth_client_id is None)
    ):
        if kept is not None:
            cache.forget(token_hash)
        raise Unauthorized(DETAIL_INVALID, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if cache is not None and full:
        cache.keep(token_hash, token, company)
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        _touch(token.id, now)
        if cache is not None:
            cache.touched(token_hash, token._replace(last_used_at=now))
    caller = Caller(company=company, token_id=token.id, token_name=token.name, lookup=lookup, rows=rows)
    g.caller = caller
    return caller


def _read_records(token_hash, company_id, lookup):
    """``(token, company, rows)`` read in full: the token by its hash, its company, the rows.
    One round trip: the token and its company together (the join is on the token's own
    company, so another company's id in the URL finds the token but fails the check)."""
    params = {"token_hash": token_hash}
    statement = _WITH_COMPANY
    if lookup is not None:
        statement = _with_rows(lookup.model, lookup.column, lookup.live_only, lookup.columns)
        params.update(row_value=lookup.value, company_id=company_id)
    found = _read(statement, params)
    if not found:
        return None, None, ()
    n_token, n_company = len(_TOKEN_COLUMNS), len(_COMPANY_COLUMNS)
    first = found[0]
    token = _TokenRecord._make(first[:n_token])
    company = CompanyRecord._make(first[n_token : n_token + n_company])
    return token, company, _rows_of(found, n_token + n_company, lookup)


def _read_kept(kept, lookup):
    """``(token, company, rows)`` of a kept token when its company's version is still the one
    it was kept with (read in the request's one statement, with the rows); else None.

    Equal versions mean no revocation, expiry change or deletion of the company's tokens
    and no change of the company row committed since the token was read in full: the kept
    records are what a full read would return now."""
    params = {"company_id": kept.token.company_id}
    statement = _VERSION
    if lookup is not None:
        statement = _version_with_rows(lookup.model, lookup.column, lookup.live_only, lookup.columns)
        params["row_value"] = lookup.value
    found = _read(statement, params)
    if not found or found[0][0] != kept.company.auth_version:
        return None
    return kept.token, kept.company, _rows_of(found, len(_VERSION_COLUMNS), lookup)


def _rows_of(found, start, lookup):
    """The looked-up rows of ``found`` (their columns from ``start`` on), as records."""
    if lookup is None:
        return ()
    make = record_type(lookup.model, lookup.columns)._make
    # An outer join that found no row gives every column NULL, its primary key included.
    key = start + _primary_key_position(lookup.model, lookup.columns)
    return tuple(make(r[start:]) for r in found if r[key] is not None)


@cache
def _primary_key_position(model, columns):
    """The position of ``model``'s primary key among its selected columns."""
    return [c.primary_key for c in _selected(model, columns)].index(True)


def _read(statement, params):
    """Every row of ``statement``, read on an autocommit connection of its own (PostgreSQL;
    a read-only request's, ``db.read_only``, on SQLite too); on SQLite a write reads them as
    the first statement of its transaction.

    A write needs no transaction around them: what it writes is guarded by the version it
    read (``service.scim.writes.Stale``), and a token revoked before this read is refused
    (inside a READ COMMITTED transaction, a revocation committed after it was not seen either)."""
    engine = db.read_engine() if db.is_read_only() else db.autocommit_engine()
    if engine is not None:
        return first_read(engine, statement, params)
    return first_statement(db.session(), statement, params)


def _touch(token_id, now):
    """Record ``last_used_at``, committed at once, on the request's session.

    Authentication comes before anything the request writes, so this commits nothing
    else. The request's own session, not one of its own: a request must never hold one
    pooled connection while it waits for another, or a burst of requests empties the pool
    and each then waits for the others until the pool's timeout.
    """
    session = db.session()
    session.execute(update(AccessToken).where(AccessToken.id == token_id).values(last_used_at=now))
    session.commit()
