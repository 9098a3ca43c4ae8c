"""Why Smart Assign could not read a learner, per input (pure, no I/O).

One learner's stored SCIM document, read through the company's attribute mapping
and value aliases, gives for each input Smart Assign needs (state, country, role,
training tags) one of:

- ``resolved``: a value was read and recognised (a state is not needed outside
  the US, so a learner in Canada with no state is resolved);
- ``missing``: no source of the mapping had a value: the IdP sent nothing;
- ``unrecognised``: a source had a value Herd does not know ("Calif.", "Mgr",
  an undefined tag), kept with the source that gave it.

Each problem says what the learner got instead. The dashboard's learner page
shows one learner's diagnosis; the Smart Assign doctor
(``service/reports/smart_assign_coverage.py``) counts them over a company.
"""

from __future__ import annotations

from dataclasses import dataclass

from models import catalog as cat
from models import value_aliases
from models.attribute_mapping import ENTERPRISE_URN, resolve, tag_codes, text_values
from models.normalize import normalize_country, normalize_region, normalize_role

INPUTS = ("state", "country", "role", "training_tags")
RESOLVED, MISSING, UNRECOGNISED = "resolved", "missing", "unrecognised"


@dataclass(frozen=True)
class Finding:
    """One input Smart Assign could not use, and what the learner got instead."""

    input: str
    status: str  # missing | unrecognised
    value: str | None  # the value as sent (None when nothing was sent)
    source: str | None  # where in the document it was: "urn:...:CustomExtensionName:2.0:User:state"
    instead: str


@dataclass(frozen=True)
class Diagnosis:
    """A learner's Smart Assign inputs: each input's status, and the findings to fix."""

    status: dict  # input -> resolved | missing | unrecognised
    findings: tuple[Finding, ...]
    region: str | None
    country: str | None

    @property
    def complete(self) -> bool:
        """True when every input Smart Assign needs was read and recognised."""
        return not self.findings


def _course(country: str | None, supervisor: bool) -> str:
    """The harassment-prevention course a learner without a usable state gets."""
    audience = "SUP" if supervisor else "EMP"
    if country == "US":
        return f"HP-{cat.US_GENERIC}-{audience} (the generic US course)"
    region = cat.HP_COUNTRIES.get(country or "")
    if region:
        return f"HP-{region}-{audience}"
    return f"HP-{cat.GLOBAL_FALLBACK}-{audience} (the global course)"


def origin(doc: dict, source: str | None) -> str | None:
    """Where a mapping source's value sits in the document as the IdP sent it: an extension
    source becomes the attribute's full URN path (``urn:...:CustomExtensionName:2.0:User:state``)."""
    if source is None or ":" not in source or source.startswith("addresses"):
        return source
    scope, name = source.split(":", 1)
    for key, value in doc.items():
        lower = key.lower()
        if not (lower.startswith("urn:") and isinstance(value, dict)):
            continue
        if (lower == ENTERPRISE_URN) != (scope.lower() == "enterprise"):
            continue
        for sub in value:
            if sub.lower() == name.lower():
                return f"{key}:{sub}"
    return source


def diagnose(doc: dict, mapping=None, known_codes=None) -> Diagnosis:
    """Diagnose one learner's document; ``known_codes`` are the company's training codes
    (None: the default catalog's)."""
    if known_codes is None:
        known_codes = set(cat.by_code())
    doc = doc or {}
    values, sources = resolve(doc, mapping)
    aliases = value_aliases.of(mapping)
    text = text_values(values, aliases)
    region, country = normalize_region(text["state"], text["country"])
    role = normalize_role(text["role"])
    supervisor = role == "supervisor"
    status, findings = {}, []

    def problem(name, state, instead):
        status[name] = state
        raw = values[name] if state == UNRECOGNISED else None
        shown = raw if raw is None or isinstance(raw, str) else str(raw)
        findings.append(Finding(name, state, shown, origin(doc, sources[name]) if raw is not None else None, instead))

    # Country first: a state can stand in for it ("CA" alone is California, so US).
    if text["country"] is not None and normalize_country(text["country"]) is None:
        problem("country", UNRECOGNISED, f"{country} from the state" if country else _course(None, supervisor))
    elif country is None:
        problem("country", MISSING, _course(None, supervisor))
    else:
        status["country"] = RESOLVED

    if region is not None or (country is not None and country != "US"):
        status["state"] = RESOLVED
    elif text["state"] is None:
        problem("state", MISSING, _course(country, supervisor))
    else:
        problem("state", UNRECOGNISED, _course(country, supervisor))

    if role != "other":
        status["role"] = RESOLVED
    elif text["role"] is None:
        problem("role", MISSING, "the non-supervisor version")
    else:
        problem("role", UNRECOGNISED, "the non-supervisor version")

    status["training_tags"] = RESOLVED
    for code in tag_codes(values["training_tags"], aliases):
        if code not in known_codes:
            status["training_tags"] = UNRECOGNISED
            findings.append(
                Finding(
                    "training_tags", UNRECOGNISED, code, origin(doc, sources["training_tags"]), "nothing for this tag"
                )
            )
    return Diagnosis(status, tuple(findings), region, country)
