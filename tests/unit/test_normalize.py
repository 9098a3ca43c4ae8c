"""Normalization of the free-text values HR systems send (models.normalize)."""

import pytest

from models.normalize import (
    normalize_country,
    normalize_region,
    normalize_role,
    parse_bool,
    parse_tags,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("United States", "US"),
        ("United States of America", "US"),
        ("USA", "US"),
        ("US", "US"),
        ("us", "US"),
        ("U.S.A.", "US"),
        ("U.S.", "US"),
        ("  usa ", "US"),
        ("Canada", "CA"),
        ("CA", "CA"),  # as a country, CA is Canada
        ("CAN", "CA"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("Great Britain", "GB"),
        ("England", "GB"),
        ("Scotland", "GB"),
        ("Deutschland", "DE"),
        ("Germany", "DE"),
        ("España", "ES"),
        ("Espana", "ES"),
        ("Österreich", "AT"),
        ("The Netherlands", "NL"),
        ("Holland", "NL"),
        ("Mexico", "MX"),
        ("México", "MX"),
        ("South Korea", "KR"),
        ("Vietnam", "VN"),
        ("Côte d'Ivoire", "CI"),
        ("Puerto Rico", "PR"),
    ],
)
def test_normalize_country_known(text, expected):
    assert normalize_country(text) == expected


@pytest.mark.parametrize("text", ["Narnia", "", "   ", None, 840, "Chicago", "Europe"])
def test_normalize_country_unknown_is_none(text):
    assert normalize_country(text) is None


@pytest.mark.parametrize(
    "state, country, expected",
    [
        ("California", "US", ("US-CA", "US")),
        ("California", None, ("US-CA", "US")),
        ("CA", "US", ("US-CA", "US")),
        ("ca", "United States", ("US-CA", "US")),
        ("CA", None, ("US-CA", "US")),  # as a state, CA is California
        ("CA", "", ("US-CA", "US")),
        ("New York", None, ("US-NY", "US")),
        ("US-NY", None, ("US-NY", "US")),
        ("us-ny", "USA", ("US-NY", "US")),
        ("Ontario", "Canada", ("CA-ON", "CA")),
        ("ON", "Canada", ("CA-ON", "CA")),
        ("ON", "CA", ("CA-ON", "CA")),
        ("Québec", "Canada", ("CA-QC", "CA")),
        ("Ontario", None, ("CA-ON", "CA")),  # unique worldwide
        ("CA-ON", None, ("CA-ON", "CA")),
        ("England", "UK", ("GB-ENG", "GB")),
        ("Wales", "United Kingdom", ("GB-WLS", "GB")),
        ("Bayern", "Deutschland", ("DE-BY", "DE")),
        ("District of Columbia", None, ("US-DC", "US")),
        ("Georgia", None, ("US-GA", "US")),  # the US reading wins without a country
        ("Texas", "Untied States", ("US-TX", "US")),  # unrecognized country: the state decides
    ],
)
def test_normalize_region(state, country, expected):
    assert normalize_region(state, country) == expected


@pytest.mark.parametrize(
    "state, country, expected",
    [
        (None, "US", (None, "US")),
        ("", "Canada", (None, "CA")),
        (None, None, (None, None)),
        ("Narnia", None, (None, None)),
        ("Limburg", None, (None, None)),  # Belgium and the Netherlands both have one
        ("CA", "CA", (None, "CA")),  # Canada has no province "CA"; the country is kept
        ("US-CA", "Canada", (None, "CA")),  # a state from another country is dropped
        ("Ontario", "US", (None, "US")),
    ],
)
def test_normalize_region_unresolved_state(state, country, expected):
    assert normalize_region(state, country) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        (True, True),
        (False, False),
        ("true", True),
        ("false", False),
        ("True", True),
        ("False", False),
        ("TRUE", True),
        ("fAlSe", False),
    ],
)
def test_parse_bool(value, expected):
    assert parse_bool(value) is expected


@pytest.mark.parametrize("value", [1, 0, None, "yes", "", " true", "1", "t", 1.0])
def test_parse_bool_rejects_anything_else(value):
    with pytest.raises(ValueError):
        parse_bool(value)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("CYBER, hipaa,,CYBER", ["CYBER", "HIPAA"]),
        ("  abac ", ["ABAC"]),
        ("HP-CA-SUP,cyber", ["HP-CA-SUP", "CYBER"]),
        (None, []),
        ("", []),
        (" , ,", []),
        (["cyber", "HIPAA,abac", "CYBER"], ["CYBER", "HIPAA", "ABAC"]),
    ],
)
def test_parse_tags(text, expected):
    assert parse_tags(text) == expected


def test_parse_tags_rejects_non_strings():
    with pytest.raises(ValueError):
        parse_tags([1, 2])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("supervisor", "supervisor"),
        ("Supervisor", "supervisor"),
        ("SUPERVISOR", "supervisor"),
        (" supervisor ", "supervisor"),
        ("non-supervisor", "non-supervisor"),
        ("Non-Supervisor", "non-supervisor"),
        ("non supervisor", "non-supervisor"),
        ("nonsupervisor", "non-supervisor"),
        ("non_supervisor", "non-supervisor"),
        ("employee", "non-supervisor"),
        ("Employee", "non-supervisor"),
        ("manager", "other"),
        ("", "other"),
        (None, "other"),
    ],
)
def test_normalize_role(text, expected):
    assert normalize_role(text) == expected


def test_a_web_worker_builds_the_location_indexes_before_it_serves(monkeypatch, tmp_path):
    """Else the first write a worker serves pays for building pycountry's indexes (0.2 s of CPU)."""
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    from models import normalize

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the config makes none of its own
    config = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
    normalize._countries.cache_clear()
    normalize._subdivisions.cache_clear()
    config["post_worker_init"](SimpleNamespace(cfg=SimpleNamespace(worker_class_str="sync")))
    assert normalize._countries.cache_info().currsize == 1
    assert normalize._subdivisions.cache_info().currsize == 1
    misses = normalize._subdivisions.cache_info().misses
    assert normalize.normalize_region("California", "US") == ("US-CA", "US")
    assert normalize._subdivisions.cache_info().misses == misses  # the lookup built nothing
