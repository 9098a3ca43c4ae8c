"""Where Smart Assign reads each input from in a stored SCIM User, per company (pure, no I/O).

Every IdP puts a learner's state, country, location, role, training tags and
department somewhere else: Entra in a learner extension under a URN the admin
named, Okta as top-level custom attributes or under its own URN, JumpCloud and
OneLogin in the standard work address. A company's mapping is, for each input,
an ordered list of sources; the first source with a non-empty value wins, and
the learner keeps which source that was (shown on the dashboard's learner page).

A source is written the way an admin reads it:

- ``extension:NAME``: attribute NAME of the learner extension, under any
  ``urn:...:User`` URN other than the enterprise one (Entra's
  ``CustomExtensionName``, an Okta namespace, ...);
- ``enterprise:NAME``: attribute NAME of the enterprise extension;
- ``addresses[type eq "work"].SUB``: a sub-attribute of the address of that type;
- ``NAME``: a top-level attribute (Okta's core-namespace custom attributes,
  or a standard one such as ``title``).

Names match case-insensitively, as everywhere in SCIM.
"""

from __future__ import annotations

import re

from models import value_aliases
from models.normalize import normalize_region, parse_tags

ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"

INPUTS = ("state", "country", "location", "role", "training_tags", "department")

WORK = 'addresses[type eq "work"]'

# The defaults cover every IdP Herd is set up with (docs/idp-*.md). ``title`` is
# deliberately not a role source: a job title ("Engineering Manager") says what
# someone does, not whether they supervise anyone, and reading it as a role would
# flag every learner whose title is not literally "supervisor" in the audit trail.
DEFAULT_MAPPING: dict[str, list[str]] = {
    "state": ["extension:state", "state", f"{WORK}.region"],
    "country": ["extension:country", "country", f"{WORK}.country"],
    "location": ["extension:location", "enterprise:location", "location", f"{WORK}.locality"],
    "role": ["extension:learnerRole", "easyllamaRole", "learnerRole", "extension:easyllamaRole"],
    "training_tags": ["extension:training_tags", "training_tags"],
    "department": ["extension:department", "enterprise:department", "department"],
}

_NAME = r"[A-Za-z_$][A-Za-z0-9_$\-]*"
_SOURCE = re.compile(
    rf"^(?:(?P<scope>extension|enterprise):(?P<ext>{_NAME})"
    rf'|(?P<multi>addresses|emails|phoneNumbers)\[type eq "(?P<type>[A-Za-z0-9_\-]+)"\]\.(?P<sub>{_NAME})'
    rf"|(?P<top>{_NAME}))$",
    re.IGNORECASE,
)


class MappingError(ValueError):
    """A mapping an admin typed that Herd cannot use; the message says what to fix."""


def parse_source(text: str) -> tuple:
    """A source string -> a tuple the reader understands; MappingError if malformed."""
    match = _SOURCE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise MappingError(
            f"'{text}' is not a source: write extension:NAME, enterprise:NAME, "
            'addresses[type eq "work"].NAME or a top-level attribute NAME.'
        )
    if match["scope"]:
        return (match["scope"].lower(), match["ext"].lower())
    if match["multi"]:
        return ("multi", match["multi"].lower(), match["type"].lower(), match["sub"].lower())
    return ("top", match["top"].lower())


def validate(mapping) -> dict[str, list[str]]:
    """A complete, checked mapping: unknown inputs and malformed sources are refused.

    Inputs left out keep their defaults; an empty list means "never read this input".
    """
    if not isinstance(mapping, dict):
        raise MappingError("The mapping must be an object of input -> list of sources.")
    unknown = sorted(set(mapping) - set(INPUTS))
    if unknown:
        raise MappingError(f"Unknown input(s) {', '.join(unknown)}: the inputs are {', '.join(INPUTS)}.")
    out = {}
    for name in INPUTS:
        sources = mapping.get(name, DEFAULT_MAPPING[name])
        if not isinstance(sources, list) or len(sources) > 20:
            raise MappingError(f"'{name}' must be a list of at most 20 sources.")
        for source in sources:
            parse_source(source)
        out[name] = [s.strip() for s in sources]
    return out


def effective(mapping) -> dict[str, list[str]]:
    """The company's stored mapping (None means the defaults) with defaults for missing inputs."""
    if not mapping:
        return DEFAULT_MAPPING
    return {name: mapping.get(name, DEFAULT_MAPPING[name]) for name in INPUTS}


_PARSED: dict[str, tuple] = {}


def _parsed(source: str) -> tuple:
    # Sources are few and repeat for every learner: parse each once per process.
    key = _PARSED.get(source)
    if key is None:
        key = _PARSED[source] = parse_source(source)
    return key


def _index(doc: dict):
    """Lower-cased views of the document's top level, learner extension and enterprise extension."""
    top, learner, enterprise = {}, {}, {}
    for key, value in doc.items():
        lower = key.lower()
        if lower.startswith("urn:"):
            if not isinstance(value, dict):
                continue
            target = enterprise if lower == ENTERPRISE_URN else learner
            for sub, sub_value in value.items():
                target.setdefault(sub.lower(), sub_value)
        else:
            top[lower] = value
    return top, learner, enterprise


def _present(value) -> bool:
    return value not in (None, "", [], {})


def _read(parsed: tuple, top: dict, learner: dict, enterprise: dict):
    kind = parsed[0]
    if kind == "extension":
        return learner.get(parsed[1])
    if kind == "enterprise":
        return enterprise.get(parsed[1])
    if kind == "top":
        return top.get(parsed[1])
    _, attr, wanted, sub = parsed
    for element in top.get(attr) or ():
        if isinstance(element, dict):
            element = {k.lower(): v for k, v in element.items()}
            if str(element.get("type", "")).lower() == wanted and _present(element.get(sub)):
                return element[sub]
    return None


def resolve(doc: dict, mapping=None) -> tuple[dict, dict]:
    """``(values, sources)``: each input's raw value and the source that gave it (None if none did)."""
    top, learner, enterprise = _index(doc)
    values, sources = {}, {}
    for name, candidates in effective(mapping).items():
        values[name] = sources[name] = None
        for source in candidates:
            value = _read(_parsed(source), top, learner, enterprise)
            if _present(value):
                values[name], sources[name] = value, source
                break
    return values, sources


def _text(value, limit=300):
    """A single text value for a column: numbers as text, a list as its first item, cut to the column."""
    if isinstance(value, list):
        value = next((v for v in value if _present(v)), None)
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return None
    return str(value)[:limit]


def text_values(values: dict, aliases: dict) -> dict:
    """The raw state, country and role as text, each replaced by the company's alias if it has one."""
    return {
        "state": value_aliases.apply(aliases, "state", _text(values["state"])),
        "country": value_aliases.apply(aliases, "country", _text(values["country"])),
        "role": value_aliases.apply(aliases, "role", _text(values["role"], 100)),
    }


def tag_codes(value, aliases: dict) -> list[str]:
    """The training codes of a raw training_tags value, aliases applied ([] when unreadable)."""
    try:
        codes = parse_tags(value if isinstance(value, (str, list)) else _text(value))
    except ValueError:
        return []
    return value_aliases.apply_tags(aliases, codes)


def extract(doc: dict, mapping=None) -> dict:
    """The learner columns Smart Assign reads, computed from a stored document with a mapping
    (and the company's value aliases it carries)."""
    values, sources = resolve(doc, mapping)
    aliases = value_aliases.of(mapping)
    text = text_values(values, aliases)
    region, country = normalize_region(text["state"], text["country"])
    return {
        "region": region,
        "country": country,
        "location": _text(values["location"]),
        "role": text["role"],
        "training_tags": tag_codes(values["training_tags"], aliases),
        "department": _text(values["department"]),
        "attribute_sources": {k: v for k, v in sources.items() if v is not None},
    }


def apply_to(learner, mapping=None) -> None:
    """Refresh a learner's extracted Smart Assign columns from its stored document."""
    for column, value in extract(learner.resource or {}, mapping).items():
        setattr(learner, column, value)
