"""Filter AST -> SQLAlchemy clause, through an attribute whitelist (the resolver).

Filters run in SQL, never by loading rows (architecture.md). Attributes the
resolver maps to columns use those columns (and their indexes); any other
attribute is read from the stored SCIM document with the database's own JSON
functions: ``json_extract``/``json_type``/``json_each`` on SQLite,
``jsonb_extract_path``/``jsonb_typeof``/``jsonb_array_elements`` on PostgreSQL.

The resolver, provided by the caller, answers:

- ``dialect_name``: ``"sqlite"`` or ``"postgresql"``;
- ``document``: the JSON column holding the resource as received;
- ``column(path) -> (column, kind) | None`` with kind one of
  ``"lower_string"`` (stored lower-cased), ``"key_string"`` (stored as
  ``models.normalize.name_key``: NFC and case folded), ``"ci_string"`` (compare lower-cased),
  ``"string"`` (case-exact), ``"bool"``, ``"datetime"``;
- ``multi_valued(path) -> bool`` (emails, phoneNumbers, members, ...);
- ``json_key(path) -> list[str]``: the key chain in the stored document;
- optionally ``own_clause(expr) -> clause | None``: the resolver's own clause
  for a comparison or value path on an attribute kept outside the document
  (a group's ``members`` live in a table of their own), None to go on as usual.

Semantics (RFC 7644 §3.4.2.2): strings compare case-insensitively (caseExact
false, RFC 7643 §2.2) unless the resolver says ``"string"``; ``ne`` and
``not`` are true when the attribute is missing or null; ``pr`` needs a
non-empty value; ``co``/``sw``/``ew`` are LIKE with ``%``/``_`` escaped; a
multi-valued attribute matches when one of its elements does (EXISTS over the
JSON array), and a value path's conditions must hold on that same element.
JSON values compare only with filter values of the same JSON type, like
``filters.matches``.

Known approximations: SQLite's ``lower()`` folds ASCII only; ``co``/``sw``/
``ew`` on the JSON document fold case the same way ``lower()`` does.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from itertools import count

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from models.normalize import name_key
from service.scim.errors import InvalidFilter
from service.scim.filters import And, Compare, Not, Or, ValuePath, operands
from service.scim.paths import AttrPath

_LIKE_ESCAPE = "\\"
_STRING_KINDS = ("lower_string", "key_string", "ci_string", "string")


def to_clause(expr, resolver) -> sa.ColumnElement[bool]:
    """Translate a parsed filter (``filters.parse_filter``) into a boolean SQL clause.

    Raises InvalidFilter when an attribute cannot be compared the way the
    filter asks (``active gt "x"``, ``meta.created co "2024"``...).
    """
    return _Compiler(resolver).clause(expr, None)


def like_pattern(value: str, op: str) -> str:
    """The LIKE pattern for ``co``/``sw``/``ew``, with ``\\``, ``%`` and ``_`` escaped."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]


def _null_safe_not(clause):
    # SQL's NOT NULL is NULL (no match), but in SCIM "not (title eq "x")" must
    # match a user without a title: treat unknown as false before negating.
    return sa.not_(sa.func.coalesce(clause, sa.false()))


def _string_op(left, op: str, value: str):
    """``left op value`` for one string operator; ``left`` and ``value`` already folded."""
    if op == "eq":
        return left == value
    if op in ("co", "sw", "ew"):
        return left.like(like_pattern(value, op), escape=_LIKE_ESCAPE)
    return {"gt": left > value, "ge": left >= value, "lt": left < value, "le": left <= value}[op]


def _order_op(left, op: str, value):
    return {"eq": left == value, "gt": left > value, "ge": left >= value, "lt": left < value, "le": left <= value}[op]


class _Compiler:
    """One translation: keeps the resolver and names the EXISTS aliases uniquely."""

    def __init__(self, resolver):
        self.resolver = resolver
        self.dialect = resolver.dialect_name
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported dialect {self.dialect!r}")
        document = resolver.document
        # jsonb functions need jsonb; casting a jsonb column to jsonb is a no-op.
        self.document = sa.cast(document, JSONB) if self.dialect == "postgresql" else document
        self.aliases = count(1)

    # -- tree walk -------------------------------------------------------------

    def clause(self, expr, element):
        """Compile ``expr``; ``element`` is the value-path context (None at top level)."""
        own = getattr(self.resolver, "own_clause", None)
        if own is not None and element is None and isinstance(expr, (Compare, ValuePath)):
            found = own(expr)
            if found is not None:
                return found
        if isinstance(expr, And):
            return sa.and_(*(self.clause(node, element) for node in operands(expr, And)))
        if isinstance(expr, Or):
            return sa.or_(*(self.clause(node, element) for node in operands(expr, Or)))
        if isinstance(expr, Not):
            return _null_safe_not(self.clause(expr.expr, element))
        if isinstance(expr, ValuePath):
            return self.value_path(expr)
        if isinstance(expr, Compare):
            if element is not None:
                return self.json_compare(element(expr.path.attr), expr)
            return self.compare(expr)
        raise TypeError(f"not a filter node: {expr!r}")

    def compare(self, expr: Compare):
        mapped = self.resolver.column(expr.path)
        if mapped is not None:
            column, kind = mapped
            return _column_compare(column, kind, expr)
        if self.resolver.multi_valued(expr.path):
            return self.multi_valued_compare(expr)
        return self.json_compare(self.doc_ref(self.keys(expr.path)), expr)

    def value_path(self, expr: ValuePath):
        """``emails[type eq "work" and value co "@x"]``: one element satisfies the whole filter."""
        path = expr.path

        def sub_keys(name):
            # Inner paths are relative ("type"); the resolver knows the stored spelling.
            return self.keys(AttrPath(path.urn, path.attr, name))

        if self.resolver.multi_valued(path):

            def on_element(ref):
                return self.clause(expr.filter, lambda name: ref(sub_keys(name)[-1]))

            return self.exists(self.keys(path), on_element)
        # A single complex attribute (name[givenName eq "Jo"]): its own sub-attributes.
        return self.clause(expr.filter, lambda name: self.doc_ref(sub_keys(name)))

    def multi_valued_compare(self, expr: Compare):
        """``emails.value eq "x"`` (or ``emails co "x"``, meaning ``.value``): any element."""
        path = expr.path
        array_keys = self.keys(path.parent)
        sub = self.keys(path)[-1] if path.sub is not None else "value"
        if path.sub is None and (expr.op == "pr" or expr.value is None):
            present = self.doc_ref(array_keys).present()  # a non-empty array
        else:
            present = self.exists(array_keys, lambda ref: ref(sub).present())
        if expr.op == "pr" or (expr.op == "ne" and expr.value is None):
            return present
        if expr.value is None:  # eq null
            return _null_safe_not(present)
        if expr.op == "ne":  # no element equals the value (true when there is none)
            equal = Compare(path, "eq", expr.value)
            return _null_safe_not(self.exists(array_keys, lambda ref: self.json_compare(ref(sub), equal)))
        return self.exists(array_keys, lambda ref: self.json_compare(ref(sub), expr))

    def keys(self, path: AttrPath) -> list[str]:
        keys = list(self.resolver.json_key(path))
        for key in keys:
            # Keys become JSON paths; parse_attr_path already refuses quotes, this guards resolvers.
            if not isinstance(key, str) or '"' in key or not key:
                raise InvalidFilter(f"Unsupported filter: attribute '{path}' cannot be filtered")
        return keys

    # -- JSON access, per dialect ---------------------------------------------------

    def doc_ref(self, keys: list[str]) -> _Ref:
        """The value at ``keys`` in the stored document."""
        if self.dialect == "sqlite":
            json_path = "$" + "".join(f'."{key}"' for key in keys)
            return _SqliteRef(
                sa.func.json_extract(self.document, json_path), sa.func.json_type(self.document, json_path)
            )
        return _PgRef(sa.func.jsonb_extract_path(self.document, *keys, type_=JSONB))

    def exists(self, array_keys: list[str], element_clause):
        """EXISTS over the elements of the JSON array at ``array_keys``.

        ``element_clause(ref)`` builds the condition on one element, where
        ``ref(key)`` is that element's value at ``key``.
        """
        name = f"scim_elem_{next(self.aliases)}"
        if self.dialect == "sqlite":
            json_path = "$" + "".join(f'."{key}"' for key in array_keys)
            elements = sa.func.json_each(self.document, json_path).table_valued("value", "type", name=name)
            value, jtype = elements.c.value, elements.c.type

            def ref(key):
                # json_extract() on a scalar element raises "malformed JSON": only
                # read objects; a simple multi-valued item (["a","b"]) is its own "value".
                is_object = jtype == "object"
                scalar = key == "value"
                return _SqliteRef(
                    sa.case((is_object, sa.func.json_extract(value, f'$."{key}"')), else_=value if scalar else None),
                    sa.case((is_object, sa.func.json_type(value, f'$."{key}"')), else_=jtype if scalar else None),
                )

            # json_each() on an object walks its members: only arrays hold elements.
            guard = sa.func.json_type(self.document, json_path) == "array"
        else:
            array = sa.func.jsonb_extract_path(self.document, *array_keys, type_=JSONB)
            # jsonb_array_elements() raises on a non-array: iterate nothing instead.
            safe = sa.case((sa.func.jsonb_typeof(array) == "array", array), else_=sa.literal_column("'[]'::jsonb"))
            elements = sa.func.jsonb_array_elements(safe).table_valued("value", name=name)
            value = sa.type_coerce(elements.c.value, JSONB)

            def ref(key):
                inner = sa.func.jsonb_extract_path(value, key, type_=JSONB)
                if key == "value":
                    inner = sa.case((sa.func.jsonb_typeof(value) == "object", inner), else_=value)
                return _PgRef(inner)

            guard = None
        found = sa.select(sa.literal(1)).select_from(elements).where(element_clause(ref)).exists()
        return found if guard is None else sa.and_(guard, found)

    # -- comparisons on JSON values ---------------------------------------------------

    def json_compare(self, ref: _Ref, expr: Compare):
        op, value = expr.op, expr.value
        if op == "pr":
            return ref.present()
        if value is None:
            return ref.present() if op == "ne" else _null_safe_not(ref.present())
        if op == "ne":
            return _null_safe_not(self.json_compare(ref, Compare(expr.path, "eq", value)))
        if isinstance(value, bool):
            return ref.is_bool(value)
        if isinstance(value, (int, float)):
            return ref.number_op(op, _number_value(expr))
        return ref.string_op(op, value)


class _Ref:
    """A JSON value read in SQL; subclasses know their dialect's functions."""

    def present(self):
        """RFC 7644 §3.4.2.2 ``pr``: not missing, not null, not "", [] or {}."""
        raise NotImplementedError

    def is_bool(self, value: bool):
        raise NotImplementedError

    def number_op(self, op: str, value):
        raise NotImplementedError

    def string_op(self, op: str, value: str):
        raise NotImplementedError


class _SqliteRef(_Ref):
    """``value`` as json_extract() returns it, and ``jtype`` as json_type() names it."""

    def __init__(self, value, jtype):
        self.value, self.jtype = value, jtype

    def present(self):
        empty = sa.or_(
            sa.and_(self.jtype == "text", self.value == ""),
            sa.and_(self.jtype == "array", self.value == "[]"),
            sa.and_(self.jtype == "object", self.value == "{}"),
        )
        return sa.and_(self.jtype != "null", sa.not_(empty))

    def is_bool(self, value):
        return self.jtype == ("true" if value else "false")

    def number_op(self, op, value):
        return sa.and_(self.jtype.in_(["integer", "real"]), _order_op(self.value, op, value))

    def string_op(self, op, value):
        return sa.and_(self.jtype == "text", _string_op(sa.func.lower(self.value), op, value.lower()))


class _PgRef(_Ref):
    """A ``jsonb`` expression; its text form via ``#>> '{}'``, its type via jsonb_typeof()."""

    def __init__(self, value):
        self.value = value
        self.jtype = sa.func.jsonb_typeof(value)
        self.text = value.op("#>>", return_type=sa.Text)(sa.literal_column("'{}'"))

    def present(self):
        empties = [sa.literal_column(f"'{empty}'::jsonb") for empty in ('""', "[]", "{}")]
        return sa.and_(self.jtype != "null", self.value.not_in(empties))

    def is_bool(self, value):
        return sa.and_(self.jtype == "boolean", self.text == ("true" if value else "false"))

    def number_op(self, op, value):
        # PostgreSQL may evaluate AND operands in any order: CASE keeps the cast
        # from ever seeing a non-number.
        number = sa.case((self.jtype == "number", sa.cast(self.text, sa.Numeric)), else_=None)
        return _order_op(number, op, value)

    def string_op(self, op, value):
        return sa.and_(self.jtype == "string", _string_op(sa.func.lower(self.text), op, value.lower()))


# -- comparisons on mapped columns ---------------------------------------------------


def _column_compare(column, kind: str, expr: Compare):
    op, value = expr.op, expr.value
    if op == "pr" or (op == "ne" and value is None):
        present = column.is_not(None)
        return sa.and_(present, column != "") if kind in _STRING_KINDS else present
    if value is None:  # eq null: unassigned
        return sa.or_(column.is_(None), column == "") if kind in _STRING_KINDS else column.is_(None)
    if kind in _STRING_KINDS:
        left, folded = _string_operands(column, kind, expr)
        if op == "ne":
            return sa.or_(column.is_(None), left != folded)
        return _string_op(left, op, folded)
    if kind == "bool":
        flag = _bool_value(expr)
        if op == "eq":
            return column == flag
        return sa.or_(column.is_(None), column != flag)
    if kind == "datetime":
        moment = _datetime_value(column, expr)
        if op == "ne":
            return sa.or_(column.is_(None), column != moment)
        return _order_op(column, op, moment)
    raise ValueError(f"unknown column kind {kind!r} for {expr.path}")


def _string_operands(column, kind: str, expr: Compare):
    value = expr.value
    if isinstance(value, bool):
        raise InvalidFilter(f"Unsupported filter: '{expr.path}' is a string; compare it with a value in double quotes")
    if isinstance(value, (int, float)):
        value = str(value)  # externalId eq 1234: the IdP meant the string
    if kind == "lower_string":
        return column, value.lower()
    if kind == "key_string":
        return column, name_key(value)
    if kind == "ci_string":
        return sa.func.lower(column), value.lower()
    return column, value


def _number_value(expr: Compare):
    """A number the database can compare: within 64 bits and finite (SQLite's INTEGER, JSON numbers)."""
    value = expr.value
    if (isinstance(value, int) and not -(2**63) <= value < 2**63) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise InvalidFilter(f"Unsupported filter: the number compared with '{expr.path}' is out of range")
    return value


def _bool_value(expr: Compare) -> bool:
    value = expr.value
    if expr.op not in ("eq", "ne"):
        raise InvalidFilter(
            f"Unsupported filter: '{expr.path}' is true or false; only eq, ne and pr apply, not '{expr.op}'"
        )
    # PATCH from Entra writes booleans as "True"/"False"; accept the same here.
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise InvalidFilter(f"Unsupported filter: '{expr.path}' is true or false, not {value!r}")
    return value


def _datetime_value(column, expr: Compare) -> datetime:
    if expr.op in ("co", "sw", "ew"):
        raise InvalidFilter(
            f"Unsupported filter: '{expr.path}' is a date-time; use eq, ne, gt, ge, lt, le or pr, not '{expr.op}'"
        )
    moment = None
    if isinstance(expr.value, str):
        try:
            moment = datetime.fromisoformat(expr.value.strip())
        except ValueError:
            moment = None
    if moment is None:
        raise InvalidFilter(
            f"Unsupported filter: '{expr.path}' takes a date-time in double quotes, "
            f'e.g. "2024-01-31T12:00:00Z", not {expr.value!r}'
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # SCIM times are UTC (RFC 7643 §2.3.5)
    if not getattr(column.type, "timezone", False):
        # A naive DateTime column stores UTC: compare like with like.
        try:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            # "9999-12-31T23:59:59-01:00" is past year 9999 once in UTC.
            raise InvalidFilter(
                f"Unsupported filter: '{expr.path}' is out of range; use a date-time between years 1 and 9999 in UTC"
            ) from None
    return moment
