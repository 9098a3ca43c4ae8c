"""PATCH ``remove`` (RFC 7644 §3.5.2.2), the part of ``service.scim.patch``'s patcher that takes away.

A mixin of ``patch._Patcher``: it uses the patcher's state (``resource``, ``edits``) and
helpers (``container``, ``put_sub``, ``prune``, ...). Removing what is absent is a no-op
(Entra re-sends removes); a value list on a multi-valued attribute removes only those
values (Entra's way to remove members). Pure: no Flask, no database.
"""

from __future__ import annotations

from typing import Any

from service.scim.errors import InvalidPath, NoTarget
from service.scim.patch_ops import Target, element_matches, no_filter_message, without_listed
from service.scim.paths import find_key


class Removals:
    """``remove`` and what it needs of its own; mixed into ``patch._Patcher``."""

    def remove(self, target: Target, value: Any) -> None:
        """``remove`` (RFC 7644 §3.5.2.2); removing what is absent is a no-op (Entra re-sends removes)."""
        self.edits += 1
        if target.attr is None:
            if target.urn is None:
                raise NoTarget("the whole resource cannot be removed; give the path of an attribute")
            key = find_key(self.resource, target.urn)
            if key is not None:
                del self.resource[key]
            return
        container = self.container(target.urn, create=False)
        if container is None:
            return
        key = find_key(container, target.attr)
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
            container[key] = without_listed(current, self.as_items(value))
        else:
            del container[key]
        self.prune(target.urn, container, key)

    def require_multi_for_filter(self, target: Target, current: Any) -> None:
        if not self.is_multi(target.attr, current):
            raise InvalidPath(no_filter_message(target))

    def remove_in_matches(self, items: list, target: Target) -> None:
        """``attr[filter]`` removes matching values; ``attr[filter].sub`` their sub-attribute."""
        kept = []
        for item in items:
            if not element_matches(target.filter, item):
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
