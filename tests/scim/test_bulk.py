"""POST /Bulk (RFC 7644 §3.7) against the Flask app and a real database: the RFC's own
examples (§3.7.1 to §3.7.3), bulkId references between a new user and a new group,
failOnErrors, the limits (413, nothing applied), and that each operation is its
single-request twin (validation, uniqueness, events, the rate limit)."""

import json

import pytest
from sqlalchemy import func, select

from models import Company, Group, GroupMember, Learner, ProvisioningEvent, ScimFailure
from service.scim.bulk import MAX_OPERATIONS, MAX_PAYLOAD_BYTES

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def bulk(tenant, operations, **extra):
    return tenant.post("Bulk", json={"schemas": [BULK_REQUEST], "Operations": operations, **extra})


def results(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["schemas"] == [BULK_RESPONSE]
    return body["Operations"]


def user_op(bulk_id, user_name, **data):
    return {
        "method": "POST",
        "path": "/Users",
        "bulkId": bulk_id,
        "data": {"schemas": [USER], "userName": user_name, **data},
    }


def count(sessions, model, *where):
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def events(sessions):
    with sessions() as s:
        return [(e.resource_type, e.resource_id, e.action) for e in s.scalars(select(ProvisioningEvent))]


def make_user(tenant, user_name):
    resp = tenant.post("Users", json={"schemas": [USER], "userName": user_name})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_service_provider_config_advertises_bulk(tenant):
    got = tenant.get("ServiceProviderConfig").get_json()["bulk"]
    assert got == {"supported": True, "maxOperations": MAX_OPERATIONS, "maxPayloadSize": MAX_PAYLOAD_BYTES}
    assert got["maxOperations"] >= 1000
    assert got["maxPayloadSize"] > 1024 * 1024  # more than the 1 MiB of any other request


def test_rfc_3_7_3_post_put_patch_delete_in_one_request(tenant, sessions):
    """The RFC's first example of §3.7.3: add, replace, modify and delete users, with versions."""
    bob = make_user(tenant, "Bob")
    dave = make_user(tenant, "Dave-before")
    gone = make_user(tenant, "Gone")
    resp = bulk(
        tenant,
        [
            user_op("qwerty", "Alice"),
            {
                "method": "PUT",
                "path": f"/Users/{bob['id']}",
                "version": bob["meta"]["version"],
                "data": {"schemas": [USER], "id": bob["id"], "userName": "Bob"},
            },
            {
                "method": "PATCH",
                "path": f"/Users/{dave['id']}",
                "version": dave["meta"]["version"],
                "data": {
                    "schemas": [PATCH_OP],
                    "Operations": [
                        {"op": "remove", "path": "nickName"},
                        {"op": "replace", "path": "userName", "value": "Dave"},
                    ],
                },
            },
            {"method": "DELETE", "path": f"/Users/{gone['id']}", "version": gone["meta"]["version"]},
        ],
        failOnErrors=1,
    )
    post, put, patch, delete = results(resp)
    base = "https://herd.test/scim/v2/7"
    assert post["method"] == "POST" and post["bulkId"] == "qwerty" and post["status"] == "201"
    alice_id = post["location"].rsplit("/", 1)[-1]
    assert post["location"] == f"{base}/Users/{alice_id}" and post["version"].startswith('W/"')
    assert tenant.get(f"Users/{alice_id}").get_json()["userName"] == "Alice"
    assert put == {
        "method": "PUT",
        "location": f"{base}/Users/{bob['id']}",
        "version": put["version"],
        "status": "200",
    }
    assert patch["status"] == "200" and patch["location"] == f"{base}/Users/{dave['id']}"
    assert tenant.get(f"Users/{dave['id']}").get_json()["userName"] == "Dave"
    assert delete == {"method": "DELETE", "location": f"{base}/Users/{gone['id']}", "status": "204"}
    assert tenant.get(f"Users/{gone['id']}").status_code == 404
    # Each operation that changed something has its event, as its single request would leave
    # it (Bob's PUT changed nothing: no event).
    assert events(sessions)[3:] == [
        ("User", alice_id, "create"),
        ("User", dave["id"], "update"),
        ("User", gone["id"], "delete"),
    ]


def test_rfc_3_7_3_errors_each_operation_answered_with_its_status(tenant, sessions):
    """§3.7.3: an operation that fails gets its status and the SCIM error as ``response``;
    the others still run (no failOnErrors)."""
    make_user(tenant, "Alice")
    resp = bulk(
        tenant,
        [
            user_op("qwerty", "Alice"),  # taken: the twin's 409 uniqueness
            {"method": "PUT", "path": "/Users/b7c14771-226c-4d05-8860-134711653041", "data": {"userName": "Bob"}},
            {"method": "DELETE", "path": "/Users/e9025315-6bea-44e1-899c-1e07454e468b"},
            user_op("asdfgh", "Carol"),
        ],
    )
    conflict, put, delete, created = results(resp)
    assert conflict["status"] == "409" and conflict["bulkId"] == "qwerty"
    assert conflict["response"]["schemas"] == [ERROR]
    assert conflict["response"]["scimType"] == "uniqueness" and conflict["response"]["status"] == "409"
    assert "location" not in conflict
    assert put["status"] == "404" and put["response"]["status"] == "404"
    assert delete["status"] == "404"
    assert delete["location"] == "https://herd.test/scim/v2/7/Users/e9025315-6bea-44e1-899c-1e07454e468b"
    assert created["status"] == "201"
    assert count(sessions, Learner) == 2
    # Failed operations are recorded for the activity page like their twins.
    assert count(sessions, ScimFailure) == 3


def test_rfc_3_7_3_fail_on_errors_stops_after_that_many_errors(tenant, sessions):
    """failOnErrors 1: processing stops at the first error; only what ran is in the response."""
    resp = bulk(
        tenant,
        [user_op("qwerty", "Alice", name="not an object"), user_op("ytrewq", "Bob"), user_op("asdfgh", "Carol")],
        failOnErrors=1,
    )
    (only,) = results(resp)
    assert only["status"] == "400" and only["bulkId"] == "qwerty"
    assert only["response"]["scimType"] == "invalidValue"
    assert count(sessions, Learner) == 0

    resp = bulk(
        tenant,
        [user_op("a", "Dup"), user_op("b", "Dup"), user_op("c", "Other"), user_op("d", "Dup"), user_op("e", "Last")],
        failOnErrors=2,
    )
    assert [r["status"] for r in results(resp)] == ["201", "409", "201", "409"]
    assert count(sessions, Learner) == 2  # "Last" never ran


def test_rfc_3_7_2_bulk_id_between_a_new_user_and_a_new_group(groups_on, sessions):
    """§3.7.2: the group's member is the user made by an earlier operation of the same request."""
    resp = bulk(
        groups_on,
        [
            user_op("qwerty", "Alice"),
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "ytrewq",
                "data": {
                    "schemas": [GROUP],
                    "displayName": "Tour Guides",
                    "members": [{"type": "User", "value": "bulkId:qwerty"}],
                },
            },
        ],
    )
    user, group = results(resp)
    assert user["status"] == "201" and group["status"] == "201"
    alice_id = user["location"].rsplit("/", 1)[-1]
    got = groups_on.get(group["location"].replace("https://herd.test", "")).get_json()
    assert [m["value"] for m in got["members"]] == [alice_id]
    assert got["displayName"] == "Tour Guides"


def test_a_reference_may_point_forward_and_be_used_in_paths(groups_on, sessions):
    """The group comes first and names a user made later; a PATCH path names the group by bulkId."""
    resp = bulk(
        groups_on,
        [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": {"displayName": "Guides", "members": [{"value": "bulkId:alice"}]},
            },
            user_op("alice", "Alice"),
            user_op("bob", "Bob"),
            {
                "method": "PATCH",
                "path": "/Groups/bulkId:g",
                "data": {
                    "schemas": [PATCH_OP],
                    "Operations": [
                        {"op": "add", "path": "members", "value": [{"value": "bulkId:bob"}]},
                        {"op": "remove", "path": 'members[value eq "bulkId:alice"]'},
                    ],
                },
            },
        ],
    )
    group, alice, bob, patch = results(resp)
    assert [group["status"], alice["status"], bob["status"], patch["status"]] == ["201", "201", "201", "204"]
    group_id = group["location"].rsplit("/", 1)[-1]
    assert patch["location"] == f"https://herd.test/scim/v2/7/Groups/{group_id}"
    members = groups_on.get(f"Groups/{group_id}").get_json()["members"]
    assert [m["value"] for m in members] == [bob["location"].rsplit("/", 1)[-1]]


def test_rfc_3_7_1_circular_references_are_409_and_unknown_ones_400(groups_on, sessions):
    """§3.7.1's two groups naming each other: Herd's groups hold learners only, so the cycle
    cannot be resolved: both get a 409, nothing is made. An unknown bulkId is a 400."""
    resp = bulk(
        groups_on,
        [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "qwerty",
                "data": {
                    "schemas": [GROUP],
                    "displayName": "Group A",
                    "members": [{"type": "Group", "value": "bulkId:ytrewq"}],
                },
            },
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "ytrewq",
                "data": {
                    "schemas": [GROUP],
                    "displayName": "Group B",
                    "members": [{"type": "Group", "value": "bulkId:qwerty"}],
                },
            },
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "c",
                "data": {"displayName": "C", "members": [{"value": "bulkId:nowhere"}]},
            },
            user_op("u", "Alice"),
        ],
    )
    a, b, unknown, user = results(resp)
    assert a["status"] == "409" and b["status"] == "409"
    assert "circular" in a["response"]["detail"]
    assert unknown["status"] == "400" and "nowhere" in unknown["response"]["detail"]
    assert user["status"] == "201"
    assert count(sessions, Group) == 0 and count(sessions, GroupMember) == 0


def test_an_operation_referring_to_a_failed_post_is_not_applied(groups_on, sessions):
    make_user(groups_on, "Alice")
    resp = bulk(
        groups_on,
        [
            user_op("alice", "alice"),  # 409: the name is taken (case-insensitively)
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": {"displayName": "G", "members": [{"value": "bulkId:alice"}]},
            },
        ],
    )
    user, group = results(resp)
    assert user["status"] == "409"
    assert group["status"] == "409" and "alice" in group["response"]["detail"]
    assert count(sessions, Group) == 0


@pytest.mark.parametrize(
    "operation, fragment",
    [
        ({"method": "GET", "path": "/Users"}, "method"),
        ({"method": "POST", "path": "/Bulk", "bulkId": "x", "data": {}}, "path"),
        ({"method": "POST", "path": "/Users/.search", "bulkId": "x", "data": {}}, "POST needs"),
        ({"method": "POST", "path": "https://evil.example/Users", "bulkId": "x", "data": {}}, "path"),
        ({"method": "POST", "path": "/Users", "data": {"userName": "x"}}, "bulkId is required"),
        ({"method": "PUT", "path": "/Users", "data": {"userName": "x"}}, "one resource"),
        ({"method": "PATCH", "path": "/Users/1"}, "data is required"),
        ({"method": "DELETE", "path": "/Users/1", "version": 3}, "version"),
        ({"method": None, "path": None}, "method"),
    ],
)
def test_a_malformed_operation_is_a_400_of_its_own(tenant, sessions, operation, fragment):
    resp = bulk(tenant, [operation, user_op("ok", "Alice")])
    bad, ok = results(resp)
    assert bad["status"] == "400" and fragment in bad["response"]["detail"]
    assert ok["status"] == "201"


@pytest.mark.parametrize(
    "body, status, fragment",
    [
        ({"schemas": [BULK_REQUEST]}, 400, "Operations"),
        ({"Operations": {"method": "POST"}}, 400, "Operations"),
        ({"Operations": ["x"]}, 400, "Operation 1"),
        ({"Operations": [], "failOnErrors": 0}, 400, "failOnErrors"),
        ({"Operations": [], "failOnErrors": "1"}, 400, "failOnErrors"),
        ({"Operations": [user_op("a", "A"), user_op("a", "B")]}, 400, "twice"),
        ({"Operations": [user_op(f"b{i}", f"u{i}") for i in range(MAX_OPERATIONS + 1)]}, 413, "maxOperations"),
    ],
)
def test_a_malformed_request_applies_nothing(tenant, sessions, body, status, fragment):
    resp = tenant.post("Bulk", json=body)
    assert resp.status_code == status, resp.get_json()
    got = resp.get_json()
    assert got["schemas"] == [ERROR] and got["status"] == str(status) and fragment in got["detail"]
    assert count(sessions, Learner) == 0


def test_over_max_payload_size_is_a_413_and_nothing_is_applied(tenant, sessions):
    filler = "x" * 200
    operations = [user_op(f"b{i}", f"user{i}", nickName=filler) for i in range(1000)]
    body = json.dumps({"schemas": [BULK_REQUEST], "Operations": operations})
    body += " " * (MAX_PAYLOAD_BYTES + 1 - len(body))
    resp = tenant.post("Bulk", data=body, headers={"Content-Type": "application/scim+json"})
    assert resp.status_code == 413
    got = resp.get_json()
    assert got["schemas"] == [ERROR] and "maxPayloadSize" in got["detail"]
    assert count(sessions, Learner) == 0


def test_a_bulk_body_larger_than_the_usual_limit_is_accepted(tenant, sessions):
    """Up to maxPayloadSize gets in on /Bulk; every other request keeps the 1 MiB limit."""
    operations = [user_op(f"b{i}", f"user{i}") for i in range(10)]
    body = json.dumps({"schemas": [BULK_REQUEST], "Operations": operations})
    body += " " * (MAX_PAYLOAD_BYTES - len(body))  # exactly maxPayloadSize
    resp = tenant.post("Bulk", data=body, headers={"Content-Type": "application/scim+json"})
    assert [r["status"] for r in results(resp)] == ["201"] * 10
    big_user = json.dumps({"schemas": [USER], "userName": "big"}) + " " * (1024 * 1024)
    assert tenant.post("Users", data=big_user, headers={"Content-Type": "application/scim+json"}).status_code == 413
    assert count(sessions, Learner) == 10


def test_each_operation_is_validated_and_evented_like_its_twin(tenant, sessions):
    """A body its single POST refuses is refused inside /Bulk with the same error; every
    operation made has exactly its one event."""
    bad = {"schemas": [USER], "userName": "x" * 301}  # longer than its column
    single = tenant.post("Users", json=bad).get_json()
    resp = bulk(tenant, [{"method": "POST", "path": "/Users", "bulkId": "bad", "data": bad}, user_op("ok", "Alice")])
    refused, made = results(resp)
    assert refused["status"] == "400" and refused["response"] == single
    made_id = made["location"].rsplit("/", 1)[-1]
    assert events(sessions) == [("User", made_id, "create")]


def test_groups_off_answers_each_group_operation_as_its_twin(tenant, sessions):
    resp = bulk(tenant, [{"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"displayName": "G"}}])
    (group,) = results(resp)
    assert group["status"] == "501" and "Group provisioning is disabled" in group["response"]["detail"]


def test_another_companys_resources_are_not_reachable(tenant, other_tenant, sessions):
    theirs = make_user(other_tenant, "theirs")
    resp = bulk(tenant, [{"method": "DELETE", "path": f"/Users/{theirs['id']}"}])
    assert results(resp)[0]["status"] == "404"
    assert other_tenant.get(f"Users/{theirs['id']}").status_code == 200


def test_the_rate_limit_counts_each_operation(tenant, sessions):
    """With a budget of 5 calls a minute, a /Bulk of 6 creates runs 4 (the request itself
    is the first call): the rest are 429, not applied, and the next call is refused too."""
    with sessions() as s:
        s.get(Company, tenant.id).rate_limit_per_minute = 5
        s.commit()
    resp = bulk(tenant, [user_op(f"b{i}", f"user{i}") for i in range(6)])
    statuses = [r["status"] for r in results(resp)]
    assert statuses == ["201"] * 4 + ["429"] * 2
    assert results(resp)[-1]["response"]["status"] == "429"
    assert count(sessions, Learner) == 4
    assert tenant.get("Users").status_code == 429


def test_operations_over_the_per_second_burst_wait_for_the_next_second(tenant, sessions):
    """A burst of 3 a second (no per-minute limit): a /Bulk of 7 creates is paced to the
    budget, not refused; every operation is made."""
    with sessions() as s:
        company = s.get(Company, tenant.id)
        company.rate_limit_per_second, company.rate_limit_per_minute = 3, 0
        s.commit()
    resp = bulk(tenant, [user_op(f"b{i}", f"user{i}") for i in range(7)])
    assert [r["status"] for r in results(resp)] == ["201"] * 7
    assert count(sessions, Learner) == 7
