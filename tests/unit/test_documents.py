"""copy_document: every write's private copy of a stored document."""

from service.scim.documents import copy_document


def test_a_copy_is_equal_and_shares_no_container_with_the_original():
    original = {
        "userName": "jo@example.com",
        "active": True,
        "emails": [{"type": "work", "value": "jo@example.com", "primary": True}],
        "urn:example:learner": {"state": "CA", "tags": ["osha", "hipaa"], "level": 3, "ratio": 0.5, "none": None},
    }
    copy = copy_document(original)
    assert copy == original
    copy["emails"][0]["value"] = "kim@example.com"
    copy["emails"].append({"type": "home", "value": "x@example.com"})
    copy["urn:example:learner"]["tags"].append("pci")
    copy["urn:example:learner"]["state"] = "NY"
    assert original["emails"] == [{"type": "work", "value": "jo@example.com", "primary": True}]
    assert original["urn:example:learner"] == {
        "state": "CA",
        "tags": ["osha", "hipaa"],
        "level": 3,
        "ratio": 0.5,
        "none": None,
    }


def test_lists_of_lists_and_scalars_copy_whole():
    nested = [[{"a": [1, [2, {"b": "c"}]]}], "text", 10**30]
    copy = copy_document(nested)
    assert copy == nested
    copy[0][0]["a"][1][1]["b"] = "changed"
    assert nested[0][0]["a"][1][1]["b"] == "c"
    assert copy_document("plain") == "plain" and copy_document(None) is None
