"""Attribute path parsing (RFC 7644 §3.10)."""

import pytest

from service.scim.errors import InvalidPath
from service.scim.paths import AttrPath, is_schema_urn, parse_attr_path

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("userName", AttrPath(None, "userName", None)),
        ("name.givenName", AttrPath(None, "name", "givenName")),
        ("emails.Value", AttrPath(None, "emails", "Value")),
        ("  active ", AttrPath(None, "active", None)),
        ("members.$ref", AttrPath(None, "members", "$ref")),
        ("training_tags", AttrPath(None, "training_tags", None)),
        (f"{ENTERPRISE}:manager.value", AttrPath(ENTERPRISE, "manager", "value")),
        (f"{ENTERPRISE}:employeeNumber", AttrPath(ENTERPRISE, "employeeNumber", None)),
        (f"{CUSTOM}:state", AttrPath(CUSTOM, "state", None)),
        (f"{CORE}:name.familyName", AttrPath(CORE, "name", "familyName")),
        ("URN:Foo:Bar:x", AttrPath("URN:Foo:Bar", "x", None)),
    ],
)
def test_parse(text, expected):
    assert parse_attr_path(text) == expected


def test_key_is_case_insensitive():
    a = parse_attr_path(f"{ENTERPRISE}:Manager.Value")
    b = parse_attr_path(f"{ENTERPRISE.upper()}:manager.value")
    assert a != b  # spelling is kept as written...
    assert a.key() == b.key() == (ENTERPRISE.lower(), "manager", "value")  # ...lookups ignore case
    assert parse_attr_path("userName").key() == (None, "username", None)


def test_helpers():
    path = parse_attr_path(f"{CORE}:name.givenName")
    assert path.is_core
    assert path.parent == AttrPath(CORE, "name", None)
    assert str(path) == f"{CORE}:name.givenName"
    assert not parse_attr_path(f"{CUSTOM}:state").is_core
    assert parse_attr_path("emails").with_sub("value") == AttrPath(None, "emails", "value")
    assert str(parse_attr_path("emails.value")) == "emails.value"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a.b.c", "more than one '.'"),
        ("name.", "not a valid attribute name"),
        (".name", "not a valid attribute name"),
        ("user name", "not a valid attribute name"),
        ("1abc", "not a valid attribute name"),
        ("emails[type]", "not a valid attribute name"),
        (ENTERPRISE, "names a schema"),
        ("urn:", "not a valid schema URN"),
        (f"{ENTERPRISE}:", "(empty)"),
    ],
)
def test_invalid(text, fragment):
    with pytest.raises(InvalidPath) as info:
        parse_attr_path(text)
    assert fragment in info.value.detail
    assert info.value.detail.startswith("Invalid path: ")
    assert info.value.scim_type == "invalidPath"


def test_not_a_string():
    with pytest.raises(InvalidPath):
        parse_attr_path(None)


@pytest.mark.parametrize(
    "text, expected",
    [
        (ENTERPRISE, True),
        (CUSTOM, True),
        (CORE, True),
        ("urn:ietf:params:scim:schemas:core:2.0:group", True),
        ("URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:FOO:2.0:USER", True),
        (f"{ENTERPRISE}:manager", False),
        ("userName", False),
        ("urn:foo:1.0:User", False),
        (None, False),
    ],
)
def test_is_schema_urn(text, expected):
    assert is_schema_urn(text) is expected
