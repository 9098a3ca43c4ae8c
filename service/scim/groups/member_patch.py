"""A group's ``members`` PATCH operations, split off so that they run in SQL.

``member_changes(operations, schema)`` returns the operations for
``apply_patch`` (displayName, externalId) and an ordered list of MemberOp for
``memberships.apply``: a group may have 50,000 members and they are never
loaded into a dict. Pure module: no Flask, no database.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from service.scim.errors import InvalidPath, InvalidValue, ScimError
from service.scim.filters import Expr, Or, eq_defaults, operands
from service.scim.patch_ops import (
    MEMBERS,
    Op,
    PatchSchema,
    Target,
    check_operations,
    in_context,
    parse_op,
    parse_target,
    show,
)
from service.scim.paths import get_ci, is_schema_urn


class MemberOp(NamedTuple):
    """One change to a group's member set, in request order.

    ``kind`` is ``"add"``, ``"remove"``, ``"replace"`` (``ids`` is the whole new
    set, possibly empty) or ``"clear"`` (``ids`` is None). ``ids`` keep the
    request's order, without duplicates.
    """

    kind: str
    ids: list | None


MemberOps = list[MemberOp]


def member_changes(operations: list, schema: PatchSchema) -> tuple[list, MemberOps]:
    """Split the operations on ``members`` out of ``operations``.

    Returns ``(remaining, changes)``: ``remaining`` is the list to give to
    ``apply_patch`` (operations that do not touch ``members``, in order; a
    path-less value loses its ``members`` key), and ``changes`` is an ordered
    list of MemberOp for the caller to apply in SQL. What is recognised:

    - ``add members`` with a value list -> ``MemberOp("add", ids)``
    - ``remove members`` with a value list -> ``MemberOp("remove", ids)`` (Entra, default dialect)
    - ``remove members[value eq "id"]`` (also ``or``-ed ids) -> ``MemberOp("remove", ids)``
    - ``replace members`` with a list -> ``MemberOp("replace", ids)`` (the whole set)
    - ``remove members`` without value, or ``add``/``replace`` with null -> ``MemberOp("clear", None)``
    - path-less ``add``/``replace`` whose value has a ``members`` key -> as with the path

    An add and a remove of the same member in one request stay in order.
    """
    ops = check_operations(operations)
    remaining: list = []
    changes: MemberOps = []
    for index, raw in enumerate(ops, start=1):
        op = parse_op(raw, index)
        try:
            if op.path is None:
                rest = _split_pathless_members(op, schema, changes)
                if rest is not None:
                    remaining.append(rest)
                continue
            try:
                target = parse_target(op.path, schema)
            except ScimError:
                remaining.append(raw)  # not ours; apply_patch reports it in context
                continue
            if _is_members(target):
                changes.extend(_member_ops(op, target))
            else:
                remaining.append(raw)
        except ScimError as exc:
            raise in_context(exc, op) from None
    return remaining, changes


def _is_members(target: Target) -> bool:
    return target.urn is None and target.attr is not None and target.attr.lower() == MEMBERS


def _member_ops(op: Op, target: Target) -> list:
    """The MemberOp(s) for one operation whose path is ``members[...]``."""
    if target.sub is not None:
        raise InvalidPath(
            f"'members.{target.sub}' cannot be patched; add or remove whole members with "
            'path "members" and a value such as [{"value": "<id>"}]'
        )
    if target.filter is not None:
        if op.kind != "remove":
            raise InvalidPath(
                f'{op.kind} cannot take a filter on members; use path "members" '
                'with a value such as [{"value": "<id>"}]'
            )
        return [MemberOp("remove", _filter_ids(target.filter))]
    return _member_value_ops(op.kind, op.value, op.has_value)


def _member_value_ops(kind: str, value: Any, has_value: bool) -> list:
    if kind == "remove":
        if not has_value or value is None:
            return [MemberOp("clear", None)]  # RFC 7644 §3.5.2.2: no filter removes all values
        ids = _member_ids(value)
        return [MemberOp("remove", ids)] if ids else []
    if value is None:
        return [MemberOp("clear", None)]  # null means unassigned (RFC 7643 §2.5)
    ids = _member_ids(value)
    if kind == "replace":
        return [MemberOp("replace", ids)]
    return [MemberOp("add", ids)] if ids else []


def _member_ids(value: Any) -> list:
    """``[{"value": "<id>"}, ...]`` (or one such object) -> the ids, in order, without duplicates."""
    items = value if isinstance(value, list) else [value]
    ids: list = []
    seen: set = set()  # 50,000 members in one request must stay linear
    for item in items:
        member_id = get_ci(item, "value") if isinstance(item, dict) else None
        if not isinstance(member_id, str) or not member_id.strip():
            raise InvalidValue(
                f'each member must be an object with the member\'s id, such as {{"value": "<id>"}}, not {show(item)}'
            )
        if member_id not in seen:
            seen.add(member_id)
            ids.append(member_id)
    return ids


def _filter_ids(expr: Expr) -> list:
    """The ids of ``members[value eq "a"]`` (or ``value eq "a" or value eq "b"``)."""
    ids: list = []
    for node in operands(expr, Or):
        member_id = eq_defaults(node).get("value")
        if not isinstance(member_id, str):
            raise InvalidPath(
                'members can only be selected by id, e.g. members[value eq "<id>"]; '
                "other filters on members are not supported"
            )
        if member_id not in ids:
            ids.append(member_id)
    return ids


def _split_pathless_members(op: Op, schema: PatchSchema, changes: MemberOps) -> dict | None:
    """Pull ``members`` out of a path-less value; return what is left of the operation (or None)."""
    if not isinstance(op.value, dict):
        return op.raw  # apply_patch reports the problem
    rest, found = _without_members(op, op.value, schema, changes)
    if not found:
        return op.raw
    if not rest:
        return None
    value_key = next(k for k in op.raw if isinstance(k, str) and k.lower() == "value")
    return {**op.raw, value_key: rest}


def _without_members(op: Op, value: dict, schema: PatchSchema, changes: MemberOps) -> tuple[dict, bool]:
    """``value`` without its ``members`` keys (also inside a core-URN object), and whether it had any."""
    rest, found = {}, False
    for key, item in value.items():
        if not isinstance(key, str):
            rest[key] = item
        elif is_schema_urn(key):
            if key.strip().lower() in schema.core_urns and isinstance(item, dict):
                inner, inner_found = _without_members(op, item, schema, changes)
                found = found or inner_found
                if inner or not inner_found:
                    rest[key] = inner
            else:
                rest[key] = item
        else:
            try:
                target = parse_target(key, schema)
            except ScimError:
                target = None  # not ours; apply_patch reports it
            if target is not None and _is_members(target):
                found = True
                member_op = Op(op.kind, op.written, key, True, item, op.raw)
                changes.extend(_member_ops(member_op, target))
            else:
                rest[key] = item
    return rest, found
