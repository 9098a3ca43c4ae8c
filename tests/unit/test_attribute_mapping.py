"""Where Smart Assign reads its inputs: the default sources cover every IdP, in order; a
company's own mapping overrides them; malformed mappings are refused with what to fix."""

import pytest

from models.attribute_mapping import DEFAULT_MAPPING, MappingError, extract, resolve, validate

ENTRA_EXT = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
OKTA_EXT = "urn:ietf:params:scim:schemas:extension:easyllama:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_entra_learner_extension_under_any_urn():
    doc = {"userName": "a", ENTRA_EXT: {"State": "California", "learnerRole": "supervisor", "training_tags": "CYBER"}}
    got = extract(doc)
    assert (got["region"], got["country"], got["role"], got["training_tags"]) == (
        "US-CA",
        "US",
        "supervisor",
        ["CYBER"],
    )
    assert got["attribute_sources"] == {
        "state": "extension:state",
        "role": "extension:learnerRole",
        "training_tags": "extension:training_tags",
    }
    assert extract({"userName": "a", OKTA_EXT: {"learnerRole": "supervisor"}})["role"] == "supervisor"


def test_okta_top_level_names():
    doc = {"userName": "a", "easyllamaRole": "supervisor", "state": "IL", "training_tags": ["hipaa", "ABAC"]}
    got = extract(doc)
    assert (got["region"], got["role"], got["training_tags"]) == ("US-IL", "supervisor", ["HIPAA", "ABAC"])
    assert extract({"userName": "a", "LearnerRole": "non-supervisor"})["role"] == "non-supervisor"


def test_work_address_not_home_and_enterprise_department():
    doc = {
        "userName": "a",
        "addresses": [
            {"type": "home", "region": "CA", "country": "US", "locality": "San Jose"},
            {"type": "Work", "region": "Illinois", "country": "USA", "locality": "Chicago"},
        ],
        ENTERPRISE: {"department": "Ops"},
    }
    got = extract(doc)
    assert (got["region"], got["location"], got["department"]) == ("US-IL", "Chicago", "Ops")
    assert got["attribute_sources"]["location"] == 'addresses[type eq "work"].locality'


def test_first_source_with_a_value_wins():
    doc = {"userName": "a", "state": "NY", ENTRA_EXT: {"state": ""}, "addresses": [{"type": "work", "region": "CA"}]}
    values, sources = resolve(doc)
    assert values["state"] == "NY" and sources["state"] == "state"


def test_title_is_not_a_default_role_source_but_a_company_can_choose_it():
    doc = {"userName": "a", "title": "Supervisor"}
    assert extract(doc)["role"] is None
    assert extract(doc, {"role": ["title"]})["role"] == "Supervisor"
    assert "title" not in DEFAULT_MAPPING["role"]


def test_an_empty_list_means_the_input_is_not_read():
    assert extract({"userName": "a", "state": "CA"}, {"state": []})["region"] is None


@pytest.mark.parametrize(
    "mapping,message",
    [
        ({"rank": ["title"]}, "Unknown input(s) rank"),
        ({"role": "title"}, "must be a list"),
        ({"role": ["addresses[type eq work].region"]}, "is not a source"),
        ({"role": ["extension:"]}, "is not a source"),
        ({"state": ['addresses[type eq "work"].region', "bad name!"]}, "'bad name!' is not a source"),
    ],
)
def test_malformed_mappings_are_refused_with_what_to_fix(mapping, message):
    with pytest.raises(MappingError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        validate(mapping)


def test_validate_fills_in_the_defaults():
    assert validate({"role": ["title"]}) == {**DEFAULT_MAPPING, "role": ["title"]}
