"""JumpCloud replays: Test Connection (a test user and a test group, created then deleted),
and a learner whose location and title come in core attributes only (tests/fixtures/jumpcloud)."""

from sqlalchemy import func, select

from models import Learner
from tests.helpers import run_events
from tests.idps.conftest import assert_scim, fixture, learner_row, trainings


def _active_learners(sessions):
    with sessions() as s:
        return s.scalar(
            select(func.count()).select_from(Learner).where(Learner.active.is_(True), Learner.deleted_at.is_(None))
        )


def test_test_connection_with_groups_off_leaves_nothing_and_says_how_to_enable_groups(tenant, sessions):
    user = assert_scim(tenant.post("Users", json=fixture("jumpcloud", "test_connection_user.json")), 201)
    group = assert_scim(tenant.post("Groups", json=fixture("jumpcloud", "test_connection_group.json")), 501)
    # What the admin reads in JumpCloud for the group part of the test.
    assert "Group provisioning is disabled for this company" in group["detail"]
    assert f"companies groups {tenant.id} --enable" in group["detail"]
    assert tenant.delete(f"Users/{user['id']}").status_code == 204
    assert _active_learners(sessions) == 0
    run_events(sessions)
    # The worker sees a deleted learner: the test user never gets a training.
    assert trainings(sessions, user["id"]) == {}


def test_test_connection_with_groups_on_creates_and_deletes_both(groups_on, sessions):
    tenant = groups_on
    user = assert_scim(tenant.post("Users", json=fixture("jumpcloud", "test_connection_user.json")), 201)
    group = assert_scim(tenant.post("Groups", json=fixture("jumpcloud", "test_connection_group.json")), 201)
    assert tenant.delete(f"Groups/{group['id']}").status_code == 204
    assert tenant.delete(f"Users/{user['id']}").status_code == 204
    assert_scim(tenant.get(f"Groups/{group['id']}"), 404)
    assert _active_learners(sessions) == 0
    run_events(sessions)
    assert trainings(sessions, user["id"]) == {}


def test_work_address_gives_chicago_and_the_title_is_not_a_role(tenant, sessions):
    sent = fixture("jumpcloud", "create_user.json")
    created = assert_scim(tenant.post("Users", json=sent), 201)
    assert created["addresses"] == sent["addresses"] and created["title"] == "Engineering Manager"
    run_events(sessions)
    row = learner_row(sessions, created["id"])
    # The work address, not the home one; "Engineering Manager" is not read as a role (docs/idp-jumpcloud.md).
    assert (row.region, row.location, row.role) == ("US-IL", "Chicago", None)
    assert set(trainings(sessions, created["id"])) == {"HP-IL-EMP", "BYST-CHI"}
