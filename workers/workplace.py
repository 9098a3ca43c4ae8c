"""Where a learner works, for Smart Assign: country, US state and the cities with overlays.

HR systems send free text ("Chicago, IL 60601", "Brooklyn, NY", "NYC"); this module
reads the overlay city out of it, reconciles it with the normalized region and
country, and picks the harassment-prevention region whose course version applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models import catalog as cat
from models.catalog import Training

CHICAGO = "CHICAGO"
NYC = "NYC"


@dataclass(frozen=True)
class Place:
    """Where the learner works: country (ISO 3166-1), US state suffix ("CA"), overlay city."""

    country: str | None
    state: str | None  # US state suffix, "CA"
    city: str | None  # CHICAGO | NYC


_CITY_NAMES = {
    "chicago": CHICAGO,
    "city of chicago": CHICAGO,
    "new york": NYC,
    "new york city": NYC,
    "nyc": NYC,
    "city of new york": NYC,
    "manhattan": NYC,
    "brooklyn": NYC,
    "queens": NYC,
    "bronx": NYC,
    "the bronx": NYC,
    "staten island": NYC,
}
_CITY_STATE = {CHICAGO: "IL", NYC: "NY"}
_STATE_HINTS = {"IL": ("il", "illinois"), "NY": ("ny", "nys", "new york")}
_COUNTRY_HINTS = ("us", "usa", "united states", "united states of america")


def city_of(location) -> str | None:
    """Recognize the cities with overlays in a free-text location: "CHICAGO", "NYC" or None.

    Accepts "Chicago", "Chicago, IL", "Chicago IL 60601, USA", "NYC",
    "New York City", "Brooklyn, NY". A qualifier naming another place
    ("Brooklyn, Michigan") means it is not the city.
    """
    if not isinstance(location, str):
        return None
    # Fold case and punctuation and drop ZIP codes: "Chicago, IL 60601." -> ["chicago", "il"].
    parts = [
        " ".join(w for w in re.sub(r"[^a-z0-9]+", " ", p.casefold().replace(".", "")).split() if not w.isdigit())
        for p in location.split(",")
    ]
    head, qualifiers = parts[0], [p for p in parts[1:] if p]
    city = _CITY_NAMES.get(head)
    if city is None:  # "Chicago IL": the state rides in the same part
        for name, candidate in _CITY_NAMES.items():
            hints = _STATE_HINTS[_CITY_STATE[candidate]]
            if any(head == f"{name} {hint}" for hint in hints):
                city = candidate
                break
    if city is None:
        return None
    allowed = _STATE_HINTS[_CITY_STATE[city]] + _COUNTRY_HINTS
    if any(qualifier not in allowed for qualifier in qualifiers):
        return None
    return city


def place(region: str | None, country: str | None, location) -> Place:
    """Work out country, US state and overlay city; the state wins over a contradicting city."""
    region = region or None
    country = country or (region.split("-", 1)[0] if region else None)
    state = None
    if country == "US" and region and region.startswith("US-"):
        state = region[3:]
    if country in cat.US_TERRITORIES:
        country, state = "US", None
    city = city_of(location)
    if city is not None:
        city_state = _CITY_STATE[city]
        if country in (None, "US") and state in (None, city_state):
            country, state = "US", city_state  # "NYC" alone places the learner in NY
        else:
            city = None  # a city in another state than the one sent: trust the state
    return Place(country, state, city)


def hp_region_of(place: Place, supervisor: bool, index: dict[str, Training]) -> str:
    """The harassment-prevention region key for a place: a state or country with its own version, else a fallback."""
    suffix = "SUP" if supervisor else "EMP"
    if place.country == "US":
        if place.state and f"HP-{place.state}-{suffix}" in index:
            return place.state
        return cat.US_GENERIC
    region = cat.HP_COUNTRIES.get(place.country or "")
    if region and f"HP-{region}-{suffix}" in index:
        return region
    return cat.GLOBAL_FALLBACK
