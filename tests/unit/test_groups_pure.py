"""Pure parts of Groups: the net member delta, body cleaning, attribute selection, the filter resolver."""

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from service.scim.errors import InvalidFilter, InvalidValue
from service.scim.filter_sql import to_clause
from service.scim.filters import parse_filter
from service.scim.groups.memberships import MemberDelta
from service.scim.groups.resolver import GroupResolver
from service.scim.groups.schema import clean_attributes, member_ids
from service.scim.projection import normalize_names, wants


def test_delta_add_then_remove_cancels_out_and_keeps_order():
    delta = MemberDelta()
    delta.note_added(["a", "b"])
    delta.note_removed(["b", "c"])
    delta.note_added(["c", "d"])
    delta.note_ignored(["x"])
    assert delta.as_changes() == {"added": ["a", "d"], "ignored": ["x"]}
    assert delta.changed


def test_delta_with_only_ignored_ids_is_no_change_but_is_reported():
    delta = MemberDelta()
    delta.note_ignored(["ghost"])
    assert not delta.changed and delta.as_changes() == {"ignored": ["ghost"]}


def test_clean_attributes_matches_names_case_insensitively_and_drops_the_rest():
    got = clean_attributes(
        {
            "DISPLAYNAME": "Managers",
            "externalid": 42,
            "members": [],
            "schemas": ["x"],
            "description": "d",
            "urn:ietf:params:scim:schemas:core:2.0:Group:displayName": "Managers",
        }
    )
    assert got == {"displayName": "Managers", "externalId": "42"}
    assert clean_attributes({"displayName": "M", "externalId": ""}) == {"displayName": "M"}


@pytest.mark.parametrize(
    "body", [{}, {"displayName": ""}, {"displayName": "  "}, {"displayName": True}, {"displayName": "x" * 301}]
)
def test_clean_attributes_needs_a_display_name(body):
    with pytest.raises(InvalidValue):
        clean_attributes(body)


def test_member_ids_of_a_body():
    assert member_ids({"displayName": "x"}) is None
    assert member_ids({"Members": [{"Value": "a"}, {"value": "b"}, {"value": "a"}]}) == ["a", "b"]
    assert member_ids({"members": {"value": "a"}}) == ["a"]
    with pytest.raises(InvalidValue):
        member_ids({"members": [{"display": "no id"}]})


@pytest.mark.parametrize(
    "attributes,excluded,shown",
    [
        ([], [], True),
        ([], ["members"], False),
        ([], ["MEMBERS"], False),
        ([], ["members.value"], True),
        (["displayName"], [], False),
        (["members.value"], [], True),
        (["urn:ietf:params:scim:schemas:core:2.0:Group:members"], [], True),
        ([], ["urn:ietf:params:scim:schemas:core:2.0:Group:members"], False),
    ],
)
def test_wants_members(attributes, excluded, shown):
    assert wants("members", attributes, excluded) is shown


def test_normalize_names_drops_the_core_group_urn():
    assert normalize_names(["urn:ietf:params:scim:schemas:core:2.0:Group:displayName", "members"]) == [
        "displayName",
        "members",
    ]


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
@pytest.mark.parametrize(
    "text",
    [
        'displayName eq "Managers"',
        'externalId eq "x" and displayName co "man"',
        'members[value eq "a" or value eq "b"]',
        'members.value eq "a"',
        "not (members pr)",
        'description eq "x"',
        'meta.lastModified gt "2024-01-01T00:00:00Z"',
    ],
)
def test_group_filters_compile_for_both_dialects(dialect, text):
    clause = to_clause(parse_filter(text), GroupResolver(dialect.name))
    compiled = str(clause.compile(dialect=dialect))
    if "members" in text:
        assert "group_members" in compiled
    if text.startswith("displayName"):
        assert "display_name_lower" in compiled


@pytest.mark.parametrize("text", ['members.display eq "x"', 'members co "a"', 'members[type eq "User"]'])
def test_unsupported_member_filters_are_invalid_filter(text):
    with pytest.raises(InvalidFilter):
        to_clause(parse_filter(text), GroupResolver("sqlite"))
