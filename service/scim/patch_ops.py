"""SCIM PATCH operations (RFC 7644 §3.5.2): their shape, their paths, and the resource's schema.

Shared by ``service.scim.patch`` (applying operations to a resource document)
and ``service.scim.groups.member_patch`` (extracting member changes for SQL).
Pure module: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service.scim.errors import InvalidPath, InvalidSyntax, InvalidValue, NoTarget, ScimError
from service.scim.filter_match import matches
from service.scim.filters import Expr, parse_value_path
from service.scim.paths import CORE_URNS, get_ci, has_key_ci, is_schema_urn

OPS = ("add", "replace", "remove")
MEMBERS = "members"
# Common attributes a path-less value may carry and PATCH must not touch
# (RFC 7643 §3.1: id and meta are assigned by the service provider; schemas
# is rebuilt by the caller).
IGNORED_IN_PATHLESS = frozenset({"id", "meta", "schemas"})
# RFC 7643 §2.4: the standard sub-attributes of multi-valued attributes.
BASE_SUB_CANONICAL = {"value": "value", "display": "display", "type": "type", "primary": "primary", "$ref": "$ref"}


@dataclass(frozen=True)
class PatchSchema:
    """What PATCH needs to know about a resource type; built once by the caller.

    All sets and mapping keys are lower-case names.

    - ``canonical``: top-level name -> canonical spelling (``username`` -> ``userName``);
      extension URNs may be listed too, to give a new extension key its canonical spelling.
    - ``multi_valued``: multi-valued attributes (``emails``, ``members``...), anywhere.
    - ``complex``: single-valued complex attributes (``name``, ``manager``).
    - ``read_only``: top-level attributes PATCH may not target (``id``, ``meta``, ``groups``).
    - ``core_urns``: core schema URNs; ``<core urn>:userName`` means ``userName``.
    - ``sub_canonical``: sub-attribute and extension-attribute names -> canonical
      spelling (``givenname`` -> ``givenName``, ``employeenumber`` -> ``employeeNumber``).
    - ``max_values``: the most values a multi-valued attribute may hold after any
      operation (None: no limit). It also bounds the cost of each operation.
    """

    canonical: Mapping[str, str] = field(default_factory=dict)
    multi_valued: frozenset = frozenset()
    complex: frozenset = frozenset()
    read_only: frozenset = frozenset({"id", "meta"})
    core_urns: frozenset = CORE_URNS
    sub_canonical: Mapping[str, str] = field(default_factory=dict)
    max_values: int | None = None


@dataclass(frozen=True)
class Op:
    """One validated operation. ``has_value`` tells "no value" from ``"value": null``."""

    kind: str
    written: str
    path: str | None
    has_value: bool
    value: Any
    raw: dict


@dataclass(frozen=True)
class Target:
    """Where an operation points.

    ``urn`` is an extension URN as written (None for the top level, core URNs
    included); ``attr`` is None when the path is a bare schema URN (the whole
    extension, or the whole resource for a core URN).
    """

    urn: str | None
    attr: str | None
    filter: Expr | None = None
    sub: str | None = None


def check_operations(operations) -> list:
    if operations is None:
        return []
    if not isinstance(operations, list):
        raise InvalidSyntax(
            'PATCH "Operations" must be a list of operations such as '
            '[{"op": "replace", "path": "displayName", "value": "Jo"}]'
        )
    for index, raw in enumerate(operations, start=1):
        if not isinstance(raw, dict):
            raise InvalidSyntax(
                f'PATCH operation {index} must be an object with "op", "path" and "value", not {type(raw).__name__}'
            )
    return operations


def parse_op(raw: dict, index: int) -> Op:
    """Validate one operation's shape; extra keys (Entra's per-op ``name``) are ignored."""
    written = get_ci(raw, "op")
    if written is None:
        raise InvalidValue(f'PATCH operation {index} has no "op"; use "add", "replace" or "remove"')
    kind = written.strip().lower() if isinstance(written, str) else None
    if kind not in OPS:
        raise InvalidValue(
            f'PATCH operation {index} has unsupported op {show(written)}; use "add", "replace" or "remove"'
        )
    path = get_ci(raw, "path")
    if path is not None and not isinstance(path, str):
        raise InvalidPath(f'PATCH operation {index} ({written}): "path" must be a string, not {show(path)}')
    if isinstance(path, str) and not path.strip():
        path = None  # an empty path is the same as none (RFC 7644 §3.5.2: "path" is optional)
    has_value = has_key_ci(raw, "value")
    value = get_ci(raw, "value")
    if kind != "remove" and not has_value:
        where = f"path '{path}'" if path else "no path"
        raise InvalidValue(f'PATCH operation {index} ({written} with {where}) has no "value"; add and replace need one')
    if kind == "remove" and path is None:
        # RFC 7644 §3.5.2.2: "If "path" is unspecified, the operation fails".
        raise NoTarget(f'PATCH operation {index} ({written}) has no "path"; say which attribute to remove')
    return Op(kind, written, path, has_value, value, raw)


def in_context(exc: ScimError, op: Op) -> ScimError:
    """Prefix an error's detail with the operation it came from, for the admin's log."""
    if not exc.detail.startswith("PATCH operation"):
        where = f"path '{op.path}'" if op.path else "no path"
        exc.detail = f"PATCH {op.written} with {where}: {exc.detail}"
        exc.args = (exc.detail,)
    return exc


def parse_target(text: str, schema: PatchSchema) -> Target:
    """Parse a PATCH path: ``attr``, ``attr.sub``, ``attr[filter]``, ``attr[filter].sub``,
    ``urn:...:attr[.sub]``, or a bare schema URN (RFC 7644 §3.5.2, §3.10)."""
    text = text.strip()
    if is_schema_urn(text):
        urn = None if text.lower() in schema.core_urns else text
        return Target(urn, None)
    path, expr, sub = parse_value_path(text)
    urn = path.urn if path.urn is not None and path.urn.lower() not in schema.core_urns else None
    return Target(urn, path.attr, expr, sub if expr is not None else path.sub)


def describe(target: Target) -> str:
    name = target.attr if target.sub is None else f"{target.attr}.{target.sub}"
    return name if target.urn is None else f"{target.urn}:{name}"


def show(value: Any) -> str:
    """A short rendering of a value for an error detail."""
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."


# -- values of multi-valued attributes ---------------------------------------------


def element_matches(expr: Expr, item: Any) -> bool:
    # Simple multi-valued attributes expose each value as "value" (RFC 7644 §3.4.2.2).
    return matches(expr, item if isinstance(item, dict) else {"value": item})


def without_listed(items: list, listed: list) -> list:
    """``items`` minus the values a ``remove`` lists, in linear time.

    A listed object with ``value`` matches by ``value`` alone (the identity of
    a multi-valued element, RFC 7643 §2.4), so ``{"value": "<id>"}`` removes
    that member whatever its ``display``; a listed object without ``value``
    must match every key it gives; a bare listed value matches ``value`` or
    the element itself.
    """
    values, objects = set(), []
    for wanted in listed:
        if not isinstance(wanted, dict):
            values.add(freeze(wanted))
        elif has_key_ci(wanted, "value"):
            values.add(freeze(get_ci(wanted, "value")))
        else:
            objects.append(wanted)

    def listed_here(item: Any) -> bool:
        if not isinstance(item, dict):
            return freeze(item) in values
        if has_key_ci(item, "value") and freeze(get_ci(item, "value")) in values:
            return True
        return any(all(get_ci(item, k) == v for k, v in wanted.items()) for wanted in objects)

    return [item for item in items if not listed_here(item)]


def identity(item: Any, by_value: bool) -> Any:
    if by_value and isinstance(item, dict) and get_ci(item, "value") is not None:
        return ("value", freeze(get_ci(item, "value")))
    return freeze(item)


def freeze(value: Any) -> Any:
    """A hashable stand-in for a JSON value; ``True`` and ``1`` stay different."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted((str(k), freeze(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("list", tuple(freeze(v) for v in value))
    return (type(value).__name__, value)


def unique(name: str, items: list) -> list:
    """Drop duplicates, keeping the first; ``members`` are the same when their ``value`` is."""
    by_value = name.lower() == MEMBERS
    seen, out = set(), []
    for item in items:
        marker = identity(item, by_value)
        if marker in seen:
            continue
        seen.add(marker)
        out.append(item)
    return out


def no_filter_message(target: Target) -> str:
    """Why a '[...]' filter on a single-valued attribute is refused, and what to send instead."""
    return f"'{target.attr}' is not multi-valued, so it cannot take a '[...]' filter; write the path without '[...]'"


def no_subs_message(target: Target) -> str:
    """Why a '.sub' on an attribute without sub-attributes is refused, and what to send instead."""
    return f"'{target.attr}' has no sub-attributes; use the path '{target.attr}' without '.{target.sub}'"
