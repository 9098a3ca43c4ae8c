"""Okta replays: the App Integration Wizard's full-PUT cycle, the OIN PATCH cycle, import paging
and Push Groups, with the payloads Okta documents (tests/fixtures/okta). Each step checks what
Smart Assign assigned after the worker processed the events, not only the status code."""

import copy

from sqlalchemy import func, select

from models import Learner, ProvisioningEvent
from tests.helpers import run_events
from tests.idps.conftest import ERROR, LIST, assert_scim, audit_actions, fixture, learner_row, trainings

OKTA_NS = "urn:ietf:params:scim:schemas:extension:easyllama:2.0:User"
CA_SUPERVISOR = {"HP-CA-SUP", "WVP-CA", "CYBER", "HIPAA"}


def bare(tenant):
    """Okta's wizard lets the admin paste the token without "Bearer": every call then sends it bare."""
    return {"Authorization": tenant.token}


def okta(tenant, method, path, json=None):
    return tenant.client.open(
        f"{tenant.base}/{path}",
        method=method,
        json=json,
        headers=bare(tenant),
        content_type="application/json" if json is not None else None,
    )


def event_count(sessions):
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(ProvisioningEvent))


def test_test_api_credentials_with_a_bare_token_lists_users_and_groups(tenant):
    users = assert_scim(okta(tenant, "GET", "Users?startIndex=1&count=2"), 200)
    assert users["schemas"] == [LIST] and users["totalResults"] == 0
    # Groups are off for the company: the credential test still gets an empty list, not an error.
    groups = assert_scim(okta(tenant, "GET", "Groups?startIndex=1&count=100"), 200)
    assert groups["Resources"] == [] and groups["totalResults"] == 0
    # A write to /Groups still explains how to enable groups.
    refused = assert_scim(okta(tenant, "POST", "Groups", fixture("okta", "create_group.json")), 501)
    assert "--enable" in refused["detail"]


def test_aiw_full_put_cycle_keeps_every_attribute_and_drives_smart_assign(tenant, sessions):
    sent = fixture("okta", "create_user.json")
    # Lookup before create, the space as Okta encodes it ("+").
    lookup = okta(tenant, "GET", 'Users?filter=userName+eq+"test.user@okta.example"&startIndex=1&count=100')
    assert assert_scim(lookup, 200)["totalResults"] == 0
    created = assert_scim(okta(tenant, "POST", "Users", sent), 201)
    assert "password" not in created
    for key in ("easyllamaRole", "training_tags", "state", "country", "userName", "locale", "externalId"):
        assert created[key] == sent[key], key
    run_events(sessions)
    assert set(trainings(sessions, created["id"])) == CA_SUPERVISOR
    row = learner_row(sessions, created["id"])
    assert "password" not in row.resource and row.role == "supervisor" and row.region == "US-CA"
    assert row.attribute_sources["role"] == "easyllamaRole" and row.attribute_sources["state"] == "state"

    # Profile update: GET, change, PUT the whole body back (id, meta, groups: [], password included).
    got = assert_scim(okta(tenant, "GET", f"Users/{created['id']}"), 200)
    body = copy.deepcopy(got)
    body.update(state="Illinois", training_tags="CYBER,HIPAA,ABAC", groups=[], password="1mz050nq")
    put = assert_scim(okta(tenant, "PUT", f"Users/{created['id']}", body), 200)
    assert put["state"] == "Illinois" and put["training_tags"] == "CYBER,HIPAA,ABAC" and "password" not in put
    run_events(sessions)
    after_move = trainings(sessions, created["id"])
    # The new region's version replaces the unstarted California one; the new tag is added; the
    # unstarted California-only course is withdrawn (kept as a row, owed by nobody).
    assert set(after_move) == {"HP-IL-SUP", "WVP-CA", "CYBER", "HIPAA", "ABAC"}
    assert after_move["WVP-CA"] == "withdrawn"

    # Okta's next cycle reads back exactly what it wrote, so its echo PUT changes nothing.
    again = assert_scim(okta(tenant, "GET", f"Users/{created['id']}"), 200)
    events = event_count(sessions)
    echo = dict(again, password="1mz050nq", groups=[])
    assert_scim(okta(tenant, "PUT", f"Users/{created['id']}", echo), 200)
    assert event_count(sessions) == events

    # Deactivate by PUT: still readable and findable, same id; assignments archived, none removed.
    assert_scim(okta(tenant, "PUT", f"Users/{created['id']}", dict(again, active=False)), 200)
    off = assert_scim(okta(tenant, "GET", f"Users/{created['id']}"), 200)
    assert off["active"] is False and off["id"] == created["id"]
    found = okta(tenant, "GET", 'Users?filter=userName eq "TEST.USER@okta.example"&startIndex=1&count=100')
    assert [r["id"] for r in assert_scim(found, 200)["Resources"]] == [created["id"]]
    run_events(sessions)
    archived = trainings(sessions, created["id"])
    assert set(archived) == set(after_move)
    assert {code: status for code, status in archived.items() if code != "WVP-CA"} == dict.fromkeys(
        ("HP-IL-SUP", "CYBER", "HIPAA", "ABAC"), "archived"
    )

    # Reactivate by PUT: the same learner resumes with the same trainings, nothing duplicated.
    assert_scim(okta(tenant, "PUT", f"Users/{created['id']}", dict(again, active=True)), 200)
    run_events(sessions)
    resumed = trainings(sessions, created["id"])
    assert set(resumed) == set(after_move) and "archived" not in resumed.values()
    assert audit_actions(sessions, created["id"]) == ["create", "replace", "deactivate", "reactivate"]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Learner)) == 1


def test_oin_patch_cycle_deactivates_and_reactivates_with_path_less_replace(tenant, sessions):
    created = assert_scim(okta(tenant, "POST", "Users", fixture("okta", "create_user_namespace.json")), 201)
    assert created[OKTA_NS] == fixture("okta", "create_user_namespace.json")[OKTA_NS]
    run_events(sessions)
    # The role came from Okta's own namespace: non-supervisor, New York.
    assert set(trainings(sessions, created["id"])) == {"HP-NY-EMP"}

    # Profile change by PUT (OIN apps PUT profile changes).
    body = assert_scim(okta(tenant, "GET", f"Users/{created['id']}"), 200)
    body[OKTA_NS] = {**body[OKTA_NS], "learnerRole": "supervisor"}
    assert_scim(okta(tenant, "PUT", f"Users/{created['id']}", body), 200)
    run_events(sessions)
    # Promoted: the supervisor version replaces the employee one nobody started.
    assert set(trainings(sessions, created["id"])) == {"HP-NY-SUP"}

    # Password sync: accepted, never stored, never returned, never in the audit trail.
    pw = assert_scim(okta(tenant, "PATCH", f"Users/{created['id']}", fixture("okta", "patch_password.json")), 200)
    assert "password" not in pw
    assert "password" not in learner_row(sessions, created["id"]).resource

    off = okta(tenant, "PATCH", f"Users/{created['id']}", fixture("okta", "patch_deactivate.json"))
    assert assert_scim(off, 200)["active"] is False
    run_events(sessions)
    assert set(trainings(sessions, created["id"]).values()) == {"archived"}
    on = okta(tenant, "PATCH", f"Users/{created['id']}", fixture("okta", "patch_reactivate.json"))
    assert assert_scim(on, 200)["active"] is True and on.get_json()["id"] == created["id"]
    run_events(sessions)
    assert trainings(sessions, created["id"]) == {"HP-NY-SUP": "assigned"}
    assert audit_actions(sessions, created["id"]) == ["create", "replace", "deactivate", "reactivate"]
    # The custom attribute Okta sent in its namespace stays filterable.
    hit = okta(tenant, "GET", f'Users?filter={OKTA_NS}:costCode eq "CC-114"')
    assert [r["id"] for r in assert_scim(hit, 200)["Resources"]] == [created["id"]]


def test_import_pages_through_every_user_once_in_a_stable_order(tenant, sessions):
    ids = []
    for i in range(7):
        body = fixture("okta", "create_user.json")
        body.update(userName=f"user{i}@okta.example", externalId=f"00u{i}", emails=[])
        ids.append(assert_scim(okta(tenant, "POST", "Users", body), 201)["id"])
    seen = []
    for start in (1, 4, 7):
        page = assert_scim(okta(tenant, "GET", f"Users?startIndex={start}&count=3"), 200)
        assert page["totalResults"] == 7 and page["startIndex"] == start
        seen += [r["id"] for r in page["Resources"]]
    assert seen == ids
    run_events(sessions)
    assert all(set(trainings(sessions, i)) == CA_SUPERVISOR for i in ids)


def test_top_level_custom_attribute_is_filterable_and_a_typo_is_an_error(tenant):
    created = assert_scim(okta(tenant, "POST", "Users", fixture("okta", "create_user.json")), 201)
    hit = okta(tenant, "GET", 'Users?filter=easyllamaRole eq "SUPERVISOR"')
    assert [r["id"] for r in assert_scim(hit, 200)["Resources"]] == [created["id"]]
    typo = assert_scim(okta(tenant, "GET", 'Users?filter=easyllamaRoel eq "supervisor"'), 400)
    assert typo["scimType"] == "invalidFilter" and "easyllamaRoel" in typo["detail"]


def test_push_groups_when_groups_are_on(groups_on, sessions, app):
    tenant = groups_on
    result = app.test_cli_runner().invoke(args=["companies", "group-rule", str(tenant.id), "Supervisors CA", "ABAC"])
    assert result.exit_code == 0, result.output
    user = assert_scim(okta(tenant, "POST", "Users", fixture("okta", "create_user.json")), 201)
    lookup = okta(tenant, "GET", 'Groups?filter=displayName eq "Test SCIMv2"&startIndex=1&count=100')
    assert assert_scim(lookup, 200)["totalResults"] == 0
    group = assert_scim(okta(tenant, "POST", "Groups", fixture("okta", "create_group.json")), 201)
    rename = fixture("okta", "group_rename_and_add.json", group_id=group["id"], user_id=user["id"])
    resp = okta(tenant, "PATCH", f"Groups/{group['id']}", rename)
    assert resp.status_code in (200, 204), resp.get_data(as_text=True)
    got = assert_scim(okta(tenant, "GET", f"Groups/{group['id']}"), 200)
    assert got["displayName"] == "Supervisors CA" and [m["value"] for m in got["members"]] == [user["id"]]
    run_events(sessions)
    # The group rule of "Supervisors CA" reached the member through the push.
    assert set(trainings(sessions, user["id"])) == CA_SUPERVISOR | {"ABAC"}
    push_now = okta(tenant, "PATCH", f"Groups/{group['id']}", fixture("okta", "group_push_now_empty.json"))
    assert push_now.status_code in (200, 204)
    assert "members" not in assert_scim(okta(tenant, "GET", f"Groups/{group['id']}"), 200)
    run_events(sessions)
    # Leaving the group takes nothing away.
    assert set(trainings(sessions, user["id"])) == CA_SUPERVISOR | {"ABAC"}


def test_okta_spec_test_twelve_steps(tenant, sessions):
    """Okta's published SCIM 2.0 spec test, step by step."""
    # 1. Test Users endpoint: a list with paging.
    assert assert_scim(okta(tenant, "GET", "Users?count=1&startIndex=1"), 200)["schemas"] == [LIST]
    # 2-3. A random user does not exist: filter answers 200 with no hits.
    none = assert_scim(okta(tenant, "GET", 'Users?filter=userName eq "nobody-8f3a@okta.example"'), 200)
    assert none["totalResults"] == 0 and none["Resources"] == []
    # 4. Create a user with realistic values, sent as application/json: 201 echoing userName as sent.
    sent = fixture("okta", "create_user.json")
    created = assert_scim(okta(tenant, "POST", "Users", sent), 201)
    assert created["userName"] == "Test.User@okta.example" and created["active"] is True
    # 5. The created user reads back.
    assert assert_scim(okta(tenant, "GET", f"Users/{created['id']}"), 200)["id"] == created["id"]
    # 6. The same POST again is a conflict.
    dup = assert_scim(okta(tenant, "POST", "Users", sent), 409)
    assert dup["schemas"] == [ERROR] and dup["status"] == "409"
    # 7. userName lookup is case-insensitive.
    upper = okta(tenant, "GET", f'Users?filter=userName eq "{sent["userName"].upper()}"')
    assert assert_scim(upper, 200)["totalResults"] == 1
    # 8. A non-UUID id is a 404 with an Error body.
    missing = assert_scim(okta(tenant, "GET", "Users/010101001010101"), 404)
    assert missing["schemas"] == [ERROR] and missing["status"] == "404"
    # 9. A header that is not a token is refused with status "401".
    refused = tenant.client.get(f"{tenant.base}/Users", headers={"Authorization": "non-token"})
    body = assert_scim(refused, 401)
    assert body["status"] == "401" and body["schemas"] == [ERROR]
    # 10. Deactivate (OIN PATCH); 11. the user stays readable with active false.
    assert_scim(okta(tenant, "PATCH", f"Users/{created['id']}", fixture("okta", "patch_deactivate.json")), 200)
    assert assert_scim(okta(tenant, "GET", f"Users/{created['id']}"), 200)["active"] is False
    # 12. Reactivate: same id.
    back = okta(tenant, "PATCH", f"Users/{created['id']}", fixture("okta", "patch_reactivate.json"))
    assert assert_scim(back, 200)["active"] is True
    run_events(sessions)
    assert trainings(sessions, created["id"]) == {code: "assigned" for code in CA_SUPERVISOR}
