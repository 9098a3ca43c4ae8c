"""Evaluating a parsed SCIM filter against one element in Python (RFC 7644 §3.4.2.2).

PATCH value paths use this (``emails[type eq "work"]`` inside one resource),
and so does Entra's work-email lookup, on the few rows its indexed column found
(``service.scim.users.store.filter_lookup``); list filters otherwise run in SQL
(``service.scim.filter_sql``). Pure.
"""

from __future__ import annotations

from datetime import UTC, datetime

from service.scim.filters import And, Compare, Expr, Not, Or, ValuePath, operands
from service.scim.paths import AttrPath, get_ci


def matches(expr: Expr, element: dict) -> bool:
    """True when ``element`` (a dict) satisfies ``expr``.

    Attribute names compare case-insensitively; strings compare
    case-insensitively for every operator (caseExact false, RFC 7643 §2.2).
    A multi-valued attribute matches when any of its values does; ``ne`` and
    ``eq null`` are true when the attribute is missing; ``pr`` needs a
    non-empty value (RFC 7644 §3.4.2.2).
    """
    if isinstance(expr, And):
        return all(matches(node, element) for node in operands(expr, And))
    if isinstance(expr, Or):
        return any(matches(node, element) for node in operands(expr, Or))
    if isinstance(expr, Not):
        return not matches(expr.expr, element)
    if isinstance(expr, ValuePath):
        items = _values(get_ci(_scope(element, expr.path), expr.path.attr))
        # Simple multi-valued attributes (a list of strings) expose each item as "value".
        return any(matches(expr.filter, item if isinstance(item, dict) else {"value": item}) for item in items)
    if isinstance(expr, Compare):
        return _match_compare(expr, element)
    raise TypeError(f"not a filter node: {expr!r}")


def _match_compare(expr: Compare, element: dict) -> bool:
    values = [v for v in _lookup(element, expr.path) if v is not None]
    if expr.op == "pr":
        return any(not _is_empty(v) for v in values)
    if expr.value is None:  # eq null / ne null (RFC 7644 §3.4.2.2: null means unassigned)
        present = any(not _is_empty(v) for v in values)
        return (not present) if expr.op == "eq" else present
    if expr.op == "ne":
        return not any(_compare(v, "eq", expr.value) for v in values)
    return any(_compare(v, expr.op, expr.value) for v in values)


def _scope(element: dict, path: AttrPath):
    """The dict holding ``path.attr``: the element itself, or its extension object."""
    return element if path.is_core else get_ci(element, path.urn)


def _values(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _lookup(element: dict, path: AttrPath) -> list:
    """Every value ``path`` reaches in ``element`` (several for multi-valued attributes)."""
    out = []
    for item in _values(get_ci(_scope(element, path), path.attr)):
        if path.sub is not None:
            out.append(get_ci(item, path.sub))
        elif isinstance(item, dict) and get_ci(item, "value") is not None:
            out.append(get_ci(item, "value"))  # "emails co x" means emails.value (RFC 7644 §3.4.2.2)
        else:
            out.append(item)
    return out


def _is_empty(value) -> bool:
    if value is None or value == "":
        return True  # [] and {} are empty through the branches below
    if isinstance(value, dict):
        return all(_is_empty(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_empty(v) for v in value)
    return False


def _as_datetime(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _compare(actual, op: str, expected) -> bool:
    """Compare one attribute value with a filter value; mismatched types never match."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and op == "eq" and actual is expected
    if isinstance(expected, (int, float)):
        if not isinstance(actual, (int, float)):
            return False
        return _order(actual, op, expected)
    if not isinstance(actual, str):
        return False
    a, e = actual.lower(), expected.lower()
    if op == "eq":
        return a == e
    if op == "co":
        return e in a
    if op == "sw":
        return a.startswith(e)
    if op == "ew":
        return a.endswith(e)
    a_time, e_time = _as_datetime(actual), _as_datetime(expected)
    if a_time is not None and e_time is not None:
        return _order(a_time, op, e_time)
    return _order(a, op, e)


def _order(a, op: str, b) -> bool:
    return {"eq": a == b, "gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
