"""Replays of Entra ID's group sequences and Microsoft's validator group checks (docs/entra.md, "How Entra talks to Herd"),
in both PATCH dialects, against the Flask app and a real database."""

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import Group, GroupMember, ProvisioningEvent
from tests.conftest import make_tenant
from tests.helpers import app_statements

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "entra"
SCIM = "application/scim+json"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


def assert_scim(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    if status != 204:
        assert resp.headers["Content-Type"].startswith(SCIM)


def set_groups(app, tenant, on=True):
    result = app.test_cli_runner().invoke(
        args=["companies", "groups", str(tenant.id), "--enable" if on else "--disable"]
    )
    assert result.exit_code == 0, result.output
    return result.output


def learner(tenant, name):
    body = fixture("create_user.json")
    body.update(userName=f"{name}@acme.example", externalId=name, displayName=name.title())
    resp = tenant.post("Users", json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def create_group(tenant, **changes):
    body = fixture("create_group.json")
    body.update(changes)
    resp = tenant.post("Groups", json=body)
    assert_scim(resp, 201)
    return resp.get_json()


def member_ids(tenant, group_id):
    got = tenant.get(f"Groups/{group_id}").get_json()
    return sorted(m["value"] for m in got.get("members", []))


def patch_ops(*ops):
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def sql_log(app):
    """Every SQL statement the app runs inside the block (normalized)."""
    return app_statements(app, normalize=True)


@pytest.fixture()
def groups_on(app, tenant):
    set_groups(app, tenant)
    return tenant


@pytest.fixture()
def people(groups_on):
    return {f"u{i}": learner(groups_on, f"user{i}") for i in range(1, 6)}


# -- groups off ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("GET", "Groups?excludedAttributes=members&filter=displayName%20eq%20%22Managers%22", None),
        ("POST", "Groups", {"displayName": "Managers"}),
        ("GET", "Groups/8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", None),
        ("PUT", "Groups/8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", {"displayName": "Managers"}),
        ("PATCH", "Groups/8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", {"Operations": []}),
        ("DELETE", "Groups/8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", None),
        ("POST", "Groups/.search", {}),
    ],
)
def test_groups_off_every_call_explains_and_stores_nothing(tenant, sessions, method, path, body):
    resp = tenant.call(method, path, json=body)
    assert_scim(resp, 501)
    got = resp.get_json()
    assert got["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and got["status"] == "501"
    assert "Group provisioning is disabled for this company" in got["detail"]
    assert f"./herd companies groups {tenant.id} --enable" in got["detail"]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Group)) == 0
        assert s.scalar(select(func.count()).select_from(ProvisioningEvent)) == 0


@pytest.mark.parametrize("query", ["", "?startIndex=1&count=100", "?count=2"])
def test_groups_off_plain_list_is_an_empty_list_for_credential_tests(tenant, sessions, query):
    # Okta's "Test API Credentials" lists /Groups; an error there fails the connection test.
    resp = tenant.get(f"Groups{query}")
    assert_scim(resp, 200)
    assert resp.get_json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "Resources": [],
        "startIndex": 1,
        "itemsPerPage": 0,
    }
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(ProvisioningEvent)) == 0


def test_groups_off_discovery_lists_users_only_and_on_lists_groups(app, tenant):
    assert [r["id"] for r in tenant.get("ResourceTypes").get_json()["Resources"]] == ["User"]
    assert CORE_GROUP not in [s["id"] for s in tenant.get("Schemas").get_json()["Resources"]]
    assert_scim(tenant.get("ResourceTypes/Group"), 404)
    assert "enabled for company" in set_groups(app, tenant)
    assert [r["id"] for r in tenant.get("ResourceTypes").get_json()["Resources"]] == ["User", "Group"]
    group_schema = tenant.get(f"Schemas/{CORE_GROUP}")
    assert_scim(group_schema, 200)
    attrs = {a["name"]: a for a in group_schema.get_json()["attributes"]}
    assert attrs["displayName"]["uniqueness"] == "server"
    assert {s["name"] for s in attrs["members"]["subAttributes"]} == {"value", "$ref", "type"}
    assert tenant.get("ResourceTypes/Group").get_json()["endpoint"] == "/Groups"


def test_disabling_hides_stored_groups_and_enabling_shows_them_again(app, groups_on):
    group = create_group(groups_on)
    set_groups(app, groups_on, on=False)
    assert_scim(groups_on.get(f"Groups/{group['id']}"), 501)
    set_groups(app, groups_on, on=True)
    assert groups_on.get(f"Groups/{group['id']}").get_json()["displayName"] == "Managers"


def test_cli_needs_enable_or_disable(app, tenant):
    result = app.test_cli_runner().invoke(args=["companies", "groups", str(tenant.id)])
    assert result.exit_code != 0 and "--enable or --disable" in result.output
    result = app.test_cli_runner().invoke(args=["companies", "groups", "404", "--enable"])
    assert result.exit_code != 0 and "no company 404" in result.output


# -- Entra's sequences and the validator's checks ------------------------------------------------


def test_connection_filter_with_excluded_members_gives_an_empty_list(groups_on, client):
    resp = client.get(
        f"{groups_on.base}/Groups",
        query_string={
            "excludedAttributes": "members",
            "filter": f'displayName eq "{uuid.uuid4()}"',
            "aadOptscim062020": "",
        },
        headers={"Authorization": f"Bearer {groups_on.token}"},
    )
    assert_scim(resp, 200)
    assert resp.get_json() == {
        "schemas": [LIST],
        "totalResults": 0,
        "Resources": [],
        "startIndex": 1,
        "itemsPerPage": 0,
    }


def test_create_tolerates_the_microsoft_schema_and_reads_back(groups_on):
    sent = fixture("create_group.json")
    resp = groups_on.post("Groups", json=sent)
    assert_scim(resp, 201)
    created = resp.get_json()
    assert resp.headers["Location"] == created["meta"]["location"]
    assert created["meta"]["location"].endswith(f"/scim/v2/{groups_on.id}/Groups/{created['id']}")
    assert created["schemas"] == [CORE_GROUP]
    assert created["displayName"] == sent["displayName"] and created["externalId"] == sent["externalId"]
    assert "members" not in created
    for field in ("resourceType", "created", "lastModified", "location", "version"):
        assert field in created["meta"]
    assert created["meta"]["resourceType"] == "Group"
    assert groups_on.get(f"Groups/{created['id']}").get_json() == created


def test_create_with_members(groups_on, people):
    created = create_group(groups_on, members=[{"value": people["u1"]}, {"value": people["u2"], "display": "x"}])
    assert sorted(m["value"] for m in created["members"]) == sorted([people["u1"], people["u2"]])
    member = next(m for m in created["members"] if m["value"] == people["u1"])
    assert member["type"] == "User" and "display" not in member
    assert member["$ref"].endswith(f"/Users/{people['u1']}")


@pytest.mark.parametrize("name", ["Managers", "MANAGERS", "managers"])
def test_duplicate_display_name_in_any_case_is_409_uniqueness(groups_on, name):
    create_group(groups_on)
    resp = groups_on.post("Groups", json={**fixture("create_group.json"), "displayName": name})
    assert_scim(resp, 409)
    body = resp.get_json()
    assert body["scimType"] == "uniqueness" and "unique" in body["detail"]


@pytest.mark.parametrize(
    "expr",
    [
        'displayName eq "Managers"',
        'displayName eq "mANAGERS"',
        'externalId eq "8AA1A0C0-C4C3-4BC0-B4A5-2EF676900159"',
        'displayName sw "man" and externalId pr',
    ],
)
def test_filter_with_excluded_members_never_reads_memberships(app, groups_on, people, expr):
    group = create_group(groups_on, members=[{"value": people["u1"]}])
    create_group(groups_on, displayName="Others", externalId="other")
    with sql_log(app) as seen:
        resp = groups_on.get("Groups", query_string={"excludedAttributes": "members", "filter": expr})
    assert_scim(resp, 200)
    body = resp.get_json()
    assert body["totalResults"] == 1 and [r["id"] for r in body["Resources"]] == [group["id"]]
    assert "members" not in body["Resources"][0] and body["Resources"][0]["displayName"] == "Managers"
    assert not [s for s in seen if "group_members" in s]


def test_filter_by_id_and_by_member(groups_on, people):
    group = create_group(groups_on, members=[{"value": people["u1"]}])
    other = create_group(groups_on, displayName="Others", externalId="other", members=[{"value": people["u2"]}])

    def hits(expr):
        return [r["id"] for r in groups_on.get("Groups", query_string={"filter": expr}).get_json()["Resources"]]

    assert hits(f'id eq "{group["id"]}"') == [group["id"]]
    assert hits(f'members.value eq "{people["u2"]}"') == [other["id"]]
    assert hits(f'members[value eq "{people["u1"]}" or value eq "{people["u2"]}"]') == [group["id"], other["id"]]
    assert hits(f'not (members eq "{people["u1"]}")') == [other["id"]]
    assert hits("members pr") == [group["id"], other["id"]]
    assert hits('description eq "x"') == []  # an attribute Groups do not have is unassigned
    resp = groups_on.get("Groups", query_string={"filter": 'members.display eq "x"'})
    assert_scim(resp, 400)
    assert resp.get_json()["scimType"] == "invalidFilter"
    assert_scim(groups_on.get("Groups", query_string={"filter": "displayName eq"}), 400)


def test_get_without_members_never_reads_memberships(app, groups_on, people):
    group = create_group(groups_on, members=[{"value": people["u1"]}])
    with sql_log(app) as seen:
        got = groups_on.get(f"Groups/{group['id']}", query_string={"excludedAttributes": "members"}).get_json()
    assert "members" not in got and got["displayName"] == "Managers" and got["id"] == group["id"]
    assert not [s for s in seen if "group_members" in s]
    with sql_log(app) as seen:
        got = groups_on.get(f"Groups/{group['id']}", query_string={"attributes": "displayName"}).get_json()
    assert set(got) == {"schemas", "id", "displayName"}
    assert not [s for s in seen if "group_members" in s]
    got = groups_on.get(f"Groups/{group['id']}", query_string={"attributes": "members.value"}).get_json()
    assert got["members"] == [{"value": people["u1"]}]


def test_paging_lists_members_of_the_page_in_one_query(app, groups_on, people):
    for i in range(4):
        create_group(groups_on, displayName=f"G{i}", externalId=f"g{i}", members=[{"value": people["u1"]}])
    with sql_log(app) as seen:
        page = groups_on.get("Groups", query_string={"startIndex": 2, "count": 2}).get_json()
    assert page["totalResults"] == 4 and page["itemsPerPage"] == 2 and page["startIndex"] == 2
    assert [r["displayName"] for r in page["Resources"]] == ["G1", "G2"]
    assert all(r["members"][0]["value"] == people["u1"] for r in page["Resources"])
    assert len([s for s in seen if "group_members" in s]) == 1


@pytest.mark.parametrize("name", ["group_patch_default_dialect.json", "group_patch_aadopt_dialect.json"])
def test_membership_sequence_in_both_dialects(app, sessions, client, groups_on, people, name):
    foreign_tenant = make_tenant(sessions, client, "Globex", 8)
    set_groups(app, foreign_tenant)
    ids = {**people, "foreign": learner(foreign_tenant, "outsider"), "ghost": str(uuid.uuid4())}
    group = create_group(groups_on)
    ids["group"] = group["id"]
    for step in fixture(name)["steps"]:
        text = json.dumps(step["body"])
        for key, value in ids.items():
            text = text.replace("{" + key + "}", value)
        resp = groups_on.patch(f"Groups/{group['id']}", json=json.loads(text))
        assert resp.status_code == 204, (step["name"], resp.get_data(as_text=True))
        assert member_ids(groups_on, group["id"]) == sorted(ids[k] for k in step["members"]), step["name"]
        got = groups_on.get(f"Groups/{group['id']}").get_json()
        assert got["displayName"] == step.get("displayName", got["displayName"]), step["name"]
        assert got["externalId"] == step.get("externalId", got["externalId"]), step["name"]
        if "ignored" in step:
            with sessions() as s:
                last = s.scalars(select(ProvisioningEvent).order_by(ProvisioningEvent.id.desc()).limit(1)).one()
                assert last.resource_type == "Group"
                assert sorted(last.changes["members"]["ignored"]) == sorted(ids[k] for k in step["ignored"])
    final = groups_on.get(f"Groups/{group['id']}").get_json()
    assert final["displayName"] == "Managers EMEA" and final["externalId"] == "ext-2" and "members" not in final
    # the old name is free and the new one found, case-insensitively
    assert groups_on.get("Groups", query_string={"filter": 'displayName eq "managers"'}).get_json()["totalResults"] == 0
    assert (
        groups_on.get("Groups", query_string={"filter": 'displayName eq "MANAGERS emea"'}).get_json()["totalResults"]
        == 1
    )


def test_add_and_remove_of_one_member_in_one_patch_leaves_no_net_change(groups_on, people, sessions):
    group = create_group(groups_on, members=[{"value": people["u1"]}])
    resp = groups_on.patch(
        f"Groups/{group['id']}",
        json=patch_ops(
            {"op": "Add", "path": "members", "value": [{"value": people["u2"]}]},
            {"op": "Remove", "path": "members", "value": [{"value": people["u2"]}]},
        ),
    )
    assert resp.status_code == 204
    assert member_ids(groups_on, group["id"]) == [people["u1"]]
    with sessions() as s:
        groups_events = s.scalars(select(ProvisioningEvent).where(ProvisioningEvent.resource_type == "Group")).all()
        assert [e.action for e in groups_events] == ["create"]  # nothing changed, so no event


def test_patch_answers_200_with_the_group_when_asked(groups_on, people):
    group = create_group(groups_on)
    ops = patch_ops({"op": "add", "path": "members", "value": [{"value": people["u1"]}]})
    resp = groups_on.patch(f"Groups/{group['id']}?excludedAttributes=members", json=ops)
    assert_scim(resp, 200)
    assert resp.get_json()["id"] == group["id"] and "members" not in resp.get_json()
    resp = groups_on.patch(f"Groups/{group['id']}?attributes=members", json=patch_ops())
    assert_scim(resp, 200)
    assert [m["value"] for m in resp.get_json()["members"]] == [people["u1"]]


def test_patch_add_never_loads_the_member_list(app, groups_on, people):
    group = create_group(groups_on, members=[{"value": people[k]} for k in ("u1", "u2", "u3")])
    for op in (
        {"op": "Add", "path": "members", "value": [{"value": people["u4"]}]},
        {"op": "Remove", "path": "members", "value": [{"value": people["u2"]}]},
        {"op": "remove", "path": f'members[value eq "{people["u3"]}"]'},
    ):
        with sql_log(app) as seen:
            assert groups_on.patch(f"Groups/{group['id']}", json=patch_ops(op)).status_code == 204
        touching = [s for s in seen if "group_members" in s]
        # One INSERT or DELETE keyed by (group, learner); never a SELECT of the members.
        assert len(touching) == 1 and not touching[0].startswith("select"), touching


def test_rename_to_a_taken_name_is_409_and_changes_nothing(groups_on, people):
    create_group(groups_on, displayName="Admins", externalId="a")
    group = create_group(groups_on)
    resp = groups_on.patch(
        f"Groups/{group['id']}",
        json=patch_ops(
            {"op": "Add", "path": "members", "value": [{"value": people["u1"]}]},
            {"op": "Replace", "path": "displayName", "value": "ADMINS"},
        ),
    )
    assert_scim(resp, 409)
    assert resp.get_json()["scimType"] == "uniqueness"
    got = groups_on.get(f"Groups/{group['id']}").get_json()
    assert got["displayName"] == "Managers" and "members" not in got


def test_rename_in_case_only_is_allowed(groups_on):
    group = create_group(groups_on)
    resp = groups_on.patch(
        f"Groups/{group['id']}", json=patch_ops({"op": "Replace", "path": "displayName", "value": "MANAGERS"})
    )
    assert resp.status_code == 204
    assert groups_on.get(f"Groups/{group['id']}").get_json()["displayName"] == "MANAGERS"


def test_a_failing_op_changes_nothing(groups_on, people):
    group = create_group(groups_on)
    for bad in (
        {"op": "Remove", "path": "displayName"},
        {"op": "Replace", "path": "displayName", "value": {"nested": 1}},
        {"op": "Add", "path": "members", "value": [{"display": "no id"}]},
        {"op": "Replace", "path": "members.display", "value": "x"},
        {"op": "jump", "path": "members"},
    ):
        resp = groups_on.patch(
            f"Groups/{group['id']}",
            json=patch_ops({"op": "Add", "path": "members", "value": [{"value": people["u1"]}]}, bad),
        )
        assert_scim(resp, 400)
        assert resp.get_json()["scimType"] in ("invalidValue", "invalidPath", "invalidSyntax"), bad
    got = groups_on.get(f"Groups/{group['id']}").get_json()
    assert got["displayName"] == "Managers" and "members" not in got


def test_create_without_display_name_or_with_bad_members_is_400(groups_on):
    resp = groups_on.post("Groups", json={"schemas": [CORE_GROUP], "externalId": "x"})
    assert_scim(resp, 400)
    assert "displayName" in resp.get_json()["detail"]
    resp = groups_on.post("Groups", json={"displayName": "X", "members": ["not-an-object"]})
    assert_scim(resp, 400)


def test_put_replaces_name_external_id_and_members(groups_on, people):
    group = create_group(groups_on, members=[{"value": people["u1"]}, {"value": people["u2"]}])
    resp = groups_on.put(
        f"Groups/{group['id']}",
        json={
            "schemas": [CORE_GROUP],
            "displayName": "Leads",
            "members": [{"value": people["u2"]}, {"value": people["u3"]}],
        },
    )
    assert_scim(resp, 200)
    got = resp.get_json()
    assert got["displayName"] == "Leads" and "externalId" not in got
    assert sorted(m["value"] for m in got["members"]) == sorted([people["u2"], people["u3"]])
    assert got["meta"]["version"] == 'W/"2"'


def test_stale_if_match_is_412(groups_on):
    group = create_group(groups_on)
    resp = groups_on.patch(f"Groups/{group['id']}", json=patch_ops(), headers={"If-Match": 'W/"99"'})
    assert_scim(resp, 412)


def test_delete_then_404_and_the_name_is_free_again(groups_on, people, sessions):
    group = create_group(groups_on, members=[{"value": people["u1"]}])
    assert groups_on.delete(f"Groups/{group['id']}").status_code == 204
    assert_scim(groups_on.get(f"Groups/{group['id']}"), 404)
    assert_scim(groups_on.delete(f"Groups/{group['id']}"), 404)
    assert_scim(groups_on.patch(f"Groups/{group['id']}", json=patch_ops()), 404)
    assert groups_on.get("Groups", query_string={"filter": 'displayName eq "Managers"'}).get_json()["totalResults"] == 0
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(GroupMember)) == 0
        deleted = s.scalars(select(ProvisioningEvent).where(ProvisioningEvent.action == "delete")).one()
        assert deleted.resource_type == "Group" and deleted.changes["members"] == {"removed": [people["u1"]]}
        assert deleted.changes["displayName"] == {"before": "Managers", "after": None}
    assert create_group(groups_on)["id"] != group["id"]


def test_other_paths_under_groups(groups_on):
    group = create_group(groups_on)
    assert_scim(groups_on.post(f"Groups/{group['id']}", json={}), 405)
    assert_scim(groups_on.get(f"Groups/{group['id']}/members"), 404)


# -- tenants ------------------------------------------------------------------------------------------


def test_one_company_never_sees_or_changes_another_companys_groups(app, groups_on, other_tenant, people):
    set_groups(app, other_tenant)
    group = create_group(groups_on, members=[{"value": people["u1"]}])
    assert other_tenant.get("Groups").get_json()["totalResults"] == 0
    assert (
        other_tenant.get("Groups", query_string={"filter": 'displayName eq "Managers"'}).get_json()["totalResults"] == 0
    )
    assert_scim(other_tenant.get(f"Groups/{group['id']}"), 404)
    assert_scim(other_tenant.patch(f"Groups/{group['id']}", json=patch_ops({"op": "Remove", "path": "members"})), 404)
    assert_scim(other_tenant.put(f"Groups/{group['id']}", json={"displayName": "Mine"}), 404)
    assert_scim(other_tenant.delete(f"Groups/{group['id']}"), 404)
    # The same name is free in another company.
    theirs = create_group(other_tenant, members=[{"value": people["u2"]}])
    assert "members" not in theirs  # A's learner cannot be put in B's group
    resp = other_tenant.patch(
        f"Groups/{theirs['id']}?attributes=members",
        json=patch_ops({"op": "Add", "path": "members", "value": [{"value": people["u1"]}]}),
    )
    assert_scim(resp, 200)
    assert "members" not in resp.get_json()
    assert member_ids(groups_on, group["id"]) == [people["u1"]]
    # B's token on A's URL: 401 before anything about groups is said.
    assert_scim(app.test_client().get(f"{groups_on.base}/Groups", headers=other_tenant.headers()), 401)


# -- users and their groups -------------------------------------------------------------------------------


def test_membership_survives_deactivation_and_reactivation(groups_on, people):
    group = create_group(groups_on, members=[{"value": people["u1"]}])
    for value in ("False", "True"):
        groups_on.patch(f"Users/{people['u1']}", json=patch_ops({"op": "Replace", "path": "active", "value": value}))
        assert member_ids(groups_on, group["id"]) == [people["u1"]]


def test_deleted_learner_leaves_its_groups(groups_on, people, sessions):
    group = create_group(groups_on, members=[{"value": people["u1"]}, {"value": people["u2"]}])
    assert groups_on.delete(f"Users/{people['u1']}").status_code == 204
    assert member_ids(groups_on, group["id"]) == [people["u2"]]
    with sessions() as s:
        deleted = s.scalars(
            select(ProvisioningEvent).where(
                ProvisioningEvent.resource_type == "User", ProvisioningEvent.action == "delete"
            )
        ).one()
        assert deleted.changes["groups"] == {"before": [group["id"]], "after": None}
    # A DELETEd learner's id is unknown to groups from now on.
    groups_on.patch(
        f"Groups/{group['id']}", json=patch_ops({"op": "Add", "path": "members", "value": [{"value": people["u1"]}]})
    )
    assert member_ids(groups_on, group["id"]) == [people["u2"]]


def test_users_show_their_groups_read_only(app, groups_on, people):
    managers = create_group(groups_on, members=[{"value": people["u1"]}])
    admins = create_group(groups_on, displayName="Admins", externalId="a", members=[{"value": people["u1"]}])
    got = groups_on.get(f"Users/{people['u1']}").get_json()
    assert [g["value"] for g in got["groups"]] == [admins["id"], managers["id"]]
    first = got["groups"][0]
    assert (
        first["display"] == "Admins" and first["$ref"].endswith(f"/Groups/{admins['id']}") and first["type"] == "direct"
    )
    assert "groups" not in groups_on.get(f"Users/{people['u2']}").get_json()
    # read-only: a PATCH cannot change them
    resp = groups_on.patch(f"Users/{people['u1']}", json=patch_ops({"op": "Replace", "path": "title", "value": "Boss"}))
    assert len(resp.get_json()["groups"]) == 2
    with sql_log(app) as seen:
        got = groups_on.get(f"Users/{people['u1']}", query_string={"excludedAttributes": "groups"}).get_json()
    assert "groups" not in got and not [s for s in seen if "group_members" in s]


def test_user_list_reads_the_page_groups_in_one_query(app, groups_on, people):
    create_group(groups_on, members=[{"value": people[k]} for k in ("u1", "u3", "u5")])
    with sql_log(app) as seen:
        page = groups_on.get("Users").get_json()
    assert page["totalResults"] == 5
    assert sorted("groups" in r for r in page["Resources"]) == [False, False, True, True, True]
    assert len([s for s in seen if "group_members" in s]) == 1


def test_users_of_a_groups_off_company_show_no_groups_and_cost_no_query(app, groups_on, people):
    create_group(groups_on, members=[{"value": people["u1"]}])
    set_groups(app, groups_on, on=False)
    with sql_log(app) as seen:
        got = groups_on.get(f"Users/{people['u1']}").get_json()
    assert "groups" not in got and not [s for s in seen if "group_members" in s]


# -- the outbox -------------------------------------------------------------------------------------------


def test_every_group_write_leaves_a_group_event(groups_on, people, sessions):
    group = create_group(groups_on, members=[{"value": people["u1"]}])
    groups_on.patch(f"Groups/{group['id']}", json=patch_ops({"op": "Replace", "path": "displayName", "value": "Leads"}))
    groups_on.patch(
        f"Groups/{group['id']}", json=patch_ops({"op": "Add", "path": "members", "value": [{"value": people["u2"]}]})
    )
    groups_on.put(f"Groups/{group['id']}", json={"displayName": "Leads", "externalId": "x"})
    groups_on.delete(f"Groups/{group['id']}")
    with sessions() as s:
        events = s.scalars(
            select(ProvisioningEvent).where(ProvisioningEvent.resource_type == "Group").order_by(ProvisioningEvent.id)
        ).all()
    assert [e.action for e in events] == ["create", "update", "update", "replace", "delete"]
    assert all(e.resource_id == group["id"] and e.token_name == "Acme token" and e.processed_at is None for e in events)
    assert events[0].changes["members"] == {"added": [people["u1"]]}
    assert events[0].changes["displayName"] == {"before": None, "after": "Managers"}
    assert events[1].changes == {"displayName": {"before": "Managers", "after": "Leads"}}
    assert events[2].changes == {"members": {"added": [people["u2"]]}}
    assert sorted(events[3].changes["members"]["removed"]) == sorted([people["u1"], people["u2"]])
    assert events[3].changes["externalId"]["after"] == "x"


def test_search_endpoint_is_not_offered_for_groups(groups_on):
    resp = groups_on.post("Groups/.search", json={"filter": 'displayName eq "x"'})
    assert_scim(resp, 501)
    assert "GET /Groups?filter=" in resp.get_json()["detail"]
