"""Any attribute a client sends is kept and read back exactly (POST, PUT, PATCH); ``password`` is
accepted and never stored; SCIM 1.0 schemas and a single ``emails`` object are accepted; bare and
Bearer tokens authenticate; a filter on an attribute nobody sent is a 400 naming it."""

import pytest
from sqlalchemy import select

from models import Company, Learner, ProvisioningEvent

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
OTHER = "urn:example:acme:hr:1.0:User"


def body(**extra):
    return {"schemas": [CORE], "userName": "kit@acme.example", "active": True, **extra}


def stored(sessions):
    with sessions() as s:
        return s.scalars(select(Learner)).one().resource


def test_post_keeps_undeclared_top_level_and_extension_attributes(tenant, sessions):
    sent = body(
        easyllamaRole="supervisor",
        hireDate="2024-03-01",
        seniority=7,
        badges=["red", "blue"],
        costCenterInfo={"code": "CC1", "split": [60, 40]},
        **{ENTERPRISE: {"department": "Ops", "badgeColor": "green"}, OTHER: {"grade": "L4", "flags": [1, 2]}},
    )
    created = tenant.post("Users", json=sent).get_json()
    got = tenant.get(f"Users/{created['id']}").get_json()
    for key in ("easyllamaRole", "hireDate", "seniority", "badges", "costCenterInfo", ENTERPRISE, OTHER):
        assert got[key] == sent[key], key
    assert OTHER in got["schemas"]


def test_password_is_accepted_and_never_stored_or_returned(tenant, sessions):
    resp = tenant.post("Users", json=body(password="P@ss-1234"))
    assert resp.status_code == 201 and "password" not in resp.get_json()
    user_id = resp.get_json()["id"]
    put = tenant.put(f"Users/{user_id}", json=body(password="other", displayName="Kit"))
    patch = tenant.patch(
        f"Users/{user_id}", json={"Operations": [{"op": "replace", "path": "password", "value": "third"}]}
    )
    assert put.status_code == patch.status_code == 200
    assert "password" not in put.get_json() and "password" not in patch.get_json()
    assert "password" not in stored(sessions)
    with sessions() as s:
        assert all("password" not in str(e.changes) for e in s.scalars(select(ProvisioningEvent)))


def test_put_of_our_own_get_keeps_custom_attributes_and_changes_nothing(tenant, sessions):
    created = tenant.post("Users", json=body(easyllamaRole="supervisor")).get_json()
    got = tenant.get(f"Users/{created['id']}").get_json()
    echo = tenant.put(f"Users/{created['id']}", json={**got, "groups": [], "password": "x"})
    assert echo.status_code == 200 and echo.get_json()["easyllamaRole"] == "supervisor"
    assert echo.get_json()["meta"]["version"] == got["meta"]["version"]  # no change, no new version
    # A PUT without the attribute removes it (PUT replaces the whole resource).
    gone = tenant.put(f"Users/{created['id']}", json=body()).get_json()
    assert "easyllamaRole" not in gone


def test_patch_adds_replaces_and_removes_undeclared_attributes(tenant):
    created = tenant.post("Users", json=body()).get_json()
    path = f"Users/{created['id']}"
    ops = [
        {"op": "add", "path": "training_tags", "value": "CYBER"},
        {"op": "replace", "value": {"easyllamaRole": "supervisor", f"{OTHER}:grade": "L5"}},
    ]
    got = tenant.patch(path, json={"Operations": ops}).get_json()
    assert got["training_tags"] == "CYBER" and got["easyllamaRole"] == "supervisor" and got[OTHER] == {"grade": "L5"}
    got = tenant.patch(path, json={"Operations": [{"op": "remove", "path": "training_tags"}]}).get_json()
    assert "training_tags" not in got and tenant.get(path).get_json()["easyllamaRole"] == "supervisor"


def test_scim_1_core_urn_and_a_single_emails_object_are_accepted(tenant):
    sent = {
        "schemas": ["urn:scim:schemas:core:1.0"],
        "userName": "ol@acme.example",
        "emails": {"value": "ol@acme.example", "primary": True},
    }
    resp = tenant.post("Users", json=sent)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["emails"] == [{"value": "ol@acme.example", "primary": True}]
    assert resp.get_json()["schemas"] == [CORE]


@pytest.mark.parametrize("header", ["Bearer {t}", "bearer {t}", "{t}", "  {t}  "])
def test_bearer_and_bare_tokens_authenticate(tenant, client, header):
    resp = client.get(f"{tenant.base}/Users", headers={"Authorization": header.format(t=tenant.token)})
    assert resp.status_code == 200


@pytest.mark.parametrize("header", ["non-token", "Basic {t}", "Bearer", "Bearer  ", "", "Token {t}"])
def test_anything_else_is_401_with_a_scim_error(tenant, client, header):
    resp = client.get(f"{tenant.base}/Users", headers={"Authorization": header.format(t=tenant.token)})
    assert resp.status_code == 401
    assert resp.get_json()["status"] == "401" and resp.headers["Content-Type"].startswith("application/scim+json")


def test_a_bare_token_of_another_company_is_refused(tenant, other_tenant, client):
    resp = client.get(f"{tenant.base}/Users", headers={"Authorization": other_tenant.token})
    assert resp.status_code == 401


@pytest.mark.parametrize(
    "text,name",
    [
        ('usrName eq "kit@acme.example"', "usrName"),
        ('easyllamaRole eq "supervisor"', "easyllamaRole"),
        ('urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:costCode eq "x"', "costCode"),
        ('userName eq "a" or nickname2 pr', "nickname2"),
    ],
)
def test_filter_on_an_attribute_nobody_sent_is_400_naming_it(tenant, text, name):
    tenant.post("Users", json=body())
    resp = tenant.get("Users", query_string={"filter": text})
    assert resp.status_code == 400
    got = resp.get_json()
    assert got["scimType"] == "invalidFilter" and name in got["detail"]


def test_attributes_the_company_sent_become_filterable_for_that_company_only(tenant, other_tenant, sessions):
    ext = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
    created = tenant.post("Users", json=body(easyllamaRole="Supervisor", **{ext: {"costCode": "C9"}})).get_json()
    for text in ('easyllamaRole eq "supervisor"', f'{ext}:costCode eq "c9"', "easyllamarole pr"):
        resp = tenant.get("Users", query_string={"filter": text})
        assert resp.status_code == 200, resp.get_json()
        assert [r["id"] for r in resp.get_json()["Resources"]] == [created["id"]]
    with sessions() as s:
        assert s.get(Company, tenant.id).custom_attributes == ["easyllamaRole", "extension:costCode"]
    assert other_tenant.get("Users", query_string={"filter": 'easyllamaRole eq "x"'}).status_code == 400


def test_core_attributes_nested_under_the_core_urn_are_core_attributes(tenant):
    resp = tenant.post("Users", json={"schemas": [CORE], CORE: {"userName": "nest@acme.example", "title": "Chef"}})
    assert resp.status_code == 201, resp.get_json()
    got = resp.get_json()
    assert got["userName"] == "nest@acme.example" and got["title"] == "Chef"
    assert CORE not in got and got["schemas"] == [CORE]
