"""Replays of Entra ID's sequences (docs/entra.md, "How Entra talks to Herd") against the Flask app and a real database."""

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from models import Learner, ProvisioningEvent

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "entra"
SCIM = "application/scim+json"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


def create(tenant, **changes):
    body = fixture("create_user.json")
    body.update(changes)
    resp = tenant.post("Users", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def assert_scim(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"].startswith(SCIM)


def test_connection_without_accept_header_gets_an_empty_list(tenant, client):
    # Entra's Test Connection: a user that cannot exist, and no SCIM Accept header.
    resp = client.get(
        f"{tenant.base}/Users",
        query_string={"filter": f'userName eq "{uuid.uuid4()}"', "aadOptscim062020": ""},
        headers={"Authorization": f"Bearer {tenant.token}"},
    )
    assert_scim(resp, 200)
    assert resp.get_json() == {
        "schemas": [LIST],
        "totalResults": 0,
        "Resources": [],
        "startIndex": 1,
        "itemsPerPage": 0,
    }


def test_connection_with_a_wrong_token_says_what_to_fix(tenant, client):
    resp = client.get(f"{tenant.base}/Users", headers={"Authorization": "Bearer nope"})
    assert_scim(resp, 401)
    body = resp.get_json()
    assert body["status"] == "401" and "Settings > Integrations > API" in body["detail"]


def test_created_user_reads_back_attribute_for_attribute(tenant):
    sent = fixture("create_user.json")
    resp = tenant.post("Users", json=sent)
    assert_scim(resp, 201)
    created = resp.get_json()
    assert resp.headers["Location"] == created["meta"]["location"]
    assert created["meta"]["location"].endswith(f"/scim/v2/{tenant.id}/Users/{created['id']}")
    got = tenant.get(f"Users/{created['id']}").get_json()
    for key, value in sent.items():
        if key in ("schemas", "meta", "roles"):
            continue
        assert got[key] == value, key
    assert got["active"] is True
    assert set(got["schemas"]) >= {"urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, CUSTOM}
    for field in ("resourceType", "created", "lastModified", "location", "version"):
        assert field in got["meta"]
    assert got["meta"]["created"].endswith("Z")


def test_normalized_region_and_tags_are_stored(tenant, sessions):
    user = create(tenant)
    with sessions() as s:
        learner = s.get(Learner, user["id"])
        assert (learner.region, learner.country) == ("US-CA", "US")
        assert learner.training_tags == ["CYBER", "HIPAA"]
        assert learner.role == "supervisor"


@pytest.mark.parametrize(
    "expr",
    [
        'userName eq "JDOE@ACME.example"',
        'externalId eq "JDoe"',
        'emails[type eq "work"].value eq "jdoe@acme.example"',
        'userName eq "jdoe@acme.example" and active eq true',
        'displayName eq "jo doe"',
    ],
)
def test_filters_entra_uses_find_the_user_case_insensitively(tenant, expr):
    user = create(tenant)
    create(
        tenant,
        userName="other@acme.example",
        externalId="other",
        emails=[{"type": "work", "value": "o@acme.example"}],
        displayName="Other",
    )
    body = tenant.get("Users", query_string={"filter": expr}).get_json()
    assert body["totalResults"] == 1
    assert [r["id"] for r in body["Resources"]] == [user["id"]]


def test_duplicate_username_in_another_case_is_409_uniqueness(tenant):
    create(tenant)
    resp = tenant.post("Users", json={**fixture("create_user.json"), "userName": "JDOE@ACME.EXAMPLE"})
    assert_scim(resp, 409)
    assert resp.get_json()["scimType"] == "uniqueness"


@pytest.mark.parametrize("name", ["patch_default_dialect.json", "patch_aadopt_dialect.json"])
def test_patch_dialects_reach_the_same_learner(tenant, name):
    user = create(tenant)
    case = fixture(name)
    resp = tenant.patch(f"Users/{user['id']}", json=case["body"])
    assert_scim(resp, 200)
    got = tenant.get(f"Users/{user['id']}").get_json()
    assert got == {**resp.get_json(), "meta": got["meta"]}
    exp = case["expect"]
    assert got["displayName"] == exp["displayName"]
    assert got["name"]["givenName"] == exp["name.givenName"]
    assert got["name"]["familyName"] == exp["name.familyName"]
    assert got["name"]["middleName"] == "Q"  # untouched attributes stay
    assert [e["value"] for e in got["emails"] if e.get("type") == "work"] == [exp["work_email"]]
    assert {"type": "work", "value": exp["work_phone"]} in got["phoneNumbers"]
    assert {"type": "mobile", "value": "5550100"} in got["phoneNumbers"]
    assert got[ENTERPRISE] == {"employeeNumber": "9", "department": "Ops", "costCenter": "CC-1"}
    assert got[CUSTOM]["state"] == exp["state"]
    assert got["active"] is exp["active"]
    assert got["mobilePhone"] == exp["mobilePhone"]


@pytest.mark.parametrize("op,value", [("Replace", "False"), ("replace", False), ("Add", "False"), ("add", False)])
def test_deactivate_keeps_the_user_readable_and_filterable(tenant, op, value):
    user = create(tenant)
    resp = tenant.patch(f"Users/{user['id']}", json={"Operations": [{"op": op, "path": "active", "value": value}]})
    assert_scim(resp, 200)
    assert resp.get_json()["active"] is False
    assert tenant.get(f"Users/{user['id']}").get_json()["active"] is False
    found = tenant.get("Users", query_string={"filter": 'userName eq "jdoe@acme.example"'}).get_json()
    assert found["totalResults"] == 1 and found["Resources"][0]["active"] is False
    restored = tenant.patch(
        f"Users/{user['id']}",
        json={"Operations": [{"op": op, "path": "active", "value": True if value is False else "True"}]},
    )
    assert restored.get_json()["active"] is True


def test_path_less_replace_with_active_string(tenant):
    user = create(tenant)
    resp = tenant.patch(f"Users/{user['id']}", json={"Operations": [{"op": "Replace", "value": {"active": "False"}}]})
    assert resp.get_json()["active"] is False


def test_delete_then_404_then_recreate_brings_back_the_learner(tenant, sessions):
    user = create(tenant)
    resp = tenant.delete(f"Users/{user['id']}")
    assert resp.status_code == 204
    assert_scim(tenant.get(f"Users/{user['id']}"), 404)
    assert_scim(tenant.delete(f"Users/{user['id']}"), 404)
    assert (
        tenant.get("Users", query_string={"filter": 'userName eq "jdoe@acme.example"'}).get_json()["totalResults"] == 0
    )
    with sessions() as s:
        kept = s.get(Learner, user["id"])
        assert kept is not None and kept.deleted_at is not None
    again = tenant.post("Users", json=fixture("create_user.json"))
    assert_scim(again, 201)
    assert again.get_json()["id"] == user["id"]
    assert tenant.get(f"Users/{user['id']}").status_code == 200


def test_username_change_keeps_id_and_conflicts_with_a_taken_name(tenant):
    user = create(tenant)
    other = create(tenant, userName="b@acme.example", externalId="b")
    resp = tenant.patch(
        f"Users/{user['id']}",
        json={"Operations": [{"op": "Replace", "path": "userName", "value": "jo.new@acme.example"}]},
    )
    assert resp.get_json()["id"] == user["id"] and resp.get_json()["userName"] == "jo.new@acme.example"
    clash = tenant.patch(
        f"Users/{user['id']}", json={"Operations": [{"op": "Replace", "path": "userName", "value": "B@acme.example"}]}
    )
    assert_scim(clash, 409)
    assert tenant.get(f"Users/{other['id']}").get_json()["userName"] == "b@acme.example"


@pytest.mark.parametrize(
    "value",
    ["MGR-1", {"value": "MGR-1"}, [{"value": "MGR-1"}]],
)
def test_manager_add_replace_remove(tenant, value):
    user = create(tenant)
    path = f"{ENTERPRISE}:manager"
    got = tenant.patch(
        f"Users/{user['id']}", json={"Operations": [{"op": "Add", "path": path, "value": value}]}
    ).get_json()
    assert got[ENTERPRISE]["manager"] == {"value": "MGR-1"}
    got = tenant.patch(
        f"Users/{user['id']}", json={"Operations": [{"op": "Replace", "path": path, "value": {"value": "MGR-2"}}]}
    ).get_json()
    assert got[ENTERPRISE]["manager"]["value"] == "MGR-2"
    got = tenant.patch(f"Users/{user['id']}", json={"Operations": [{"op": "Remove", "path": path}]}).get_json()
    assert "manager" not in got[ENTERPRISE]


@pytest.mark.parametrize("clear", ["", {"value": ""}])
def test_manager_cleared_by_empty_value(tenant, clear):
    user = create(tenant)
    path = f"{ENTERPRISE}:manager"
    tenant.patch(f"Users/{user['id']}", json={"Operations": [{"op": "Add", "path": path, "value": "MGR-1"}]})
    got = tenant.patch(
        f"Users/{user['id']}", json={"Operations": [{"op": "Replace", "path": path, "value": clear}]}
    ).get_json()
    assert "manager" not in got[ENTERPRISE]


def test_validator_replace_of_many_value_paths_creates_missing_elements(tenant):
    user = create(tenant)
    ops = [
        {"op": "replace", "path": 'emails[type eq "home"].value', "value": "jo@home.example"},
        {"op": "replace", "path": 'emails[type eq "home"].display', "value": "Home"},
        {"op": "replace", "path": 'addresses[type eq "work"].locality', "value": "Chicago"},
        {"op": "replace", "path": 'addresses[type eq "work"].postalCode', "value": "60601"},
        {"op": "add", "path": "title", "value": "Engineer"},
        {"op": "add", "path": "preferredLanguage", "value": "en-US"},
    ]
    got = tenant.patch(f"Users/{user['id']}", json={"Operations": ops}).get_json()
    assert {"type": "home", "value": "jo@home.example", "display": "Home"} in got["emails"]
    assert got["addresses"] == [{"type": "work", "locality": "Chicago", "postalCode": "60601"}]
    assert got["title"] == "Engineer" and got["preferredLanguage"] == "en-US"
    assert tenant.get(f"Users/{user['id']}").get_json() == {**got, "meta": got["meta"]}


def test_remove_attribute_is_absent_afterwards(tenant):
    user = create(tenant)
    got = tenant.patch(
        f"Users/{user['id']}",
        json={"Operations": [{"op": "Remove", "path": "name.middleName"}, {"op": "remove", "path": "mobilePhone"}]},
    ).get_json()
    assert "middleName" not in got["name"] and "mobilePhone" not in got


def test_failed_op_changes_nothing(tenant):
    user = create(tenant)
    resp = tenant.patch(
        f"Users/{user['id']}",
        json={
            "Operations": [
                {"op": "Replace", "path": "displayName", "value": "Changed"},
                {"op": "Replace", "path": "active", "value": "perhaps"},
            ]
        },
    )
    assert_scim(resp, 400)
    assert resp.get_json()["scimType"] == "invalidValue"
    assert tenant.get(f"Users/{user['id']}").get_json()["displayName"] == "Jo Doe"


def test_empty_operations_and_tolerated_extras(tenant):
    user = create(tenant)
    resp = tenant.patch(f"Users/{user['id']}", json={"id": user["id"], "Operations": []})
    assert_scim(resp, 200)
    resp = tenant.patch(
        f"Users/{user['id']}", json={"Operations": [{"op": "Replace", "name": "x", "path": "title", "value": "T"}]}
    )
    assert resp.get_json()["title"] == "T"


def test_put_replaces_and_keeps_id(tenant):
    user = create(tenant)
    body = fixture("create_user.json")
    body["displayName"] = "Replaced"
    del body["mobilePhone"]
    got = tenant.put(f"Users/{user['id']}", json=body).get_json()
    assert got["id"] == user["id"] and got["displayName"] == "Replaced" and "mobilePhone" not in got


def test_every_write_leaves_a_provisioning_event(tenant, sessions):
    user = create(tenant)
    tenant.patch(f"Users/{user['id']}", json={"Operations": [{"op": "Replace", "path": "displayName", "value": "New"}]})
    tenant.patch(f"Users/{user['id']}", json={"Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    tenant.delete(f"Users/{user['id']}")
    with sessions() as s:
        events = s.scalars(select(ProvisioningEvent).order_by(ProvisioningEvent.id)).all()
    assert [e.action for e in events] == ["create", "update", "deactivate", "delete"]
    assert events[1].changes == {"displayName": {"before": "Jo Doe", "after": "New"}}
    assert all(e.token_name == "Acme token" and e.processed_at is None for e in events)


def test_unchanged_patch_writes_no_event(tenant, sessions):
    user = create(tenant)
    tenant.patch(
        f"Users/{user['id']}", json={"Operations": [{"op": "Replace", "path": "displayName", "value": "Jo Doe"}]}
    )
    with sessions() as s:
        assert len(s.scalars(select(ProvisioningEvent)).all()) == 1


def test_paging_and_attribute_selection(tenant):
    ids = [create(tenant, userName=f"u{i}@acme.example", externalId=f"u{i}")["id"] for i in range(5)]
    page = tenant.get("Users", query_string={"startIndex": 2, "count": 2, "attributes": "userName"}).get_json()
    assert page["totalResults"] == 5 and page["startIndex"] == 2 and page["itemsPerPage"] == 2
    assert [r["id"] for r in page["Resources"]] == ids[1:3]
    assert set(page["Resources"][0]) == {"id", "schemas", "userName"}
    last = tenant.get("Users", query_string={"startIndex": 4, "count": 10}).get_json()
    assert last["totalResults"] == 5 and [r["id"] for r in last["Resources"]] == ids[3:]
    beyond = tenant.get("Users", query_string={"startIndex": 9}).get_json()
    assert beyond["totalResults"] == 5 and beyond["Resources"] == []
    totals = tenant.get("Users", query_string={"count": 0}).get_json()
    assert totals["totalResults"] == 5 and totals["Resources"] == []
    excluded = tenant.get(f"Users/{ids[0]}", query_string={"excludedAttributes": f"emails,{ENTERPRISE}"}).get_json()
    assert "emails" not in excluded and ENTERPRISE not in excluded and "userName" in excluded


def test_search_endpoint(tenant):
    user = create(tenant)
    resp = tenant.post(
        "Users/.search",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'externalId eq "jdoe"',
            "attributes": ["userName"],
        },
    )
    assert_scim(resp, 200)
    body = resp.get_json()
    assert body["totalResults"] == 1 and body["Resources"][0] == {
        "schemas": user["schemas"],
        "id": user["id"],
        "userName": user["userName"],
    }


@pytest.mark.parametrize(
    "method,path,body,status,scim_type",
    [
        ("GET", "Users?filter=userName%20eq", None, 400, "invalidFilter"),
        ("GET", "Users?filter=userName%20xx%20%22a%22", None, 400, "invalidFilter"),
        ("POST", "Users", {"displayName": "no userName"}, 400, "invalidValue"),
        ("POST", "Users", {"userName": "x", "active": "yes please"}, 400, "invalidValue"),
        ("GET", "Users/does-not-exist", None, 404, None),
        ("GET", "Nothing", None, 404, None),
        ("DELETE", "Users", None, 405, None),
        ("POST", "Bulk", {}, 400, "invalidSyntax"),
        ("POST", "Me", {}, 501, None),
        ("POST", "Groups", {"displayName": "x"}, 501, None),
    ],
)
def test_errors_are_scim_errors(tenant, method, path, body, status, scim_type):
    resp = tenant.call(method, path, json=body)
    assert_scim(resp, status)
    got = resp.get_json()
    assert got["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert got["status"] == str(status) and got["detail"]
    assert got.get("scimType") == scim_type
    assert "Traceback" not in resp.get_data(as_text=True)


def test_bad_json_is_invalid_syntax(tenant, client):
    resp = client.post(f"{tenant.base}/Users", data="{not json", headers=tenant.headers({"Content-Type": SCIM}))
    assert_scim(resp, 400)
    assert resp.get_json()["scimType"] == "invalidSyntax"


def test_huge_body_is_413(tenant, client):
    resp = client.post(
        f"{tenant.base}/Users", data="x" * (1024 * 1024 + 10), headers=tenant.headers({"Content-Type": SCIM})
    )
    assert_scim(resp, 413)


def test_a_token_never_reaches_another_company(tenant, other_tenant, client):
    user = create(tenant)
    # B's token against A's URL: 401, nothing revealed.
    resp = client.get(f"{tenant.base}/Users/{user['id']}", headers=other_tenant.headers())
    assert_scim(resp, 401)
    assert user["id"] not in resp.get_data(as_text=True)
    # A's learner id under B's own URL: 404, as if it did not exist.
    assert_scim(other_tenant.get(f"Users/{user['id']}"), 404)
    assert_scim(
        other_tenant.patch(
            f"Users/{user['id']}", json={"Operations": [{"op": "replace", "path": "title", "value": "x"}]}
        ),
        404,
    )
    assert_scim(other_tenant.delete(f"Users/{user['id']}"), 404)
    assert other_tenant.get("Users").get_json()["totalResults"] == 0
    assert "title" not in tenant.get(f"Users/{user['id']}").get_json()


def test_extension_urn_of_the_company_idp_is_returned_and_published(tenant):
    body = fixture("create_user.json")
    ext = body.pop(CUSTOM)
    urn = "urn:ietf:params:scim:schemas:extension:AcmeLearning:2.0:User"
    body[urn] = ext
    got = tenant.post("Users", json=body).get_json()
    assert got[urn] == ext
    schemas = tenant.get("Schemas").get_json()
    assert urn in [s["id"] for s in schemas["Resources"]]
    assert schemas["totalResults"] == len(schemas["Resources"]) == 3


def test_phone_numbers_mobile_and_plain_mobile_phone_both_kept(tenant):
    user = create(tenant)
    assert user["mobilePhone"] == "11111111111"
    assert user["phoneNumbers"] == [{"type": "mobile", "value": "5550100"}]
    got = tenant.patch(
        f"Users/{user['id']}",
        json={"Operations": [{"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": "5550111"}]},
    ).get_json()
    assert got["phoneNumbers"] == [{"type": "mobile", "value": "5550111"}]


def test_null_values_in_old_payloads_are_tolerated(tenant):
    body = fixture("create_user.json")
    body["title"] = None
    body["name"]["honorificPrefix"] = None
    got = tenant.post("Users", json=body).get_json()
    assert "title" not in got and "honorificPrefix" not in got["name"]


def test_discovery_endpoints(tenant):
    spc = tenant.get("ServiceProviderConfig")
    assert_scim(spc, 200)
    assert spc.get_json()["patch"]["supported"] is True
    rts = tenant.get("ResourceTypes").get_json()
    assert rts["totalResults"] == 1 and rts["Resources"][0]["name"] == "User"
    names = {a["name"] for s in tenant.get("Schemas").get_json()["Resources"] for a in s["attributes"]}
    assert {"userName", "learnerRole", "training_tags", "state", "country", "employeeNumber", "mobilePhone"} <= names


def test_work_email_filter_ignores_other_email_types(tenant):
    work = create(tenant)
    create(
        tenant,
        userName="home@acme.example",
        externalId="home",
        emails=[{"type": "work", "value": "w2@acme.example"}, {"type": "home", "value": "shared@acme.example"}],
    )
    hit = tenant.get("Users", query_string={"filter": 'emails[type eq "work"].value eq "JDOE@acme.example"'}).get_json()
    assert [r["id"] for r in hit["Resources"]] == [work["id"]]
    miss = tenant.get(
        "Users", query_string={"filter": 'emails[type eq "work"].value eq "shared@acme.example"'}
    ).get_json()
    assert miss["totalResults"] == 0
