"""One learner's Smart Assign diagnosis (models/diagnosis.py): what is missing, what is not
recognised and from where, and what the learner got instead."""

import pytest

from models import value_aliases
from models.attribute_mapping import extract
from models.diagnosis import MISSING, RESOLVED, UNRECOGNISED, diagnose

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


def entra(**ext):
    return {"userName": "a@b.c", CUSTOM: ext}


def test_a_learner_who_sent_neither_state_nor_country_sent_nothing_rather_than_something_unrecognised():
    found = diagnose(entra(learnerRole="supervisor"))
    assert found.status == {"country": MISSING, "state": MISSING, "role": RESOLVED, "training_tags": RESOLVED}
    assert [(f.input, f.status, f.value, f.source) for f in found.findings] == [
        ("country", MISSING, None, None),
        ("state", MISSING, None, None),
    ]
    assert found.findings[0].instead == "HP-GLOBAL-SUP (the global course)"


def test_an_unrecognised_state_names_its_value_its_source_and_the_course_given_instead():
    found = diagnose(entra(state="Calif.", country="US", learnerRole="Mgr", training_tags="CYBER,CYBR"))
    assert [(f.input, f.status, f.value, f.source, f.instead) for f in found.findings] == [
        ("state", UNRECOGNISED, "Calif.", f"{CUSTOM}:state", "HP-US-EMP (the generic US course)"),
        ("role", UNRECOGNISED, "Mgr", f"{CUSTOM}:learnerRole", "the non-supervisor version"),
        ("training_tags", UNRECOGNISED, "CYBR", f"{CUSTOM}:training_tags", "nothing for this tag"),
    ]
    assert not found.complete


def test_a_state_stands_in_for_an_unrecognised_country_and_outside_the_us_no_state_is_needed():
    found = diagnose({"userName": "a", "state": "Texas", "country": "Untied States", "easyllamaRole": "employee"})
    assert [(f.input, f.value, f.source, f.instead) for f in found.findings] == [
        ("country", "Untied States", "country", "US from the state")
    ]
    assert diagnose(entra(country="Canada", learnerRole="supervisor")).complete


@pytest.mark.parametrize(
    ("name", "sent", "to", "column", "expected"),
    [
        ("state", "Calif.", "US-CA", "region", "US-CA"),
        ("state", "calif", "California", "region", "US-CA"),
        ("country", "Untied States", "US", "country", "US"),
        ("role", "Mgr", "Supervisor", "role", "supervisor"),
        ("training_tags", "CYBR", "cyber", "training_tags", ["CYBER"]),
    ],
)
def test_an_alias_makes_the_value_read_as_the_known_one(name, sent, to, column, expected):
    field = {"state": "state", "country": "country", "role": "learnerRole", "training_tags": "training_tags"}[name]
    doc = entra(**{"state": "Ohio", "country": "US", "learnerRole": "supervisor", field: sent})
    mapping = value_aliases.add(None, name, sent, to)
    assert not diagnose(doc).complete
    assert diagnose(doc, mapping).complete
    assert extract(doc, mapping)[column] == expected


@pytest.mark.parametrize(
    ("name", "to"), [("state", "Atlantis"), ("country", "Narnia"), ("role", "boss"), ("training_tags", "A,B")]
)
def test_an_alias_to_an_unknown_value_is_refused_with_what_to_write(name, to):
    with pytest.raises(value_aliases.AliasError):
        value_aliases.add(None, name, "x", to)


def test_removing_an_alias_leaves_the_sources_alone():
    mapping = value_aliases.add({"role": ["title"]}, "role", "Mgr", "supervisor")
    assert value_aliases.remove(mapping, "role", "MGR") == {"role": ["title"]}
