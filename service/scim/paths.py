"""SCIM attribute paths (RFC 7644 §3.10), shared by filters and PATCH.

An attribute path is ``[URN ":"] ATTRNAME ["." SUBATTR]``:

    userName
    name.givenName
    urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value
    urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:state

Names keep the spelling the client used (read-back must be exact) but compare
case-insensitively (RFC 7643 §2.1), which is what ``AttrPath.key()`` is for.
Pure module: no Flask, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.scim.errors import InvalidPath

CORE_USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
CORE_URNS = frozenset({CORE_USER_URN.lower(), CORE_GROUP_URN.lower()})

# RFC 7644 §3.10: ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA.
# "$ref" (RFC 7643 §2.3.7, e.g. members.$ref) and a leading "_" (IdP custom
# attributes) are accepted too: rejecting them would only break real clients.
_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_\-$]*$")
# A URN (RFC 8141) never contains whitespace, brackets or quotes; anything else
# is left to the caller, which looks the URN up among the schemas it knows.
_URN = re.compile(r"^urn:[^\s\[\]()\"']+$", re.IGNORECASE)
_SCHEMA_URN = re.compile(r"^urn:[^\s\[\]()\"']+:2\.0:(user|group)$", re.IGNORECASE)


@dataclass(frozen=True)
class AttrPath:
    """One parsed attribute path; fields keep the client's spelling."""

    urn: str | None
    attr: str
    sub: str | None = None

    def key(self) -> tuple[str | None, str, str | None]:
        """Lower-cased ``(urn, attr, sub)`` for case-insensitive lookups."""
        return (
            self.urn.lower() if self.urn is not None else None,
            self.attr.lower(),
            self.sub.lower() if self.sub is not None else None,
        )

    @property
    def is_core(self) -> bool:
        """True when the path names a core attribute (no URN, or a core URN)."""
        return self.urn is None or self.urn.lower() in CORE_URNS

    @property
    def parent(self) -> AttrPath:
        """The same path without its sub-attribute (``name.givenName`` -> ``name``)."""
        return AttrPath(self.urn, self.attr, None)

    def with_sub(self, sub: str | None) -> AttrPath:
        """The same path with ``sub`` as its sub-attribute."""
        return AttrPath(self.urn, self.attr, sub)

    def __str__(self) -> str:
        """The path as it would be written in a filter or PATCH request."""
        text = self.attr if self.sub is None else f"{self.attr}.{self.sub}"
        return text if self.urn is None else f"{self.urn}:{text}"


def is_schema_urn(text: str) -> bool:
    """True for a bare schema URN, e.g. ``urn:...:extension:Foo:2.0:User``.

    Path-less PATCH values key whole extensions by URN (RFC 7644 §3.5.2);
    callers check this before treating a key as an attribute path.
    """
    return isinstance(text, str) and bool(_SCHEMA_URN.match(text.strip()))


def parse_attr_path(text: str) -> AttrPath:
    """Parse ``[urn:...:]attr[.sub]`` into an AttrPath; raise InvalidPath if malformed.

    A path starting with ``urn:`` is split at its last ``:`` (RFC 7644 §3.10:
    the URN is the schema, what follows is ``attr[.sub]``). A core URN prefix
    is kept as written; callers treat it as a top-level attribute
    (``AttrPath.is_core``). A bare schema URN is not an attribute path.
    """
    if not isinstance(text, str):
        raise InvalidPath(f"Invalid path: expected an attribute name, got {type(text).__name__}")
    raw = text.strip()
    if not raw:
        raise InvalidPath("Invalid path: the attribute path is empty")
    urn = None
    rest = raw
    if raw[:4].lower() == "urn:":
        if is_schema_urn(raw):
            raise InvalidPath(f"Invalid path: '{raw}' names a schema, not an attribute; write '{raw}:attributeName'")
        urn, _, rest = raw.rpartition(":")
        if not _URN.match(urn) or urn.endswith(":") or urn.lower() == "urn":
            raise InvalidPath(f"Invalid path: '{raw}' is not a valid schema URN followed by ':attribute'")
    parts = rest.split(".")
    if len(parts) > 2:
        raise InvalidPath(
            f"Invalid path: '{raw}' has more than one '.'; SCIM paths are 'attribute' or 'attribute.subAttribute'"
        )
    for part in parts:
        if not _NAME.match(part):
            shown = part or "(empty)"
            raise InvalidPath(
                f"Invalid path: '{shown}' in '{raw}' is not a valid attribute name "
                "(letters, digits, '_' and '-', starting with a letter)"
            )
    return AttrPath(urn, parts[0], parts[1] if len(parts) == 2 else None)


def find_key(obj: dict, name: str) -> str | None:
    """The key of ``obj`` equal to ``name`` ignoring case (RFC 7643 §2.1), or None."""
    if name in obj:
        return name
    lower = name.lower()
    for key in obj:
        if isinstance(key, str) and key.lower() == lower:
            return key
    return None


def has_key_ci(obj: dict, name: str) -> bool:
    """Whether ``obj`` has the key ``name``, ignoring case."""
    return find_key(obj, name) is not None


def get_ci(obj, name: str):
    """``obj[name]`` with a case-insensitive key; None when absent or ``obj`` is not a dict."""
    if not isinstance(obj, dict):
        return None
    key = find_key(obj, name)
    return obj[key] if key is not None else None
