"""The validation boundary on SCIM (service/edge/input_limits.py): each hostile class is one clear 400, never a 500.

Each case was a 500 (or a stalled worker) before the boundary existed; after
each refusal the server still answers a normal request.
"""

import pytest

from models import Learner
from service.edge import input_limits

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
NUL = "\u0000"


def _scim_error(resp, status=400):
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    assert resp.headers["Content-Type"].startswith("application/scim+json")
    body = resp.get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status)
    return body


def _still_serves(tenant):
    resp = tenant.get('Users?filter=userName eq "nobody@acme.example"')
    assert resp.status_code == 200
    assert resp.get_json()["totalResults"] == 0


def _user(tenant, user_name="kim@acme.example", **extra):
    resp = tenant.post("Users", json={"userName": user_name, **extra})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


# -- control characters ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body, named",
    [
        ({"userName": f"kim{NUL}@acme.example"}, "userName"),
        ({"userName": "kim@acme.example", "displayName": f"Kim{NUL}"}, "displayName"),
        ({"userName": "kim@acme.example", "name": {"givenName": f"K{NUL}"}}, "name.givenName"),
        ({"userName": "kim@acme.example", "emails": [{"value": f"k{NUL}@x", "type": "work"}]}, "emails[0].value"),
        ({"userName": "kim@acme.example", CUSTOM: {"learnerRole": f"sup{NUL}"}}, "learnerRole"),
        ({"userName": "kim@acme.example", f"title{NUL}": "x"}, "attribute name"),
        ({"userName": "kim\ud800@acme.example"}, "userName"),
        ({"userName": "kim\u0007@acme.example"}, "userName"),
    ],
)
def test_control_characters_in_a_user_body_are_a_400_naming_the_attribute(tenant, body, named):
    err = _scim_error(tenant.post("Users", json=body))
    assert err["scimType"] == "invalidValue"
    assert named in err["detail"]
    assert "U+" in err["detail"]
    _still_serves(tenant)


def test_a_tab_in_userName_is_refused_but_a_newline_in_a_formatted_address_is_kept(tenant):
    err = _scim_error(tenant.post("Users", json={"userName": "kim\t@acme.example"}))
    assert "userName" in err["detail"]
    user = _user(tenant, addresses=[{"formatted": "1 Main St\nSpringfield", "type": "work"}])
    assert user["addresses"][0]["formatted"] == "1 Main St\nSpringfield"


def test_nul_in_a_patch_value_is_a_400(tenant):
    user = _user(tenant)
    resp = tenant.patch(
        f"Users/{user['id']}", json={"Operations": [{"op": "replace", "path": "displayName", "value": f"a{NUL}b"}]}
    )
    err = _scim_error(resp)
    assert "Operations[0].value" in err["detail"]
    assert tenant.get(f"Users/{user['id']}").get_json().get("displayName") is None


@pytest.mark.parametrize("path", [f"Users/abc{NUL}def", "Users/abc%00def", "Groups/abc%00def"])
def test_nul_in_a_path_id_is_a_400(tenant, path):
    err = _scim_error(tenant.get(path))
    assert "resource_id" in err["detail"]
    _still_serves(tenant)


@pytest.mark.parametrize(
    "query",
    [
        'filter=userName eq "a%00b"',
        'filter=externalId eq "a%00b"',
        'filter=emails[type eq "work"].value eq "a%00b"',
        "attributes=userName%00",
        "excludedAttributes=%01",
        "count=1%00",
    ],
)
def test_nul_in_a_query_parameter_is_a_400(tenant, query):
    err = _scim_error(tenant.get(f"Users?{query}"))
    assert "query parameter" in err["detail"]
    _still_serves(tenant)


@pytest.mark.parametrize(
    "filter_text",
    [
        'userName eq "a\\u0000b"',
        'externalId eq "\\u0000"',
        'emails[type eq "work"].value eq "a\\u0000b"',
        'displayName co "\\u0007"',
        'userName eq "\\ud800"',
        'name.givenName sw "x" or userName eq "\\u0000"',
    ],
)
def test_an_escaped_control_character_in_a_filter_string_is_invalid_filter(tenant, filter_text):
    """`\\u0000` is six harmless characters in the query string and a NUL once the filter's JSON
    string is decoded: it reached PostgreSQL (a 500) until decoded strings were checked too."""
    assert "\\u" in filter_text
    err = _scim_error(tenant.get("Users", query_string={"filter": filter_text}))
    assert err["scimType"] == "invalidFilter"
    assert "U+" in err["detail"]
    _still_serves(tenant)


def test_an_escaped_nul_in_a_patch_path_filter_is_a_400(tenant):
    user = _user(tenant, emails=[{"value": "kim@acme.example", "type": "work"}])
    resp = tenant.patch(
        f"Users/{user['id']}",
        json={"Operations": [{"op": "remove", "path": 'emails[value eq "kim\\u0000@acme.example"]'}]},
    )
    assert "U+0000" in _scim_error(resp)["detail"]
    assert tenant.get(f"Users/{user['id']}").get_json()["emails"][0]["value"] == "kim@acme.example"


def test_escaped_characters_that_are_not_controls_still_filter(tenant):
    user = _user(tenant, "kim\u00e9@acme.example")
    found = tenant.get("Users", query_string={"filter": 'userName eq "kim\\u00e9@acme.example"'}).get_json()
    assert [r["id"] for r in found["Resources"]] == [user["id"]]


def test_nul_in_a_group_member_id_is_a_400(tenant, sessions):
    from models import Company

    with sessions() as s:
        s.get(Company, tenant.id).groups_enabled = True
        s.commit()
    user = _user(tenant)
    err = _scim_error(tenant.post("Groups", json={"displayName": "Ops", "members": [{"value": f"x{NUL}"}]}))
    assert "members[0].value" in err["detail"]
    group = tenant.post("Groups", json={"displayName": "Ops", "members": [{"value": user["id"]}]}).get_json()
    resp = tenant.patch(
        f"Groups/{group['id']}",
        json={"Operations": [{"op": "remove", "path": f'members[value eq "{user["id"]}{NUL}"]'}]},
    )
    _scim_error(resp)
    resp = tenant.patch(
        f"Groups/{group['id']}", json={"Operations": [{"op": "add", "path": "members", "value": [{"value": NUL}]}]}
    )
    _scim_error(resp)
    assert tenant.get(f"Groups/{group['id']}").get_json()["members"][0]["value"] == user["id"]


# -- lengths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, named, limit",
    [
        ({"userName": "u" * 301}, "userName", 300),
        ({"userName": "kim@acme.example", "displayName": "d" * 301}, "displayName", 300),
        ({"userName": "kim@acme.example", "externalId": "e" * 301}, "externalId", 300),
        ({"userName": "kim@acme.example", "name": {"givenName": "g" * 201}}, "name.givenName", 200),
        ({"userName": "kim@acme.example", "name": {"familyName": "f" * 201}}, "name.familyName", 200),
        ({"userName": "kim@acme.example", "emails": [{"value": "m" * 301, "type": "work"}]}, "emails.value", 300),
        ({"userName": "kim@acme.example", CUSTOM: {"learnerRole": "r" * 101}}, "learnerRole", 100),
        ({"userName": "kim@acme.example", CUSTOM: {"location": "l" * 301}}, "location", 300),
        ({"userName": "kim@acme.example", ENTERPRISE: {"location": "l" * 301}}, "location", 300),
        (
            {
                "userName": "kim@acme.example",
                f"urn:ietf:params:scim:schemas:extension:{'X' * 300}:2.0:User": {"a": "b"},
            },
            "schema URN",
            300,
        ),
    ],
)
def test_a_string_longer_than_its_column_is_a_400_naming_the_limit(tenant, body, named, limit):
    err = _scim_error(tenant.post("Users", json=body))
    assert err["scimType"] == "invalidValue"
    assert named in err["detail"]
    assert f"the limit is {limit}" in err["detail"]
    _still_serves(tenant)


def test_strings_at_their_column_limit_are_stored(tenant):
    user = _user(
        tenant, "u" * 300, displayName="d" * 300, name={"givenName": "g" * 200}, **{CUSTOM: {"learnerRole": "r" * 100}}
    )
    got = tenant.get(f"Users/{user['id']}").get_json()
    assert got["userName"] == "u" * 300
    assert got[CUSTOM]["learnerRole"] == "r" * 100


def test_a_patch_that_makes_a_string_too_long_is_a_400_and_changes_nothing(tenant):
    user = _user(tenant)
    resp = tenant.patch(
        f"Users/{user['id']}", json={"Operations": [{"op": "replace", "path": "userName", "value": "u" * 301}]}
    )
    assert "the limit is 300" in _scim_error(resp)["detail"]
    assert tenant.get(f"Users/{user['id']}").get_json()["userName"] == "kim@acme.example"


DOTTED_I = "\u0130"  # "İ": one character, lower-cased to two ("i" and a combining dot)


@pytest.mark.parametrize(
    "body, named",
    [
        ({"userName": DOTTED_I * 300}, "userName"),
        ({"userName": "kim@acme.example", "externalId": DOTTED_I * 300}, "externalId"),
        ({"userName": "kim@acme.example", "emails": [{"value": DOTTED_I * 300, "type": "work"}]}, "emails.value"),
    ],
)
def test_a_value_too_long_once_lower_cased_is_a_400(tenant, body, named):
    """300 × U+0130 fits its column but not the lower-cased lookup key next to it (a 500 on
    PostgreSQL): refused with invalidValue, naming the attribute and the limit."""
    err = _scim_error(tenant.post("Users", json=body))
    assert err["scimType"] == "invalidValue"
    assert named in err["detail"] and "lower-cased" in err["detail"] and "the limit is 300" in err["detail"]
    user = _user(tenant)
    resp = tenant.patch(
        f"Users/{user['id']}",
        json={"Operations": [{"op": "replace", "value": {k: v for k, v in body.items() if k != "userName"} or body}]},
    )
    assert "lower-cased" in _scim_error(resp)["detail"]
    assert tenant.get(f"Users/{user['id']}").get_json()["userName"] == "kim@acme.example"
    # Half as many still fit once lower-cased, and are found by their lower-cased key.
    fits = _user(tenant, DOTTED_I * 150, externalId=DOTTED_I * 150)
    found = tenant.get(f'Users?filter=externalId eq "{DOTTED_I.lower() * 150}"').get_json()
    assert [r["id"] for r in found["Resources"]] == [fits["id"]]


@pytest.mark.parametrize(
    "attrs", [{"displayName": DOTTED_I * 300}, {"displayName": "Ops", "externalId": DOTTED_I * 300}]
)
def test_a_group_value_too_long_once_lower_cased_is_a_400(groups_on, attrs):
    err = _scim_error(groups_on.post("Groups", json=attrs))
    assert err["scimType"] == "invalidValue" and "lower-cased" in err["detail"]
    assert groups_on.post("Groups", json={"displayName": DOTTED_I * 150}).status_code == 201


def test_a_group_displayName_longer_than_its_column_is_a_400(tenant, sessions):
    from models import Company

    with sessions() as s:
        s.get(Company, tenant.id).groups_enabled = True
        s.commit()
    err = _scim_error(tenant.post("Groups", json={"displayName": "g" * 301}))
    assert "displayName" in err["detail"] and "300" in err["detail"]


def test_schemas_publish_the_length_limits(tenant):
    docs = {d["id"]: d for d in tenant.get("Schemas").get_json()["Resources"]}
    user = {a["name"]: a for a in docs["urn:ietf:params:scim:schemas:core:2.0:User"]["attributes"]}
    assert "At most 300 characters." in user["userName"]["description"]
    given = {s["name"]: s for s in user["name"]["subAttributes"]}["givenName"]
    assert "At most 200 characters." in given["description"]
    learner = {a["name"]: a for a in docs[CUSTOM]["attributes"]}
    assert "At most 100 characters." in learner["learnerRole"]["description"]


# -- depth, paging, dates -------------------------------------------------------------------


@pytest.mark.parametrize("depth", [input_limits.MAX_JSON_DEPTH + 1, 5_000, 100_000])
def test_deeply_nested_json_is_a_400(tenant, depth):
    body = '{"userName": "kim@acme.example", "x": ' + "[" * depth + "]" * depth + "}"
    resp = tenant.client.post(
        f"{tenant.base}/Users", data=body, headers=tenant.headers(), content_type="application/scim+json"
    )
    err = _scim_error(resp)
    assert err["scimType"] == "invalidSyntax"
    assert f"deeper than {input_limits.MAX_JSON_DEPTH} levels" in err["detail"]
    _still_serves(tenant)


def test_deeply_nested_patch_value_is_a_400(tenant):
    user = _user(tenant)
    body = '{"Operations": [{"op": "add", "path": "title", "value": ' + "[" * 3000 + "]" * 3000 + "}]}"
    resp = tenant.client.patch(
        f"{tenant.base}/Users/{user['id']}", data=body, headers=tenant.headers(), content_type="application/scim+json"
    )
    _scim_error(resp)


def test_nan_is_not_json(tenant):
    resp = tenant.client.post(
        f"{tenant.base}/Users",
        data='{"userName": "kim@acme.example", "title": NaN}',
        headers=tenant.headers(),
        content_type="application/scim+json",
    )
    assert _scim_error(resp)["scimType"] == "invalidSyntax"


@pytest.mark.parametrize("resource", ["Users", "Groups"])
def test_a_huge_startIndex_is_a_400_and_a_large_count_is_capped(tenant, sessions, resource):
    from models import Company

    with sessions() as s:
        s.get(Company, tenant.id).groups_enabled = True
        s.commit()
    err = _scim_error(tenant.get(f"{resource}?startIndex={10**20}"))
    assert "startIndex" in err["detail"] and "10,000,000" in err["detail"]
    resp = tenant.get(f"{resource}?startIndex={input_limits.MAX_START_INDEX}&count={10**20}")
    assert resp.status_code == 200
    assert resp.get_json()["Resources"] == []


def test_a_huge_startIndex_in_a_search_body_is_a_400(tenant):
    err = _scim_error(tenant.post("Users/.search", json={"startIndex": 10**20}))
    assert "startIndex" in err["detail"]


@pytest.mark.parametrize(
    "literal",
    ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00%2B14:00", "9999-12-31T23:59:59.999999-00:01"],
)
def test_a_date_literal_that_overflows_is_invalid_filter(tenant, literal):
    err = _scim_error(tenant.get(f'Users?filter=meta.lastModified gt "{literal}"'))
    assert err["scimType"] == "invalidFilter"
    assert "out of range" in err["detail"]


# -- PATCH size and cost -----------------------------------------------------------------------


def test_a_patch_of_10000_operations_is_refused_at_once(tenant):
    user = _user(tenant)
    ops = [{"op": "add", "path": "emails", "value": [{"value": f"e{i}@x.example"}]} for i in range(10_000)]
    err = _scim_error(tenant.patch(f"Users/{user['id']}", json={"Operations": ops}))
    assert "10000 operations" in err["detail"] and f"limit is {input_limits.MAX_PATCH_OPERATIONS}" in err["detail"]
    _still_serves(tenant)


def test_a_patch_at_the_operation_limit_is_applied(tenant):
    user = _user(tenant)
    ops = [
        {"op": "replace", "path": "displayName", "value": f"Kim {i}"} for i in range(input_limits.MAX_PATCH_OPERATIONS)
    ]
    resp = tenant.patch(f"Users/{user['id']}", json={"Operations": ops})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["displayName"] == f"Kim {input_limits.MAX_PATCH_OPERATIONS - 1}"


def test_a_multi_valued_attribute_holds_at_most_the_limit(tenant):
    user = _user(tenant)
    ops = [
        {"op": "add", "path": "emails", "value": [{"value": f"e{i}@x.example"}]}
        for i in range(input_limits.MAX_MULTI_VALUES + 1)
    ]
    err = _scim_error(tenant.patch(f"Users/{user['id']}", json={"Operations": ops}))
    assert f"the limit is {input_limits.MAX_MULTI_VALUES}" in err["detail"]
    ok = tenant.patch(f"Users/{user['id']}", json={"Operations": ops[:-1]})
    assert ok.status_code == 200
    assert len(ok.get_json()["emails"]) == input_limits.MAX_MULTI_VALUES


# -- Unicode normalization and case folding ----------------------------------------------------

NFC = "jos\u00e9@acme.example"
NFD = "jose\u0301@acme.example"


def test_nfc_and_nfd_usernames_are_one_learner(tenant, sessions):
    first = _user(tenant, NFC)
    second = tenant.post("Users", json={"userName": NFD})
    assert _scim_error(second, 409)["scimType"] == "uniqueness"
    upper = tenant.post("Users", json={"userName": NFC.upper()})
    assert upper.status_code == 409
    # Stored and returned exactly as sent.
    assert tenant.get(f"Users/{first['id']}").get_json()["userName"] == NFC
    with sessions() as s:
        assert s.query(Learner).count() == 1
    for name in (NFC, NFD, NFD.upper()):
        found = tenant.get(f'Users?filter=userName eq "{name}"').get_json()
        assert [r["id"] for r in found["Resources"]] == [first["id"]], name


def test_an_nfd_username_is_returned_as_sent_and_found_by_its_nfc_form(tenant):
    user = _user(tenant, NFD)
    assert user["userName"] == NFD
    found = tenant.get(f'Users?filter=userName eq "{NFC}"').get_json()
    assert found["totalResults"] == 1 and found["Resources"][0]["userName"] == NFD


def test_renaming_to_the_other_normalization_of_a_taken_name_is_409(tenant):
    _user(tenant, NFC)
    other = _user(tenant, "kim@acme.example")
    resp = tenant.patch(
        f"Users/{other['id']}", json={"Operations": [{"op": "replace", "path": "userName", "value": NFD}]}
    )
    assert _scim_error(resp, 409)["scimType"] == "uniqueness"
    # The learner's own name in the other form is not a conflict (and is stored as sent).
    mine = _user(tenant, "ren\u00e9@acme.example")
    resp = tenant.patch(
        f"Users/{mine['id']}",
        json={"Operations": [{"op": "replace", "path": "userName", "value": "rene\u0301@acme.example"}]},
    )
    assert resp.status_code == 200 and resp.get_json()["userName"] == "rene\u0301@acme.example"


def test_groups_differing_only_in_normalization_are_one_group(tenant, sessions):
    from models import Company

    with sessions() as s:
        s.get(Company, tenant.id).groups_enabled = True
        s.commit()
    first = tenant.post("Groups", json={"displayName": "Caf\u00e9"})
    assert first.status_code == 201
    assert _scim_error(tenant.post("Groups", json={"displayName": "CAFE\u0301"}), 409)["scimType"] == "uniqueness"
    found = tenant.get('Groups?filter=displayName eq "cafe\u0301"').get_json()
    assert [r["displayName"] for r in found["Resources"]] == ["Caf\u00e9"]


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1" + "0" * 400 + ".5"])
def test_a_number_beyond_a_double_in_a_body_is_a_400_not_a_500(tenant, number):
    # Valid JSON that reads as infinity: PostgreSQL's jsonb refused the learner holding it (a 500).
    post = f'{{"userName": "kim@acme.example", "{CUSTOM}": {{"level": {number}}}}}'
    headers = {"Content-Type": "application/scim+json"}
    err = _scim_error(tenant.post("Users", data=post, headers=headers))
    assert err["scimType"] == "invalidSyntax" and "out of range" in err["detail"]
    learner_id = tenant.post("Users", json={"userName": "kim@acme.example"}).get_json()["id"]
    patch = (
        '{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], '
        f'"Operations": [{{"op": "add", "path": "{CUSTOM}:level", "value": {number}}}]}}'
    )
    err = _scim_error(tenant.patch(f"Users/{learner_id}", data=patch, headers=headers))
    assert "out of range" in err["detail"]
    # Entra's app roles arrive as JSON inside a string: one holding such a number is kept as text.
    roles = tenant.post("Users", json={"userName": "lee@acme.example", "roles": [f'{{"value": {number}}}']})
    assert roles.status_code == 201, roles.get_data(as_text=True)
    assert tenant.get(f"Users/{learner_id}").get_json()["userName"] == "kim@acme.example"
    assert input_limits.loads("1.5e300") == 1.5e300  # what a double holds still reads


@pytest.mark.parametrize("number", [str(10**30), "-" + str(10**30), "1e400"])
def test_a_number_out_of_range_in_a_filter_is_invalid_filter(tenant, number):
    # Found by tests/fuzz: SQLite cannot bind an integer past 64 bits.
    err = _scim_error(tenant.get(f'Users?filter=emails[type eq "work"].value eq {number}'))
    assert err["scimType"] == "invalidFilter"
    assert "out of range" in err["detail"]


# -- ids in the URL path of every size (issue 21) ----------------------------------------------

OUT_OF_RANGE_IDS = ["0", str(2**31), str(2**63), str(2**64), "9" * 60]


@pytest.mark.parametrize("company_id", OUT_OF_RANGE_IDS)
@pytest.mark.parametrize("path", ["Users/x", "Users", "Groups/x", "ServiceProviderConfig"])
def test_a_tenant_id_out_of_range_is_a_404_whatever_the_token(client, tenant, company_id, path):
    """`/scim/v2/2147483648/Users/x` with any bogus token was a 500 ("integer out of range" on
    PostgreSQL, OverflowError past 64 bits on SQLite): no company has such an id."""
    for headers in ({}, {"Authorization": "Bearer bogus"}, {"Authorization": f"Bearer {tenant.token}"}):
        err = _scim_error(client.get(f"/scim/v2/{company_id}/{path}", headers=headers), 404)
        assert "between 1 and 2147483647" in err["detail"]
    _still_serves(tenant)


@pytest.mark.parametrize("company_id", ["1", str(2**31 - 1)])
def test_a_tenant_id_in_range_with_a_bogus_token_is_a_401(client, tenant, company_id):
    resp = client.get(f"/scim/v2/{company_id}/Users/x", headers={"Authorization": "Bearer bogus"})
    _scim_error(resp, 401)


@pytest.mark.parametrize("method", ["GET", "PATCH"])
@pytest.mark.parametrize("number", OUT_OF_RANGE_IDS)
def test_an_api_id_out_of_range_is_a_404(client, tenant, method, number):
    for headers in ({"Authorization": "Bearer bogus"}, {"Authorization": f"Bearer {tenant.token}"}):
        resp = client.open(f"/api/v1/learner_trainings/{number}", method=method, headers=headers, json={})
        assert resp.status_code == 404, resp.get_data(as_text=True)[:300]
        assert "between 1 and 2147483647" in resp.get_json()["error"]
