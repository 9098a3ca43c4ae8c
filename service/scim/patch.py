"""SCIM PATCH (RFC 7644 §3.5.2) as a pure function, with Entra's rules.

``apply_patch(resource, operations, schema)`` takes a stored resource (a plain
dict without ``id``/``meta``) and the request's ``Operations`` list and returns
a new dict. It never mutates its input, and it works on a private copy, so an
operation that fails (a ScimError) leaves nothing half-applied: the caller's
transaction simply rolls back.

``member_changes(operations, schema)`` splits off the operations on a
group's ``members`` so that the caller can apply them in SQL (a group may have
50,000 members; they are never loaded into a dict).

What this module does, and why (docs/entra.md is the source for Entra):

- ``op`` is case-insensitive (Entra sends ``Add``/``Replace``/``Remove``).
- ``add`` on a single-valued attribute replaces it (Entra sends ``Add`` on
  ``active``); on a multi-valued attribute it appends, skipping duplicates
  (RFC 7644 §3.5.2.1).
- ``add``/``replace`` of an object on a complex attribute sets the
  sub-attributes given and keeps the others (RFC 7644 §3.5.2.1, §3.5.2.3).
- ``replace`` of a multi-valued attribute without a filter replaces the whole
  list (RFC 7644 §3.5.2.3).
- ``add``/``replace`` on a value path that matches nothing creates the element
  from the filter's ``eq`` terms (RFC 7644 says noTarget; Entra and Microsoft's
  validator expect creation).
- ``remove`` of something absent is a no-op (Entra re-sends removes);
  ``remove`` with a value list on a multi-valued attribute removes only those
  values (Entra's way to remove members).
- Path-less ``add``/``replace``: each key of ``value`` is a path of its own
  (plain, dotted ``name.givenName``, URN-qualified, even a value path), or a
  bare schema URN whose object holds that extension's attributes.
- JSON ``null`` as a value (of an operation with a path, of a key in a
  path-less value, or of a sub-attribute inside an object value) removes that
  attribute: RFC 7643 §2.5 makes null equivalent to "unassigned". Entra never
  sends null, but old payloads do, and storing nulls would make them
  reappear in responses.
- Nothing empty is left behind: an attribute whose last sub-attribute or
  value was removed, and an extension whose last attribute was removed, is
  deleted, so it is absent from responses (entra.md: "An attribute removed by
  PATCH is absent from responses").
- Values are stored as sent ("True" stays a string, "55555555555" stays a
  string): type conversion and validation are the caller's job, afterwards.
- Names: an existing key is found case-insensitively and keeps its stored
  spelling; a new key takes the canonical name from the schema, or the
  spelling the client used when the schema does not know it.

Pure module: no Flask, no database.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from service.scim.errors import InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget, ScimError
from service.scim.filters import Expr, Or, eq_defaults, matches, operands, parse_value_path
from service.scim.paths import CORE_URNS, is_schema_urn

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
    """

    canonical: Mapping[str, str] = field(default_factory=dict)
    multi_valued: frozenset = frozenset()
    complex: frozenset = frozenset()
    read_only: frozenset = frozenset({"id", "meta"})
    core_urns: frozenset = CORE_URNS
    sub_canonical: Mapping[str, str] = field(default_factory=dict)


class MemberOp(NamedTuple):
    """One change to a group's member set, in request order.

    ``kind`` is ``"add"``, ``"remove"``, ``"replace"`` (``ids`` is the whole new
    set, possibly empty) or ``"clear"`` (``ids`` is None). ``ids`` keep the
    request's order, without duplicates.
    """

    kind: str
    ids: list | None


MemberOps = list[MemberOp]


# -- public API ------------------------------------------------------------------


def apply_patch(resource: dict, operations: list, schema: PatchSchema) -> dict:
    """Apply SCIM PATCH ``operations`` (RFC 7644 §3.5.2) to ``resource``; return a new dict.

    Operations are applied in order on a deep copy; the first failing one
    raises a ScimError (InvalidSyntax, InvalidValue, InvalidPath, NoTarget,
    Mutability) whose ``detail`` names the operation, and nothing is returned.
    An empty list returns an unchanged copy. Values are stored as sent; the
    caller validates and converts types afterwards.
    """
    ops = _check_operations(operations)
    patcher = _Patcher(copy.deepcopy(resource), schema)
    for index, raw in enumerate(ops, start=1):
        op = _parse_op(raw, index)
        try:
            patcher.apply(op)
        except ScimError as exc:
            raise _in_context(exc, op) from None
    return patcher.resource


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
    ops = _check_operations(operations)
    remaining: list = []
    changes: MemberOps = []
    for index, raw in enumerate(ops, start=1):
        op = _parse_op(raw, index)
        try:
            if op.path is None:
                rest = _split_pathless_members(op, schema, changes)
                if rest is not None:
                    remaining.append(rest)
                continue
            try:
                target = _parse_target(op.path, schema)
            except ScimError:
                remaining.append(raw)  # not ours; apply_patch reports it in context
                continue
            if _is_members(target):
                changes.extend(_member_ops(op, target))
            else:
                remaining.append(raw)
        except ScimError as exc:
            raise _in_context(exc, op) from None
    return remaining, changes


# -- operations: shape ------------------------------------------------------------


@dataclass(frozen=True)
class _Op:
    """One validated operation. ``has_value`` tells "no value" from ``"value": null``."""

    kind: str
    written: str
    path: str | None
    has_value: bool
    value: Any
    raw: dict


@dataclass(frozen=True)
class _Target:
    """Where an operation points.

    ``urn`` is an extension URN as written (None for the top level, core URNs
    included); ``attr`` is None when the path is a bare schema URN (the whole
    extension, or the whole resource for a core URN).
    """

    urn: str | None
    attr: str | None
    filter: Expr | None = None
    sub: str | None = None


def _check_operations(operations) -> list:
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


def _parse_op(raw: dict, index: int) -> _Op:
    """Validate one operation's shape; extra keys (Entra's per-op ``name``) are ignored."""
    written = _get_ci(raw, "op")
    if written is None:
        raise InvalidValue(f'PATCH operation {index} has no "op"; use "add", "replace" or "remove"')
    kind = written.strip().lower() if isinstance(written, str) else None
    if kind not in OPS:
        raise InvalidValue(
            f'PATCH operation {index} has unsupported op {_show(written)}; use "add", "replace" or "remove"'
        )
    path = _get_ci(raw, "path")
    if path is not None and not isinstance(path, str):
        raise InvalidPath(f'PATCH operation {index} ({written}): "path" must be a string, not {_show(path)}')
    if isinstance(path, str) and not path.strip():
        path = None  # an empty path is the same as none (RFC 7644 §3.5.2: "path" is optional)
    has_value = _has_ci(raw, "value")
    value = _get_ci(raw, "value")
    if kind != "remove" and not has_value:
        where = f"path '{path}'" if path else "no path"
        raise InvalidValue(f'PATCH operation {index} ({written} with {where}) has no "value"; add and replace need one')
    if kind == "remove" and path is None:
        # RFC 7644 §3.5.2.2: "If "path" is unspecified, the operation fails".
        raise NoTarget(f'PATCH operation {index} ({written}) has no "path"; say which attribute to remove')
    return _Op(kind, written, path, has_value, value, raw)


def _in_context(exc: ScimError, op: _Op) -> ScimError:
    """Prefix an error's detail with the operation it came from, for the admin's log."""
    if not exc.detail.startswith("PATCH operation"):
        where = f"path '{op.path}'" if op.path else "no path"
        exc.detail = f"PATCH {op.written} with {where}: {exc.detail}"
        exc.args = (exc.detail,)
    return exc


def _parse_target(text: str, schema: PatchSchema) -> _Target:
    """Parse a PATCH path: ``attr``, ``attr.sub``, ``attr[filter]``, ``attr[filter].sub``,
    ``urn:...:attr[.sub]``, or a bare schema URN (RFC 7644 §3.5.2, §3.10)."""
    text = text.strip()
    if is_schema_urn(text):
        urn = None if text.lower() in schema.core_urns else text
        return _Target(urn, None)
    path, expr, sub = parse_value_path(text)
    urn = path.urn if path.urn is not None and path.urn.lower() not in schema.core_urns else None
    return _Target(urn, path.attr, expr, sub if expr is not None else path.sub)


def _describe(target: _Target) -> str:
    name = target.attr if target.sub is None else f"{target.attr}.{target.sub}"
    return name if target.urn is None else f"{target.urn}:{name}"


# -- the patcher -------------------------------------------------------------------


class _Patcher:
    """Applies operations to ``resource`` (already a private copy) in place."""

    def __init__(self, resource: dict, schema: PatchSchema):
        self.resource = resource
        self.schema = schema
        self.sub_names = {**BASE_SUB_CANONICAL, **schema.sub_canonical}

    def apply(self, op: _Op) -> None:
        if op.path is None:
            self.pathless(op.kind, op.value)
            return
        target = _parse_target(op.path, self.schema)
        self.check_writable(target)
        if op.kind == "remove":
            self.remove(target, op.value if op.has_value else None)
        else:
            self.set(op.kind, target, op.value)

    def check_writable(self, target: _Target) -> None:
        if target.urn is None and target.attr is not None and target.attr.lower() in self.schema.read_only:
            raise Mutability(f"'{target.attr}' is read-only and cannot be changed by PATCH; remove this operation")

    # -- add / replace ------------------------------------------------------

    def set(self, kind: str, target: _Target, value: Any) -> None:
        """``add`` or ``replace`` at ``target`` (RFC 7644 §3.5.2.1, §3.5.2.3)."""
        if value is None:
            # RFC 7643 §2.5: null is "unassigned"; old payloads send it to clear.
            self.remove(target, None)
            return
        if target.attr is None:
            self.set_schema(kind, target, value)
            return
        container = self.container(target.urn, create=True)
        key = self.attr_key(container, target)
        current = container.get(key)
        if self.is_multi(target.attr, current):
            if target.filter is not None:
                self.set_in_matches(container, key, target, value)
            elif target.sub is not None:
                self.set_sub_everywhere(container, key, target.sub, value)
            elif kind == "add":
                self.append(container, key, target.attr, value)
            else:
                container[key] = self.unique(target.attr, self.as_items(value))
        elif target.filter is not None:
            raise InvalidPath(self.no_filter_message(target))
        elif target.sub is not None:
            self.set_sub(container, key, target, value)
        else:
            self.set_single(container, key, target.attr, value)
        self.prune(target.urn, container, key)

    def set_schema(self, kind: str, target: _Target, value: Any) -> None:
        """A bare schema URN as the path: its value holds attributes of that schema."""
        if not isinstance(value, dict):
            raise InvalidValue(
                f"the value for schema '{target.urn or 'core'}' must be an object of its attributes, not {_show(value)}"
            )
        self.pathless(kind, value, urn=target.urn)

    def set_single(self, container: dict, key: str, name: str, value: Any) -> None:
        """A single-valued attribute: ``add`` replaces it too (Entra sends ``Add`` on ``active``).

        An object on a complex attribute sets the sub-attributes given and keeps
        the others (RFC 7644 §3.5.2.1 and §3.5.2.3); anything else is stored as sent.
        """
        current = container.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            for sub, sub_value in value.items():
                self.put_sub(current, sub, sub_value)
        else:
            container[key] = self.clean(value)

    def set_sub(self, container: dict, key: str, target: _Target, value: Any) -> None:
        """``attr.sub`` on a single-valued attribute (``name.givenName``, ``manager.value``)."""
        current = container.get(key)
        if current is None:
            if target.urn is None and self.is_simple_top_level(target.attr):
                raise InvalidPath(self.no_subs_message(target))
            current = container[key] = {}
        elif not isinstance(current, dict):
            raise InvalidPath(self.no_subs_message(target))
        self.put_sub(current, target.sub, value)

    def set_sub_everywhere(self, container: dict, key: str, sub: str, value: Any) -> None:
        """``emails.value`` without a filter: set it on every element, or create one."""
        items = container.get(key)
        if not isinstance(items, list) or not items:
            container[key] = [{self.sub_name(sub): self.clean(value)}]
            return
        for item in items:
            if isinstance(item, dict):
                self.put_sub(item, sub, value)

    def set_in_matches(self, container: dict, key: str, target: _Target, value: Any) -> None:
        """``attr[filter]`` or ``attr[filter].sub``: update every match, or create one.

        With no match, RFC 7644 §3.5.2.3 says noTarget, but Entra expects the
        element to be created (entra.md): it is built from the filter's ``eq``
        terms, e.g. ``emails[type eq "work"].value`` adds ``{"type": "work", "value": ...}``.
        """
        if target.sub is None and not isinstance(value, dict):
            raise InvalidValue(
                f"'{_describe(target)}[...]' selects whole values, so the value must be an object "
                f"such as {{\"value\": ...}}, not {_show(value)}; or add '.value' to the path"
            )
        items = container.get(key)
        if not isinstance(items, list):
            items = container[key] = []
        found = False
        for index, item in enumerate(items):
            if not _element_matches(target.filter, item):
                continue
            found = True
            if target.sub is not None:
                if not isinstance(item, dict):
                    raise InvalidPath(f"the values of '{target.attr}' have no sub-attribute '{target.sub}'")
                self.put_sub(item, target.sub, value)
            else:
                # The element at this location is replaced; it keeps what the
                # filter says about it unless the value says otherwise.
                items[index] = {**self.filter_defaults(target, required=False), **self.clean(value)}
        if found:
            return
        defaults = self.filter_defaults(target, required=True)
        if target.sub is not None:
            defaults[self.sub_name(target.sub)] = self.clean(value)
            items.append(defaults)
        else:
            items.append({**defaults, **self.clean(value)})

    def append(self, container: dict, key: str, name: str, value: Any) -> None:
        """``add`` on a multi-valued attribute appends, skipping duplicates (RFC 7644 §3.5.2.1)."""
        current = container.get(key)
        current = current if isinstance(current, list) else []
        container[key] = self.unique(name, current + self.as_items(value))

    def put_sub(self, obj: dict, sub: str, value: Any) -> None:
        """Set one sub-attribute of ``obj``; null removes it."""
        existing = _find_key(obj, sub)
        if value is None:
            if existing is not None:
                del obj[existing]
            return
        obj[existing if existing is not None else self.sub_name(sub)] = self.clean(value)

    # -- remove ---------------------------------------------------------------

    def remove(self, target: _Target, value: Any) -> None:
        """``remove`` (RFC 7644 §3.5.2.2); removing what is absent is a no-op (Entra re-sends removes)."""
        if target.attr is None:
            if target.urn is None:
                raise NoTarget("the whole resource cannot be removed; give the path of an attribute")
            key = _find_key(self.resource, target.urn)
            if key is not None:
                del self.resource[key]
            return
        container = self.container(target.urn, create=False)
        if container is None:
            return
        key = _find_key(container, target.attr)
        if key is None:
            if target.filter is not None and target.urn is None and self.is_simple_top_level(target.attr):
                self.require_multi_for_filter(target, None)  # a malformed path is still an error
            return
        current = container[key]
        if target.filter is not None:
            self.require_multi_for_filter(target, current)
            if isinstance(current, list):
                self.remove_in_matches(current, target)
        elif target.sub is not None:
            self.remove_sub(current, target.sub)
        elif value is not None and isinstance(current, list):
            # Entra: {"op":"Remove","path":"members","value":[{"value":"<id>"}]}
            # removes those values only.
            container[key] = _without_listed(current, self.as_items(value))
        else:
            del container[key]
        self.prune(target.urn, container, key)

    def require_multi_for_filter(self, target: _Target, current: Any) -> None:
        if not self.is_multi(target.attr, current):
            raise InvalidPath(self.no_filter_message(target))

    def remove_in_matches(self, items: list, target: _Target) -> None:
        """``attr[filter]`` removes matching values; ``attr[filter].sub`` their sub-attribute."""
        kept = []
        for item in items:
            if not _element_matches(target.filter, item):
                kept.append(item)
            elif target.sub is not None and isinstance(item, dict):
                self.remove_sub(item, target.sub)
                if item:
                    kept.append(item)
        items[:] = kept

    def remove_sub(self, current: Any, sub: str) -> None:
        """Remove ``sub`` from an object, or from every object of a list (then drop empty ones)."""
        if isinstance(current, dict):
            self.put_sub(current, sub, None)
        elif isinstance(current, list):
            for item in current:
                if isinstance(item, dict):
                    self.put_sub(item, sub, None)
            current[:] = [item for item in current if item != {}]
        # A sub-attribute of a simple value is absent: nothing to remove.

    # -- path-less ------------------------------------------------------------

    def pathless(self, kind: str, value: Any, urn: str | None = None) -> None:
        """Path-less ``add``/``replace`` (RFC 7644 §3.5.2.1, §3.5.2.3): every key is a path.

        Keys may be plain (``displayName``), dotted (``name.givenName``),
        URN-qualified (``urn:...:enterprise:2.0:User:employeeNumber``), value
        paths, or a bare schema URN whose object lists that extension's
        attributes. ``id``, ``meta``, ``schemas`` and read-only attributes are
        ignored, as Entra and others echo them back.
        """
        if not isinstance(value, dict):
            raise InvalidValue(
                "without a path, the value must be an object of attributes such as "
                f'{{"displayName": "Jo", "name.givenName": "Jo"}}, not {_show(value)}'
            )
        for key, item in value.items():
            try:
                self.pathless_item(kind, key, item, urn)
            except ScimError as exc:
                exc.detail = f"key '{key}' of the value: {exc.detail}"
                exc.args = (exc.detail,)
                raise

    def pathless_item(self, kind: str, key: Any, item: Any, urn: str | None) -> None:
        """One key of a path-less value (``urn`` set when inside a bare-URN object)."""
        if not isinstance(key, str) or not key.strip():
            raise InvalidPath(f"{_show(key)} is not an attribute name")
        if is_schema_urn(key):
            schema_target = _parse_target(key, self.schema)
            if schema_target.urn is None and item is None:
                return  # "<core URN>": null says nothing to change
            self.set(kind, schema_target, item)
            return
        if urn is None and key.strip().lower() in IGNORED_IN_PATHLESS:
            return
        target = _parse_target(key if urn is None else f"{urn}:{key.strip()}", self.schema)
        if target.urn is None and target.attr.lower() in self.schema.read_only:
            return
        self.set(kind, target, item)

    # -- helpers --------------------------------------------------------------

    def container(self, urn: str | None, create: bool) -> dict | None:
        """The dict holding the target attribute: the resource, or an extension object."""
        if urn is None:
            return self.resource
        key = _find_key(self.resource, urn)
        if key is not None and isinstance(self.resource[key], dict):
            return self.resource[key]
        if not create:
            return None
        if key is None:
            # A new extension key: canonical if the schema knows it, else as the IdP wrote it.
            key = self.schema.canonical.get(urn.lower(), urn)
        self.resource[key] = {}
        return self.resource[key]

    def attr_key(self, container: dict, target: _Target) -> str:
        """The key for ``target.attr``: the stored one, else the canonical name, else as written."""
        existing = _find_key(container, target.attr)
        if existing is not None:
            return existing
        table = self.schema.canonical if target.urn is None else self.sub_names
        return table.get(target.attr.lower(), target.attr)

    def sub_name(self, name: str) -> str:
        return self.sub_names.get(name.lower(), name)

    def is_multi(self, name: str, current: Any) -> bool:
        return name.lower() in self.schema.multi_valued or isinstance(current, list)

    def is_simple_top_level(self, name: str) -> bool:
        lower = name.lower()
        known = lower in self.schema.canonical
        return known and lower not in self.schema.complex and lower not in self.schema.multi_valued

    def no_filter_message(self, target: _Target) -> str:
        return (
            f"'{target.attr}' is not multi-valued, so it cannot take a '[...]' filter; write the path without '[...]'"
        )

    def no_subs_message(self, target: _Target) -> str:
        return f"'{target.attr}' has no sub-attributes; use the path '{target.attr}' without '.{target.sub}'"

    def clean(self, value: Any) -> Any:
        """A private copy of ``value`` with canonical sub-attribute names and no nulls."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if item is None:
                    continue
                name = self.sub_name(key) if isinstance(key, str) else key
                out[name] = self.clean(item)
            return out
        if isinstance(value, list):
            return [self.clean(item) for item in value if item is not None]
        return value

    def as_items(self, value: Any) -> list:
        """The values of a multi-valued add/replace; a single value is wrapped in a list."""
        items = value if isinstance(value, list) else [value]
        return [item for item in (self.clean(v) for v in items if v is not None) if item != {}]

    def unique(self, name: str, items: list) -> list:
        """Drop duplicates, keeping the first; ``members`` are the same when their ``value`` is."""
        by_value = name.lower() == MEMBERS
        seen, out = set(), []
        for item in items:
            marker = _identity(item, by_value)
            if marker in seen:
                continue
            seen.add(marker)
            out.append(item)
        return out

    def filter_defaults(self, target: _Target, required: bool) -> dict:
        """The element a value filter describes (``type eq "work"`` -> ``{"type": "work"}``)."""
        found = eq_defaults(target.filter)
        if not found and required:
            raise NoTarget(
                f"no value of '{target.attr}' matches the filter, and it cannot be created from it; "
                f"use a filter of 'eq' terms joined by 'and', e.g. {target.attr}[type eq \"work\"]"
            )
        return {self.sub_name(name): value for name, value in found.items()}

    def prune(self, urn: str | None, container: dict, key: str) -> None:
        """Leave no empty object or list behind, and no empty extension."""
        if key in container and container[key] in ({}, []):
            del container[key]
        if urn is not None and container == {}:
            ext_key = _find_key(self.resource, urn)
            if ext_key is not None and self.resource[ext_key] is container:
                del self.resource[ext_key]


# -- members -----------------------------------------------------------------------


def _is_members(target: _Target) -> bool:
    return target.urn is None and target.attr is not None and target.attr.lower() == MEMBERS


def _member_ops(op: _Op, target: _Target) -> list:
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
        member_id = _get_ci(item, "value") if isinstance(item, dict) else None
        if not isinstance(member_id, str) or not member_id.strip():
            raise InvalidValue(
                f'each member must be an object with the member\'s id, such as {{"value": "<id>"}}, not {_show(item)}'
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


def _split_pathless_members(op: _Op, schema: PatchSchema, changes: MemberOps) -> dict | None:
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


def _without_members(op: _Op, value: dict, schema: PatchSchema, changes: MemberOps) -> tuple[dict, bool]:
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
                target = _parse_target(key, schema)
            except ScimError:
                target = None  # not ours; apply_patch reports it
            if target is not None and _is_members(target):
                found = True
                member_op = _Op(op.kind, op.written, key, True, item, op.raw)
                changes.extend(_member_ops(member_op, target))
            else:
                rest[key] = item
    return rest, found


# -- small pure helpers ------------------------------------------------------------


def _find_key(obj: dict, name: str) -> str | None:
    """The key of ``obj`` equal to ``name`` ignoring case (RFC 7643 §2.1), or None."""
    if name in obj:
        return name
    lower = name.lower()
    for key in obj:
        if isinstance(key, str) and key.lower() == lower:
            return key
    return None


def _has_ci(obj: dict, name: str) -> bool:
    return _find_key(obj, name) is not None


def _get_ci(obj: dict, name: str) -> Any:
    key = _find_key(obj, name)
    return obj[key] if key is not None else None


def _element_matches(expr: Expr, item: Any) -> bool:
    # Simple multi-valued attributes expose each value as "value" (RFC 7644 §3.4.2.2).
    return matches(expr, item if isinstance(item, dict) else {"value": item})


def _without_listed(items: list, listed: list) -> list:
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
            values.add(_freeze(wanted))
        elif _has_ci(wanted, "value"):
            values.add(_freeze(_get_ci(wanted, "value")))
        else:
            objects.append(wanted)

    def listed_here(item: Any) -> bool:
        if not isinstance(item, dict):
            return _freeze(item) in values
        if _has_ci(item, "value") and _freeze(_get_ci(item, "value")) in values:
            return True
        return any(all(_get_ci(item, k) == v for k, v in wanted.items()) for wanted in objects)

    return [item for item in items if not listed_here(item)]


def _identity(item: Any, by_value: bool) -> Any:
    if by_value and isinstance(item, dict) and _get_ci(item, "value") is not None:
        return ("value", _freeze(_get_ci(item, "value")))
    return _freeze(item)


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a JSON value; ``True`` and ``1`` stay different."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted((str(k), _freeze(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("list", tuple(_freeze(v) for v in value))
    return (type(value).__name__, value)


def _show(value: Any) -> str:
    """A short rendering of a value for an error detail."""
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = ["MEMBERS", "MemberOp", "MemberOps", "PatchSchema", "apply_patch", "member_changes"]
