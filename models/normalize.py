"""Normalize the free-text values HR systems send over SCIM (pure, no I/O).

Herd keeps what the IdP sent (so read-back is exact) and stores these
normalized forms next to it for Smart Assign: ISO 3166-1 alpha-2 countries,
ISO 3166-2 subdivisions, booleans, training-tag codes and learner roles.

pycountry costs ~50 ms to import and ~40 ms to load subdivisions, so it is
imported and indexed lazily, once per process, on the first lookup (web workers
build the indexes before they serve: ``load_indexes``); importing this module
stays free for processes that never normalize a location.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Names pycountry does not carry that HR systems do send. Constituent
# countries of the UK map to GB because ISO 3166-1 has no code for them.
_COUNTRY_ALIASES = {
    "america": "US",
    "united states of america": "US",
    "usa": "US",
    "us": "US",
    "uk": "GB",
    "britain": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "holland": "NL",
    "south korea": "KR",
    "korea": "KR",
    "north korea": "KP",
    "russia": "RU",
    "turkey": "TR",
    "czech republic": "CZ",
    "uae": "AE",
    "ivory coast": "CI",
}

# Languages whose country names are indexed too (best effort for HR data
# entered in the local language: "Deutschland", "España", "Österreich").
# English names are indexed first and win any collision.
_NAME_LANGUAGES = ("de", "fr", "es", "it", "pt", "nl", "sv", "da", "nb_NO", "fi", "pl")

_ROLE_SUPERVISOR = {"supervisor"}
_ROLE_NON_SUPERVISOR = {"nonsupervisor", "employee"}


def _key(text: str) -> str:
    """Fold text to a lookup key: no accents, case, dots or punctuation.

    "U.S.A." -> "usa", "Côte d'Ivoire" -> "cote divoire", "The Bahamas" -> "bahamas".
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    # Dots and apostrophes join what they separate ("U.S." is one token).
    text = re.sub(r"[.'’]", "", text)
    text = re.sub(r"[^0-9a-z]+", " ", text).strip()
    if text.startswith("the "):
        text = text[4:]
    # "U S A" (spaced initials) reads as "usa".
    words = text.split()
    if len(words) > 1 and all(len(w) == 1 for w in words):
        text = "".join(words)
    return text


def fold(text: str) -> str:
    """The lookup key of a free-text value (``_key``): "Calif." and "calif" are one key."""
    return _key(text)


def _clean_name(name: str) -> str:
    """Drop pycountry's bracketed notes: "Wales [Cymru GB-CYM]" -> "Wales"."""
    return name.split(" [", 1)[0]


@functools.cache
def _countries() -> dict[str, str]:
    """Index every country by codes, names and translated names -> alpha-2."""
    import gettext

    import pycountry

    index: dict[str, str] = {}
    for country in pycountry.countries:
        for value in (
            country.alpha_2,
            country.alpha_3,
            country.name,
            getattr(country, "common_name", None),
            getattr(country, "official_name", None),
        ):
            if value:
                index.setdefault(_key(value), country.alpha_2)
    for alias, code in _COUNTRY_ALIASES.items():
        index.setdefault(alias, code)
    for language in _NAME_LANGUAGES:
        try:
            translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        except OSError:  # a locale missing from this pycountry build: skip it
            continue
        for country in pycountry.countries:
            for value in (country.name, getattr(country, "common_name", None)):
                if value:
                    index.setdefault(_key(translation.gettext(value)), country.alpha_2)
    index.pop("", None)
    return index


@functools.cache
def _subdivisions() -> tuple[dict[str, dict[str, str]], dict[str, set[str]]]:
    """Index subdivisions per country (by code, code suffix, name) and by name alone.

    Returns ``(per_country, by_name)``: ``per_country["US"]["california"] ==
    "US-CA"``; ``by_name["ontario"] == {"CA-ON"}`` for inputs without a country.
    Top-level subdivisions are indexed first, so they win a name shared with
    a lower-level one.
    """
    import pycountry

    per_country: dict[str, dict[str, str]] = {}
    by_name: dict[str, set[str]] = {}
    subdivisions = sorted(pycountry.subdivisions, key=lambda s: s.parent_code is not None)
    for sub in subdivisions:
        index = per_country.setdefault(sub.country_code, {})
        suffix = sub.code.split("-", 1)[1]
        for value in (sub.code, suffix, _clean_name(sub.name)):
            index.setdefault(_key(value), sub.code)
        by_name.setdefault(_key(_clean_name(sub.name)), set()).add(sub.code)
    return per_country, by_name


def load_indexes() -> None:
    """Build the country and subdivision indexes now, not on the first lookup (a web worker
    calls this before it serves, so no IdP call waits for it)."""
    _countries()
    _subdivisions()


def normalize_country(text) -> str | None:
    """Return the ISO 3166-1 alpha-2 code for a country name or code, else None.

    Accepts codes ("US", "usa"), English, common and official names, a few
    colloquial names ("UK", "England", "Holland") and names in major European
    languages ("Deutschland"). "CA" is Canada here: as a country it can mean
    nothing else.
    """
    if not isinstance(text, str):
        return None
    key = _key(text)
    return _countries().get(key) if key else None


def normalize_region(state_text, country_text) -> tuple[str | None, str | None]:
    """Return ``(ISO 3166-2 subdivision or None, ISO 3166-1 alpha-2 or None)``.

    - With a recognized country, the state is looked up in that country only
      (code "ON", full code "CA-ON" or name "Ontario"); a state that does not
      exist there is dropped and the country kept, since the country field is
      the stronger signal ("CA"/"CA" gives ``(None, "CA")``: Canada has no
      province "CA").
    - Without a country (missing or unrecognized), a US state code or name
      implies the US: "CA" is California, "New York" is US-NY. A full code
      ("CA-ON") gives its own country; a subdivision name unique worldwide
      ("Ontario") is accepted too; an ambiguous name ("Limburg") is not.
    """
    country = normalize_country(country_text)
    state_key = _key(state_text) if isinstance(state_text, str) else ""
    if not state_key:
        return None, country
    per_country, by_name = _subdivisions()
    if country is not None:
        code = per_country.get(country, {}).get(state_key)
        return (code, country) if code else (None, country)
    # No usable country: US first, because the spec reads "CA" as California.
    code = per_country["US"].get(state_key)
    if code is None:
        code = _full_code(state_text, per_country)
    if code is None:
        candidates = by_name.get(state_key, set())
        code = next(iter(candidates)) if len(candidates) == 1 else None
    if code is None:
        return None, None
    return code, code.split("-", 1)[0]


def _full_code(text: str, per_country: dict[str, dict[str, str]]) -> str | None:
    """Resolve an explicit ISO 3166-2 code such as "ca-on" or "GB-ENG", else None."""
    match = re.fullmatch(r"\s*([A-Za-z]{2})\s*-\s*([A-Za-z0-9]{1,3})\s*", text)
    if not match:
        return None
    country, suffix = match.group(1).upper(), match.group(2).upper()
    code = f"{country}-{suffix}"
    return code if per_country.get(country, {}).get(_key(code)) == code else None


def parse_bool(value) -> bool:
    """Parse a SCIM boolean: True/False or the strings "true"/"false" in any case.

    Entra sends ``active`` as a JSON boolean or as "True"/"False" strings.
    Anything else (1, "yes", None, " true") raises ValueError, so the caller
    can answer a SCIM invalidValue error instead of guessing.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        folded = value.casefold()
        if folded == "true":
            return True
        if folded == "false":
            return False
    raise ValueError(f"not a boolean: {value!r}")


def parse_tags(text) -> list[str]:
    """Split comma-separated training codes into upper-case codes, order kept, deduplicated.

    "CYBER, hipaa,,CYBER" -> ["CYBER", "HIPAA"]; None or "" -> []. A list of
    strings (as some IdPs send multi-valued attributes) is accepted too, each
    item itself possibly comma-separated.
    """
    if text is None:
        return []
    items = [text] if isinstance(text, str) else list(text)
    codes: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"training tag is not a string: {item!r}")
        for part in item.split(","):
            code = part.strip().upper()
            if code and code not in codes:
                codes.append(code)
    return codes


def normalize_role(text) -> str:
    """Map a learnerRole to "supervisor", "non-supervisor" or "other".

    Case, spaces, hyphens and underscores are ignored ("Non Supervisor",
    "non_supervisor"); "employee" counts as non-supervisor. Anything else,
    including a missing role, is "other": Smart Assign treats it as
    non-supervisor and flags it, and the raw value is stored elsewhere.
    """
    if not isinstance(text, str):
        return "other"
    folded = re.sub(r"[\s_\-]+", "", text.casefold())
    if folded in _ROLE_SUPERVISOR:
        return "supervisor"
    if folded in _ROLE_NON_SUPERVISOR:
        return "non-supervisor"
    return "other"


def name_key(text: str) -> str:
    """The comparison key of a userName or group displayName: NFC, case folded, NFC again.

    Names that read the same (NFC and NFD ``josé``, ``JOSÉ``, ``Straße`` and
    ``STRASSE``) have one key, so they are one learner (or group); the name
    itself is stored and returned exactly as sent. The unique indexes are on
    this key (migration 0006).
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


def key_default(source_column):
    """A SQLAlchemy column default: the ``name_key`` of another column of the same INSERT."""

    def default(context):
        value = context.get_current_parameters().get(source_column)
        return name_key(value) if isinstance(value, str) else None

    return default


@functools.lru_cache(maxsize=512)
def place_name(code) -> str | None:
    """The ISO 3166 name of a region ("US-CA" -> "California") or country ("CA" -> "Canada"), else None."""
    if not isinstance(code, str) or not code:
        return None
    import pycountry

    try:
        found = pycountry.subdivisions.get(code=code) if "-" in code else pycountry.countries.get(alpha_2=code)
    except (KeyError, LookupError):
        return None
    return _clean_name(found.name) if found is not None else None
