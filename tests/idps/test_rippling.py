"""Rippling replays: the /ServiceProviderConfig probe of its test connection, then a learner
with the attributes the admin listed, custom ones at the top level (tests/fixtures/rippling)."""

from tests.helpers import run_events
from tests.idps.conftest import assert_scim, fixture, learner_row, trainings


def test_service_provider_config_probe_is_truthful(tenant):
    config = assert_scim(tenant.get("ServiceProviderConfig"), 200)
    assert config["patch"]["supported"] is True and config["filter"]["supported"] is True
    assert config["bulk"]["supported"] is True and config["bulk"]["maxOperations"] >= 1000
    assert any(s["type"] == "oauthbearertoken" for s in config["authenticationSchemes"])
    # The same probe with a bare token (Rippling sends what the admin pasted).
    bare = tenant.client.get(f"{tenant.base}/ServiceProviderConfig", headers={"Authorization": tenant.token})
    assert assert_scim(bare, 200) == config


def test_learner_with_top_level_custom_attributes_gets_its_trainings(tenant, sessions):
    sent = fixture("rippling", "create_user.json")
    created = assert_scim(tenant.post("Users", json=sent), 201)
    for key in ("externalId", "emails", "name", "learnerRole", "training_tags", "addresses"):
        assert created[key] == sent[key], key
    by_external = tenant.get(f'Users?filter=externalId eq "{sent["externalId"]}"')
    assert [r["id"] for r in assert_scim(by_external, 200)["Resources"]] == [created["id"]]
    run_events(sessions)
    row = learner_row(sessions, created["id"])
    assert (row.region, row.role, row.training_tags) == ("US-DE", "supervisor", ["COC", "PRIVACY"])
    assert set(trainings(sessions, created["id"])) == {"HP-DE-SUP", "COC", "PRIVACY"}
    # A profile change through PATCH on the top-level custom attribute.
    resp = tenant.patch(
        f"Users/{created['id']}",
        json={"Operations": [{"op": "replace", "path": "learnerRole", "value": "non-supervisor"}]},
    )
    assert assert_scim(resp, 200)["learnerRole"] == "non-supervisor"
    run_events(sessions)
    # Demoted before starting: the unstarted supervisor version follows the learner to the
    # employee one (nothing new, nothing started taken away).
    assert set(trainings(sessions, created["id"])) == {"HP-DE-EMP", "COC", "PRIVACY"}
