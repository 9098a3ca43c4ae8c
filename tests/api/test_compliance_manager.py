"""``/api/v1/reports/compliance?manager=<learner id>``: the whole chain below a manager, not
only the direct reports; its CSV too; ``group_by=manager`` counts by direct manager."""

import csv
import io

from tests.api.conftest import post_learner, user_body
from tests.helpers import run_events

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def post(tenant, name, manager=None):
    body = user_body(f"{name}@acme.example")
    body["displayName"] = name.title()
    if manager:
        body[ENTERPRISE]["manager"] = {"value": manager}
    resp = tenant.post("Users", json=body)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["id"]


def test_the_chain_below_a_manager_reaches_every_level(api, tenant, sessions):
    # Sent reports first: each is linked when its manager arrives.
    dave = post(tenant, "dave", manager="carl")
    carl = post(tenant, "carl", manager="bea")
    bea = post(tenant, "bea", manager="ann")
    ann = post(tenant, "ann")
    outsider = post(tenant, "olga")
    run_events(sessions)
    report = api.get("reports/compliance", manager=bea, group_by="manager", per_page=50).get_json()
    assert {row["learner_id"] for row in report["learners"]["data"]} == {carl, dave}
    assert report["learner_count"] == 2 and report["manager"] == bea
    assert {(g["manager_id"], g["manager"]) for g in report["by_manager"]} == {(bea, "Bea"), (carl, "Carl")}
    everyone = api.get("reports/compliance", manager=ann).get_json()
    assert {row["learner_id"] for row in everyone["learners"]["data"]} == {bea, carl, dave}
    assert outsider not in {row["learner_id"] for row in everyone["learners"]["data"]}
    resp = api.get("reports/compliance.csv", manager=bea)
    assert resp.status_code == 200
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert {row["learner_id"] for row in rows} == {carl, dave}
    assert "by_manager" not in api.get("reports/compliance").get_json()


def test_a_manager_of_another_company_or_a_bad_value_is_refused(api, other_tenant, tenant):
    theirs = post_learner(other_tenant, "x@globex.example")
    for path in ("reports/compliance", "reports/compliance.csv"):
        assert api.get(path, manager=theirs).status_code == 404
        assert api.get(path, manager="x" * 37).status_code == 400
    assert api.get("reports/compliance", group_by="region").status_code == 400
