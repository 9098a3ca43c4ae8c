"""SCIM PATCH (RFC 7644 §3.5.2) as a pure function, with Entra's rules.

``apply_patch(resource, operations, schema)`` takes a stored resource (a plain
dict without ``id``/``meta``) and the request's ``Operations`` list and returns
a new dict. It never mutates its input, and it works on a private copy, so an
operation that fails (a ScimError) leaves nothing half-applied: the caller's
transaction simply rolls back.

The operations' shape and paths are parsed in ``service.scim.patch_ops``;
``service.scim.groups.member_patch`` splits off a group's ``members``
operations so that they run in SQL (a group may have 50,000 members; they are
never loaded into a dict).

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

Cost: linear in the operations. ``add`` on a multi-valued attribute appends
in place and remembers the identities it has seen, so 1,000 appends do not
re-copy and re-compare the list 1,000 times; a multi-valued attribute may hold
at most ``schema.max_values`` values, which bounds what any one operation
scans. The number of operations is capped at the request's edge
(``service.edge.input_limits.MAX_PATCH_OPERATIONS``).

Pure module: no Flask, no database.
"""

from __future__ import annotations

from typing import Any

from service.scim.documents import copy_document
from service.scim.errors import InvalidPath, InvalidValue, Mutability, NoTarget, ScimError
from service.scim.filters import eq_defaults
from service.scim.patch_ops import (
    BASE_SUB_CANONICAL,
    IGNORED_IN_PATHLESS,
    MEMBERS,
    Op,
    PatchSchema,
    Target,
    check_operations,
    describe,
    element_matches,
    identity,
    in_context,
    no_filter_message,
    no_subs_message,
    parse_op,
    parse_target,
    show,
    unique,
)
from service.scim.patch_remove import Removals
from service.scim.paths import find_key, is_schema_urn

__all__ = ["PatchSchema", "apply_patch"]


def apply_patch(resource: dict, operations: list, schema: PatchSchema) -> dict:
    """Apply SCIM PATCH ``operations`` (RFC 7644 §3.5.2) to ``resource``; return a new dict.

    Operations are applied in order on a deep copy; the first failing one
    raises a ScimError (InvalidSyntax, InvalidValue, InvalidPath, NoTarget,
    Mutability) whose ``detail`` names the operation, and nothing is returned.
    An empty list returns an unchanged copy. Values are stored as sent; the
    caller validates and converts types afterwards.
    """
    ops = check_operations(operations)
    patcher = _Patcher(copy_document(resource), schema)
    for index, raw in enumerate(ops, start=1):
        op = parse_op(raw, index)
        try:
            patcher.apply(op)
        except ScimError as exc:
            raise in_context(exc, op) from None
    return patcher.resource


# -- the patcher -------------------------------------------------------------------


class _Patcher(Removals):
    """Applies operations to ``resource`` (already a private copy) in place (``remove``: ``Removals``)."""

    def __init__(self, resource: dict, schema: PatchSchema):
        self.resource = resource
        self.schema = schema
        self.sub_names = {**BASE_SUB_CANONICAL, **schema.sub_canonical}
        # The identities of the values of the list an ``add`` last appended to:
        # (the list, by_value, identities, the edit count when they were taken).
        self.seen: tuple | None = None
        # Counts every change other than an append: identities taken before it are stale.
        self.edits = 0

    def apply(self, op: Op) -> None:
        if op.path is None:
            self.pathless(op.kind, op.value)
            return
        target = parse_target(op.path, self.schema)
        self.check_writable(target)
        if op.kind == "remove":
            self.remove(target, op.value if op.has_value else None)
        else:
            self.set(op.kind, target, op.value)

    def check_writable(self, target: Target) -> None:
        if target.urn is None and target.attr is not None and target.attr.lower() in self.schema.read_only:
            raise Mutability(f"'{target.attr}' is read-only and cannot be changed by PATCH; remove this operation")

    # -- add / replace ------------------------------------------------------

    def set(self, kind: str, target: Target, value: Any) -> None:
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
            if kind == "add" and target.filter is None and target.sub is None:
                self.append(container, key, target.attr, value)
            else:
                self.edits += 1
                if target.filter is not None:
                    self.set_in_matches(container, key, target, value)
                elif target.sub is not None:
                    self.set_sub_everywhere(container, key, target.sub, value)
                else:
                    container[key] = unique(target.attr, self.as_items(value))
            self.check_count(target.attr, container.get(key))
        elif target.filter is not None:
            raise InvalidPath(no_filter_message(target))
        elif target.sub is not None:
            self.set_sub(container, key, target, value)
        else:
            self.set_single(container, key, value)
        self.prune(target.urn, container, key)

    def set_schema(self, kind: str, target: Target, value: Any) -> None:
        """A bare schema URN as the path: its value holds attributes of that schema."""
        if not isinstance(value, dict):
            raise InvalidValue(
                f"the value for schema '{target.urn or 'core'}' must be an object of its attributes, not {show(value)}"
            )
        self.pathless(kind, value, urn=target.urn)

    def set_single(self, container: dict, key: str, value: Any) -> None:
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

    def set_sub(self, container: dict, key: str, target: Target, value: Any) -> None:
        """``attr.sub`` on a single-valued attribute (``name.givenName``, ``manager.value``)."""
        current = container.get(key)
        if current is None:
            if target.urn is None and self.is_simple_top_level(target.attr):
                raise InvalidPath(no_subs_message(target))
            current = container[key] = {}
        elif not isinstance(current, dict):
            raise InvalidPath(no_subs_message(target))
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

    def set_in_matches(self, container: dict, key: str, target: Target, value: Any) -> None:
        """``attr[filter]`` or ``attr[filter].sub``: update every match, or create one.

        With no match, RFC 7644 §3.5.2.3 says noTarget, but Entra expects the
        element to be created (entra.md): it is built from the filter's ``eq``
        terms, e.g. ``emails[type eq "work"].value`` adds ``{"type": "work", "value": ...}``.
        """
        if target.sub is None and not isinstance(value, dict):
            raise InvalidValue(
                f"'{describe(target)}[...]' selects whole values, so the value must be an object "
                f"such as {{\"value\": ...}}, not {show(value)}; or add '.value' to the path"
            )
        items = container.get(key)
        if not isinstance(items, list):
            items = container[key] = []
        found = False
        for index, item in enumerate(items):
            if not element_matches(target.filter, item):
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
        """``add`` on a multi-valued attribute appends, skipping duplicates (RFC 7644 §3.5.2.1).

        In place, on the private copy: the identities of the list's values are
        computed once and kept while only appends follow, so a run of ``add``
        operations costs what its values cost, not the list's length each time.
        """
        by_value = name.lower() == MEMBERS
        current = container.get(key)
        seen = self.seen
        if not (seen and seen[0] is current and seen[1] == by_value and seen[3] == self.edits):
            current = unique(name, current if isinstance(current, list) else [])
            seen = self.seen = (current, by_value, {identity(item, by_value) for item in current}, self.edits)
        identities = seen[2]
        for item in self.as_items(value):
            marker = identity(item, by_value)
            if marker not in identities:
                identities.add(marker)
                current.append(item)
        container[key] = current

    def check_count(self, name: str, values: Any) -> None:
        """A multi-valued attribute holds at most ``schema.max_values`` values."""
        limit = self.schema.max_values
        if limit is not None and isinstance(values, list) and len(values) > limit:
            raise InvalidValue(f"'{name}' would hold {len(values)} values; the limit is {limit}")

    def put_sub(self, obj: dict, sub: str, value: Any) -> None:
        """Set one sub-attribute of ``obj``; null removes it."""
        existing = find_key(obj, sub)
        if value is None:
            if existing is not None:
                del obj[existing]
            return
        obj[existing if existing is not None else self.sub_name(sub)] = self.clean(value)

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
                f'{{"displayName": "Jo", "name.givenName": "Jo"}}, not {show(value)}'
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
            raise InvalidPath(f"{show(key)} is not an attribute name")
        if is_schema_urn(key):
            schema_target = parse_target(key, self.schema)
            if schema_target.urn is None and item is None:
                return  # "<core URN>": null says nothing to change
            self.set(kind, schema_target, item)
            return
        if urn is None and key.strip().lower() in IGNORED_IN_PATHLESS:
            return
        target = parse_target(key if urn is None else f"{urn}:{key.strip()}", self.schema)
        if target.urn is None and target.attr.lower() in self.schema.read_only:
            return
        self.set(kind, target, item)

    # -- helpers --------------------------------------------------------------

    def container(self, urn: str | None, create: bool) -> dict | None:
        """The dict holding the target attribute: the resource, or an extension object."""
        if urn is None:
            return self.resource
        key = find_key(self.resource, urn)
        if key is not None and isinstance(self.resource[key], dict):
            return self.resource[key]
        if not create:
            return None
        if key is None:
            # A new extension key: canonical if the schema knows it, else as the IdP wrote it.
            key = self.schema.canonical.get(urn.lower(), urn)
        self.resource[key] = {}
        return self.resource[key]

    def attr_key(self, container: dict, target: Target) -> str:
        """The key for ``target.attr``: the stored one, else the canonical name, else as written."""
        existing = find_key(container, target.attr)
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

    def filter_defaults(self, target: Target, required: bool) -> dict:
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
            ext_key = find_key(self.resource, urn)
            if ext_key is not None and self.resource[ext_key] is container:
                del self.resource[ext_key]
