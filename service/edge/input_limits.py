"""Every limit on what comes in, in one place, and the pure checks that enforce them.

Herd's tenant URLs and sign-in page face the internet: whatever a request
carries is hostile until checked here. Each hostile class is refused once, at
the edge, with a 400 that names the attribute and the limit (a SCIM
``invalidValue``/``invalidSyntax`` error on ``/scim``; ``service.edge.error_handlers``
renders the same error as ``{"error": ...}`` under ``/api`` and as text on the
dashboard):

- control characters (NUL first: PostgreSQL cannot store it) and lone UTF-16
  surrogates (not encodable as UTF-8), in bodies, path ids, query strings, forms;
- string lengths matching the database columns they are copied into, lower-cased
  lookup keys included (``check_lowered``);
- JSON nesting depth, number of PATCH operations and values per operation;
- paging bounds (``startIndex``, ``count``) and path ids that fit their columns
  (an integer id out of range is a 404, whatever the token);
- a User document's custom attributes, the company's custom attribute names, and
  the document's size as stored.

``service.edge.boundary`` applies the request-wide checks (path, query string,
form, JSON parsing); the resource schemas call ``check_user``/``check_group``.
``fold`` (``models.normalize.name_key``) is the comparison key of names.
Pure module: no Flask, no database.
"""

from __future__ import annotations

import json
import math
import re

import orjson

from models.normalize import name_key as fold
from service.errors import InvalidSyntax, InvalidValue, NotFound

# -- the limits ---------------------------------------------------------------------

# JSON: no SCIM resource nests deeper than ~5 levels (an extension's complex
# attribute inside a PATCH value inside Operations); 32 leaves room for any IdP.
MAX_JSON_DEPTH = 32
# PATCH: Entra sends one operation per changed attribute (a few dozen at most) and
# batches member changes; 1,000 is far above any IdP and keeps a request short.
MAX_PATCH_OPERATIONS = 1_000
# /Bulk (RFC 7644 §3.7, advertised in /ServiceProviderConfig): Microsoft's gallery bar asks for
# at least 1,000 operations; 4 MiB holds 1,000 Entra-sized creates. Only /Bulk gets the larger body.
MAX_BULK_OPERATIONS = 1_000
MAX_BULK_PAYLOAD_BYTES = 4 * 1024 * 1024
# Values of one multi-valued attribute (emails, phoneNumbers, roles...) of a User.
# (A group's members live in a table; how many one request lists is bounded by
# the 1 MiB body limit, about 20,000 ids.)
MAX_MULTI_VALUES = 100
# Custom attributes (the ones Herd does not declare, kept as sent and filterable:
# service.scim.users.mapping.custom_attribute_names). IdPs send a handful (Rippling's
# custom fields, Entra's directory extensions); the caps keep one tenant's documents, and
# the per-company list of names every filter may consult, small.
MAX_LEARNER_CUSTOM_ATTRIBUTES = 200
MAX_COMPANY_CUSTOM_ATTRIBUTES = 1_000
# One User document as stored (serialized as compact UTF-8 JSON). A real one is 1-3 KB;
# the body limit (1 MiB) alone would let a tenant store a megabyte per learner, and a
# PATCH can grow a document past any body.
MAX_USER_DOCUMENT_BYTES = 64 * 1024
# Paging: an offset past ten million is no real page; it would also overflow
# PostgreSQL's bigint when far larger.
MAX_START_INDEX = 10_000_000
# Query parameter values (filter, attributes, dashboard search, cursors...).
MAX_QUERY_VALUE = 4_096
# Integer ids in URL paths (company, token, job, assignment, rule): PostgreSQL's integer.
MAX_PATH_ID = 2**31 - 1

# String attributes copied into columns: (where in the document, limit). The
# limits are the columns' sizes (models/learner.py, models/group.py,
# models/company.py); the same text is published in /Schemas.
USER_COLUMNS = {
    "userName": 300,
    "externalId": 300,
    "displayName": 300,
    "name.givenName": 200,
    "name.familyName": 200,
    "emails.value": 300,
}
ENTERPRISE_COLUMNS = {"location": 300}
LEARNER_COLUMNS = {"location": 300, "learnerRole": 100}
EXTENSION_URN_MAX = 300
GROUP_COLUMNS = {"displayName": 300, "externalId": 300}
# The comparison key (NFC + case folding) of a userName or group displayName:
# folding may lengthen a string ("ß" -> "ss"); the key column is 900 characters
# and a btree entry must stay well under PostgreSQL's ~2,700-byte limit.
MAX_KEY_CHARS = 900
MAX_KEY_BYTES = 2_000
# Attributes also stored lower-cased, for case-insensitive lookups, in a column of the
# same size (learners.user_name_lower, external_id_lower, email_lower; groups'
# display_name_lower, external_id_lower). Lower-casing may lengthen a string
# ("İ", U+0130, becomes "i̇", two characters): a value whose lower-cased form does not
# fit is refused (400 invalidValue), never cut, since a cut key would no longer find
# its learner by that attribute.
USER_LOWERED = frozenset({"userName", "externalId", "emails.value"})
GROUP_LOWERED = frozenset({"displayName", "externalId"})

# Identifiers are compared and indexed: no control character at all, not even a
# tab or newline. Free text (a formatted address) may hold tab, CR and LF.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_CONTROL_STRICT = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


# -- text ----------------------------------------------------------------------------


def bad_character(text: str, strict: bool = False) -> str | None:
    """A description of the first control character (or lone surrogate) in ``text``, or None."""
    found = (_CONTROL_STRICT if strict else _CONTROL).search(text)
    if found is None:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        return f"a lone UTF-16 surrogate (U+{code:04X})"
    return f"a control character (U+{code:04X})"


def check_text(name: str, text: str, limit: int | None = None, strict: bool = False, error=InvalidValue) -> str:
    """Refuse control characters and, with ``limit``, more than ``limit`` characters."""
    bad = bad_character(text, strict)
    if bad is not None:
        raise error(f"'{name}' contains {bad}; remove it and send plain text.")
    if limit is not None and len(text) > limit:
        raise error(f"'{name}' is {len(text)} characters long; the limit is {limit}.")
    return text


def check_key(name: str, text: str) -> str:
    """``text`` within its column and its comparison key within the key column."""
    key = fold(text)
    if len(key) > MAX_KEY_CHARS or len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidValue(f"'{name}' is too long once case-folded for comparison; shorten it.")
    return key


def show(value) -> str:
    """A short rendering of a client's value for an error detail (control characters escaped)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- JSON ----------------------------------------------------------------------------


def _no_constant(name):
    # NaN and Infinity are not JSON (RFC 8259) and PostgreSQL's jsonb refuses them.
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text):
    # 1e400 is valid JSON, but it reads as infinity: JSON cannot write it back, and
    # PostgreSQL's jsonb refused the learner holding it (a 500, where it is the body's fault).
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text if len(text) <= 40 else text[:37] + '...'} is out of range")
    return value


def loads(text):
    """``json.loads`` of text a client sent, refusing what is not JSON's finite values
    (NaN, Infinity, and numbers too large for a double) with ValueError."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)


def load_json(raw: bytes, error=InvalidSyntax):
    """Decode a request body; refuse bad JSON, deep nesting and control characters with ``error``.

    Python's decoder recurses once per level; a body of thousands of ``[``
    would exhaust the stack (RecursionError). The depth is measured here
    without recursion right after decoding, and a RecursionError while
    decoding is the same refusal.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error("The request body is not valid JSON: it is not UTF-8 text.") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        body = loads(text)
    except RecursionError:
        raise error(f"The request body nests JSON deeper than {MAX_JSON_DEPTH} levels.") from None
    except json.JSONDecodeError as exc:
        raise error(f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.") from None
    except ValueError as exc:
        raise error(f"The request body is not valid JSON: {exc}.") from None
    check_json(body, error)
    return body


def _plain_json(value) -> bool:
    """True when ``value`` is within the depth and has no control character in a key or string:
    ``check_json``'s test without the paths its errors name (every body that passes pays only this)."""
    search = _CONTROL.search
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return False
        if isinstance(item, str):
            if search(item):
                return False
        elif isinstance(item, dict):
            for key, sub in item.items():
                if search(key):
                    return False
                stack.append((sub, depth + 1))
        elif isinstance(item, list):
            stack.extend((sub, depth + 1) for sub in item)
    return True


def check_json(value, error=InvalidSyntax) -> None:
    """Walk a decoded JSON value without recursion: depth, control characters in keys and strings."""
    if _plain_json(value):
        return
    # Walked again, with the path of each value, for the error to name where the problem is.
    stack = [(value, 1, "")]
    while stack:
        item, depth, where = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise error(f"The request body nests JSON deeper than {MAX_JSON_DEPTH} levels (at '{where}').")
        if isinstance(item, str):
            check_text(where or "body", item, error=InvalidValue)
        elif isinstance(item, dict):
            for key, sub in item.items():
                path = f"{where}.{key}" if where else key
                bad = bad_character(key)
                if bad is not None:
                    raise InvalidValue(f"An attribute name in the body contains {bad}; remove it.")
                stack.append((sub, depth + 1, path))
        elif isinstance(item, list):
            stack.extend((sub, depth + 1, f"{where}[{i}]") for i, sub in enumerate(item))


# -- requests --------------------------------------------------------------------------


def check_operations_count(operations: list) -> list:
    """At most MAX_PATCH_OPERATIONS operations in one PATCH."""
    if len(operations) > MAX_PATCH_OPERATIONS:
        raise InvalidValue(
            f"The PATCH has {len(operations)} operations; the limit is {MAX_PATCH_OPERATIONS} per request. "
            "Split the change into several PATCH requests."
        )
    return operations


def check_start_index(value: int) -> int:
    """A 1-based ``startIndex`` no larger than MAX_START_INDEX."""
    if value > MAX_START_INDEX:
        raise InvalidValue(f"Query parameter startIndex is {value}; the limit is {MAX_START_INDEX:,}.")
    return value


def check_query(name: str, value: str) -> None:
    """One query parameter (name and value): no control characters, at most MAX_QUERY_VALUE characters."""
    check_text("query parameter name", name, MAX_QUERY_VALUE)
    check_text(f"query parameter {name[:40]}", value, MAX_QUERY_VALUE)


def check_path_value(name: str, value) -> None:
    """A value taken from the URL path (an id): a string without control characters, a
    number within ``MAX_PATH_ID``.

    A number out of range names no row (every integer id is a PostgreSQL ``integer``
    from 1), so it is a 404 here, for every caller whatever its token: the database
    never sees it (PostgreSQL refuses it as "integer out of range", SQLite's driver past
    64 bits). Strings too long are left to the views: no row has them, so they are a
    404 too (the database compares them safely).
    """
    if isinstance(value, str):
        check_text(name, value, strict=True)
    elif isinstance(value, int) and not 1 <= value <= MAX_PATH_ID:
        raise NotFound(f"No such resource: the id in the URL ('{name}') must be between 1 and {MAX_PATH_ID}.")


# -- resources ---------------------------------------------------------------------------


def _values_at(doc: dict, dotted: str):
    """The strings at ``attr`` or ``attr.sub`` of a document (every element of a list)."""
    head, _, sub = dotted.partition(".")
    value = doc.get(head)
    items = value if isinstance(value, list) else [value]
    for item in items:
        found = item.get(sub) if sub and isinstance(item, dict) else (None if sub else item)
        if isinstance(found, str):
            yield found


def _check_columns(doc: dict, columns: dict, prefix: str = "", lowered: frozenset = frozenset()) -> None:
    for dotted, limit in columns.items():
        for text in _values_at(doc, dotted):
            check_text(prefix + dotted, text, limit, strict=dotted in _STRICT)
            if dotted in lowered:
                check_lowered(prefix + dotted, text, limit)


def check_lowered(name: str, text: str, limit: int) -> str:
    """Refuse ``text`` when its lower-cased form (the lookup key stored next to it) exceeds ``limit``."""
    length = len(text.lower())
    if length > limit:
        raise InvalidValue(
            f"'{name}' is {length} characters long once lower-cased for lookups "
            f"(some letters, such as U+0130, lower-case to two); the limit is {limit}."
        )
    return text


_STRICT = frozenset({"userName", "externalId", "emails.value", "displayName"})


def check_user(doc: dict, enterprise_urn: str, learner_urn: str | None) -> None:
    """A cleaned User document: every value copied to a column within that column.

    Multi-valued attributes hold at most MAX_MULTI_VALUES values.
    """
    _check_columns(doc, USER_COLUMNS, lowered=USER_LOWERED)
    check_key("userName", doc["userName"])
    for key, value in doc.items():
        if isinstance(value, list) and len(value) > MAX_MULTI_VALUES:
            raise InvalidValue(f"'{key}' has {len(value)} values; the limit is {MAX_MULTI_VALUES}.")
    if isinstance(doc.get(enterprise_urn), dict):
        _check_columns(doc[enterprise_urn], ENTERPRISE_COLUMNS, f"{enterprise_urn}:")
    if learner_urn is not None:
        check_text("the learner extension's schema URN", learner_urn, EXTENSION_URN_MAX, strict=True)
        if isinstance(doc.get(learner_urn), dict):
            _check_columns(doc[learner_urn], LEARNER_COLUMNS, f"{learner_urn}:")


def document_bytes(doc: dict) -> int:
    """The size of ``doc`` as compact UTF-8 JSON (what ``MAX_USER_DOCUMENT_BYTES`` counts)."""
    try:
        return len(orjson.dumps(doc))
    except TypeError:  # an integer beyond 64 bits, which orjson refuses
        return len(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))


def check_user_document(doc: dict, custom_attributes: int) -> None:
    """A whole User document (as it would be stored, after a PATCH too) within the
    per-learner limits: ``custom_attributes`` (how many it holds) and its size."""
    if custom_attributes > MAX_LEARNER_CUSTOM_ATTRIBUTES:
        raise InvalidValue(
            f"The User has {custom_attributes} custom attributes (attributes Herd does not declare); "
            f"the limit is {MAX_LEARNER_CUSTOM_ATTRIBUTES} per user. Map fewer attributes in the identity provider."
        )
    size = document_bytes(doc)
    if size > MAX_USER_DOCUMENT_BYTES:
        raise InvalidValue(
            f"The User is {size} bytes as JSON; the limit is {MAX_USER_DOCUMENT_BYTES} bytes per user document."
        )


def check_company_custom_attributes(known: int, new: int) -> None:
    """``new`` custom attribute names added to a company that has ``known``: within
    ``MAX_COMPANY_CUSTOM_ATTRIBUTES``."""
    if known + new > MAX_COMPANY_CUSTOM_ATTRIBUTES:
        raise InvalidValue(
            f"This User would add {new} custom attribute names to the {known} this company's identity provider "
            f"has sent; the limit is {MAX_COMPANY_CUSTOM_ATTRIBUTES} distinct custom attribute names per company. "
            "Map fewer attributes in the identity provider."
        )


def limits_text() -> str:
    """The document limits, in one sentence for /Schemas."""
    return (
        f"Limits: at most {MAX_LEARNER_CUSTOM_ATTRIBUTES} custom attributes (attributes not declared here) per "
        f"user, {MAX_COMPANY_CUSTOM_ATTRIBUTES} distinct custom attribute names per company, and "
        f"{MAX_USER_DOCUMENT_BYTES} bytes per user document as JSON; over a limit a write is refused "
        "with 400 invalidValue."
    )


def check_group(attrs: dict) -> None:
    """A cleaned Group's displayName and externalId within their columns."""
    _check_columns(attrs, GROUP_COLUMNS, lowered=GROUP_LOWERED)
    check_key("displayName", attrs["displayName"])


# -- publishing ------------------------------------------------------------------------------


def annotate_schema(doc: dict, columns: dict) -> dict:
    """Add "At most N characters." to the description of each limited attribute of a /Schemas document."""
    for attr in doc.get("attributes", []):
        _annotate(attr, attr["name"], columns)
        for sub in attr.get("subAttributes", []):
            _annotate(sub, f"{attr['name']}.{sub['name']}", columns)
    return doc


def _annotate(attr: dict, dotted: str, columns: dict) -> None:
    limit = columns.get(dotted)
    if limit is not None:
        text = attr.get("description", "").rstrip()
        attr["description"] = f"{text}{'' if text.endswith('.') else '.'} At most {limit} characters."
