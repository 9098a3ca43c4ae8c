"""``attributes`` / ``excludedAttributes`` (RFC 7644 §3.4.2.5) for every resource type.

Each name is parsed once by the shared path parser (``service.scim.paths``) into
a lower-cased ``(urn, attr, sub)`` selector: a core schema URN prefix means a
top-level attribute, a bare schema URN selects a whole extension. A name that
is not a valid path selects nothing. Pure: no Flask, no database.
"""

from service.scim.documents import copy_document
from service.scim.errors import InvalidPath
from service.scim.paths import CORE_GROUP_URN, is_schema_urn, parse_attr_path

ALWAYS = {"id", "schemas"}


def selector(name):
    """``(urn, attr, sub)`` lower-cased for one requested name; ``None`` when it is no path."""
    name = name.strip()
    if is_schema_urn(name):
        return name.lower(), None, None
    try:
        path = parse_attr_path(name)
    except InvalidPath:
        return None
    urn, attr, sub = path.key()
    return (None if path.is_core else urn), attr, sub


def _selectors(names):
    return [s for s in map(selector, names) if s is not None]


def project(resource, attributes=(), excluded=()):
    """Apply ``attributes`` / ``excludedAttributes``; ``id`` and ``schemas`` always stay."""
    if not attributes and not excluded:
        return resource
    if attributes:
        wanted = _selectors(attributes)
        out = {}
        for key, value in resource.items():
            if key in ALWAYS:
                out[key] = value
                continue
            picked = _pick(key, value, wanted)
            if picked is not None:
                out[key] = picked
        return out
    out = copy_document(resource)
    for urn, attr, sub in _selectors(excluded):
        _drop(out, urn, attr, sub)
    return out


def wants(name, attributes, excluded):
    """Whether a response projected with ``attributes``/``excludedAttributes`` includes top-level ``name``.

    Lets a read skip a query: ``excludedAttributes=members`` never touches memberships.
    """
    name = name.lower()
    if any(urn is None and attr == name and sub is None for urn, attr, sub in _selectors(excluded)):
        return False
    return not attributes or any(urn is None and attr == name for urn, attr, _ in _selectors(attributes))


def normalize_names(names):
    """Attribute names with the core Group URN prefix dropped (``urn:...:Group:displayName``)."""
    prefix = CORE_GROUP_URN.lower() + ":"
    return [name[len(prefix) :] if name.lower().startswith(prefix) else name for name in names]


def _pick(key, value, wanted):
    lkey = key.lower()
    if lkey.startswith("urn:"):
        if any(u == lkey and a is None for u, a, _ in wanted):
            return value
        subs = {a: s for u, a, s in wanted if u == lkey and a}
        if not isinstance(value, dict) or not subs:
            return None
        picked = {k: v for k, v in value.items() if k.lower() in subs}
        return picked or None
    matches = [s for u, a, s in wanted if u is None and a == lkey]
    if not matches:
        return None
    if None in matches or not isinstance(value, (dict, list)):
        return value
    subs = set(matches)
    if isinstance(value, list):
        items = [{k: v for k, v in item.items() if k.lower() in subs} for item in value if isinstance(item, dict)]
        return [i for i in items if i] or None
    return {k: v for k, v in value.items() if k.lower() in subs} or None


def _drop(resource, urn, attr, sub):
    if urn is not None and attr is None:
        for key in [k for k in resource if k.lower() == urn]:
            del resource[key]
        return
    target = resource
    if urn is not None:
        target = next((v for k, v in resource.items() if k.lower() == urn), None)
        if not isinstance(target, dict):
            return
    for key in [k for k in target if k.lower() == attr and k not in ALWAYS]:
        if sub is None:
            del target[key]
        elif isinstance(target[key], dict):
            target[key] = {k: v for k, v in target[key].items() if k.lower() != sub}
        elif isinstance(target[key], list):
            target[key] = [{k: v for k, v in i.items() if k.lower() != sub} for i in target[key] if isinstance(i, dict)]
