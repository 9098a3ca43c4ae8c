"""OneLogin replays: a SCIM 1.0 template (core 1.0 URN, ``emails`` as one object), the 2.0
template with its own extension, enabling the app, and DELETE (tests/fixtures/onelogin)."""

from tests.helpers import run_events
from tests.idps.conftest import ENTERPRISE, assert_scim, audit_actions, fixture, learner_row, trainings


def test_enabling_the_app_looks_up_a_user_that_does_not_exist(tenant):
    got = assert_scim(tenant.get('Users?filter=userName eq "onelogin-probe-7d1e@onelogin.example"'), 200)
    assert got["totalResults"] == 0 and got["Resources"] == []


def test_scim_1_template_with_one_email_object_provisions_a_nyc_learner(tenant, sessions):
    sent = fixture("onelogin", "create_user_scim1.json")
    created = assert_scim(tenant.post("Users", json=sent), 201)
    # The single email object is kept as a list of one, the SCIM 2.0 shape of the attribute.
    assert created["emails"] == [sent["emails"]]
    assert created["addresses"] == sent["addresses"] and created[ENTERPRISE] == {"department": "Retail"}
    run_events(sessions)
    # State and city came from the work address: New York, with the New York City content.
    row = learner_row(sessions, created["id"])
    assert (row.region, row.location, row.department) == ("US-NY", "New York City", "Retail")
    assert row.attribute_sources["state"] == 'addresses[type eq "work"].region'
    assert row.attribute_sources["department"] == "enterprise:department"
    assert set(trainings(sessions, created["id"])) == {"HP-NY-EMP"}
    # OneLogin's matching: by the email it sent.
    hit = tenant.get('Users?filter=emails.value eq "maria.garcia@onelogin.example"')
    assert [r["id"] for r in assert_scim(hit, 200)["Resources"]] == [created["id"]]


def test_scim_2_template_with_its_own_extension_reads_the_role_there(tenant, sessions):
    sent = fixture("onelogin", "create_user_scim2.json")
    created = assert_scim(tenant.post("Users", json=sent), 201)
    ext = "urn:ietf:params:scim:schemas:extension:onelogin:2.0:User"
    assert created[ext] == sent[ext] and created["title"] == "Shift Supervisor"
    run_events(sessions)
    assert set(trainings(sessions, created["id"])) == {"HP-CT-SUP", "ABAC"}


def test_delete_deactivates_and_keeps_the_history(tenant, sessions):
    created = assert_scim(tenant.post("Users", json=fixture("onelogin", "create_user_scim1.json")), 201)
    run_events(sessions)
    before = trainings(sessions, created["id"])
    assert tenant.delete(f"Users/{created['id']}").status_code == 204
    assert_scim(tenant.get(f"Users/{created['id']}"), 404)
    run_events(sessions)
    after = trainings(sessions, created["id"])
    assert set(after) == set(before) and set(after.values()) == {"archived"}
    assert audit_actions(sessions, created["id"]) == ["create", "delete"]
    # Assigned again later: the same learner comes back with its history.
    again = assert_scim(tenant.post("Users", json=fixture("onelogin", "create_user_scim1.json")), 201)
    assert again["id"] == created["id"]
    run_events(sessions)
    assert trainings(sessions, created["id"]) == {code: "assigned" for code in before}
