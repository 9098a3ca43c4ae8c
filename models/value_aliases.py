"""A company's value aliases: an unrecognised value an IdP sends, mapped to a known one (pure).

``Calif.`` -> ``US-CA`` (state), ``Untied States`` -> ``US`` (country), ``Mgr`` ->
``supervisor`` (role), ``CYBR`` -> ``CYBER`` (a training tag). They live in the
company's attribute mapping document under ``"aliases"`` (``{input: {key: value}}``),
so they reach every place the mapping does: each SCIM write and the company re-run
(``models/attribute_mapping.extract``). Keys are folded like every lookup
(``models.normalize.fold``): case, accents and punctuation do not matter.
"""

from __future__ import annotations

from models.normalize import fold, normalize_country, normalize_region, normalize_role

INPUTS = ("state", "country", "role", "training_tags")
MAX_PER_INPUT = 500


class AliasError(ValueError):
    """An alias Herd cannot use; the message says what to fix."""


def target(name: str, value: str) -> str:
    """The canonical form of an alias target, or AliasError when it is not a known value."""
    if name not in INPUTS:
        raise AliasError(f"Aliases exist for {', '.join(INPUTS)}, not '{name}'.")
    text = value.strip() if isinstance(value, str) else ""
    if name == "state":
        region, _ = normalize_region(text, None)
        if region is None:
            raise AliasError(f"'{value}' is not a state or province: write a code such as US-CA.")
        return region
    if name == "country":
        country = normalize_country(text)
        if country is None:
            raise AliasError(f"'{value}' is not a country: write a code such as US.")
        return country
    if name == "role":
        role = normalize_role(text)
        if role == "other":
            raise AliasError(f"'{value}' is not a role: write supervisor or non-supervisor.")
        return role
    code = text.upper()
    if not code or "," in code or len(code) > 100:
        raise AliasError(f"'{value}' is not a training code.")
    return code


def of(mapping) -> dict[str, dict[str, str]]:
    """The aliases stored in a company's mapping document (empty when none)."""
    aliases = (mapping or {}).get("aliases") if isinstance(mapping, dict) else None
    return aliases if isinstance(aliases, dict) else {}


def add(mapping, name: str, value: str, to: str) -> dict:
    """A new mapping document with the alias ``value`` -> ``to`` for input ``name``."""
    canonical = target(name, to)
    key = fold(value) if isinstance(value, str) else ""
    if not key:
        raise AliasError("The value to alias is empty.")
    aliases = {k: dict(v) for k, v in of(mapping).items()}
    table = aliases.setdefault(name, {})
    if key not in table and len(table) >= MAX_PER_INPUT:
        raise AliasError(f"At most {MAX_PER_INPUT} aliases per input.")
    table[key] = canonical
    return {**(mapping or {}), "aliases": aliases}


def remove(mapping, name: str, value: str) -> dict:
    """A new mapping document without the alias of ``value`` for input ``name``."""
    aliases = {k: dict(v) for k, v in of(mapping).items()}
    aliases.get(name, {}).pop(fold(value) if isinstance(value, str) else "", None)
    aliases = {k: v for k, v in aliases.items() if v}
    out = {k: v for k, v in (mapping or {}).items() if k != "aliases"}
    return {**out, "aliases": aliases} if aliases else out


def apply(aliases: dict, name: str, value):
    """``value`` replaced by its alias for input ``name``, else ``value`` unchanged."""
    table = aliases.get(name)
    if not table or not isinstance(value, str):
        return value
    return table.get(fold(value), value)


def apply_tags(aliases: dict, codes: list[str]) -> list[str]:
    """Parsed training codes with aliased ones replaced, order kept, deduplicated."""
    table = aliases.get("training_tags")
    if not table:
        return codes
    out: list[str] = []
    for code in codes:
        code = table.get(fold(code), code)
        if code not in out:
            out.append(code)
    return out
