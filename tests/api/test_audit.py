"""GET /api/v1/audit_events: the company's trail, newest first, paged, per learner, scoped."""

from sqlalchemy import select

from models import ProvisioningEvent
from tests.api.conftest import post_learner, run_events


def actions(resp):
    assert resp.status_code == 200, resp.get_json()
    return [(e["action"], e["learner_id"]) for e in resp.get_json()["data"]]


def rename(tenant, learner_id, name):
    patch = {"Operations": [{"op": "Replace", "path": "displayName", "value": name}]}
    assert tenant.patch(f"Users/{learner_id}", json=patch).status_code in (200, 204)


def test_entries_are_newest_first_with_who_and_what(api, tenant, sessions):
    learner_id = post_learner(tenant)
    rename(tenant, learner_id, "Joanna Doe")
    run_events(sessions)
    body = api.get("audit_events").get_json()
    assert body["meta"] == {"page": 1, "per_page": 50, "total": 2}
    update, create = body["data"]
    assert (update["action"], create["action"]) == ("update", "create")
    assert update["token_name"] == "Acme token" and update["learner_id"] == learner_id
    assert update["changes"]["displayName"] == {"before": "Jo Doe", "after": "Joanna Doe"}
    assert "HP-CA-SUP" in create["outcome"]["trainings_added"]
    assert update["occurred_at"].endswith("Z") and update["occurred_at"] >= create["occurred_at"]
    assert tenant.token not in str(body)


def test_order_follows_when_the_change_happened_not_when_it_was_recorded(api, tenant, sessions):
    from workers.tasks import process

    learner_id = post_learner(tenant)
    rename(tenant, learner_id, "Later Name")
    with sessions() as s:
        first, second = s.scalars(select(ProvisioningEvent.id).order_by(ProvisioningEvent.id)).all()
    for event_id in (second, first):  # the relay delivered the older event last
        with sessions() as s:
            process(s, event_id)
    assert [a for a, _ in actions(api.get("audit_events"))] == ["update", "create"]


def test_pages_walk_the_trail_without_gaps(api, tenant, sessions):
    learner_id = post_learner(tenant)
    for i in range(4):
        rename(tenant, learner_id, f"Name {i}")
    run_events(sessions)
    seen = []
    for page in (1, 2, 3):
        resp = api.get("audit_events", page=page, per_page=2)
        assert resp.get_json()["meta"] == {"page": page, "per_page": 2, "total": 5}
        seen += [e["id"] for e in resp.get_json()["data"]]
    assert len(set(seen)) == 5
    names = [e["changes"]["displayName"]["after"] for e in api.get("audit_events").get_json()["data"][:4]]
    assert names == ["Name 3", "Name 2", "Name 1", "Name 0"]


def test_filter_by_learner(api, tenant, sessions):
    ana = post_learner(tenant, "ana@acme.example")
    bob = post_learner(tenant, "bob@acme.example")
    rename(tenant, bob, "Robert")
    run_events(sessions)
    assert actions(api.get("audit_events", learner_id=bob)) == [("update", bob), ("create", bob)]
    assert actions(api.get("audit_events", learner_id=ana)) == [("create", ana)]


def test_another_companys_trail_is_invisible(api, other_api, tenant, other_tenant, sessions):
    mine = post_learner(tenant)
    theirs = post_learner(other_tenant, **{"state": "New York"})
    run_events(sessions)
    assert actions(api.get("audit_events")) == [("create", mine)]
    assert actions(other_api.get("audit_events")) == [("create", theirs)]
    resp = api.get("audit_events", learner_id=theirs)
    assert resp.status_code == 404
    assert theirs in resp.get_json()["error"] and "No learner" in resp.get_json()["error"]


def test_a_deleted_learners_trail_stays_readable(api, tenant, sessions):
    learner_id = post_learner(tenant)
    assert tenant.delete(f"Users/{learner_id}").status_code == 204
    run_events(sessions)
    assert [a for a, _ in actions(api.get("audit_events", learner_id=learner_id))] == ["delete", "create"]


def test_bad_paging_is_400(api):
    resp = api.get("audit_events", per_page="lots")
    assert resp.status_code == 400 and "per_page" in resp.get_json()["error"]
