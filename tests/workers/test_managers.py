"""The enterprise manager reference resolves to a learner of the same company, whichever
order the IdP sends them in (models/managers.py, run by the worker)."""

from models import Learner
from tests.api.conftest import user_body
from tests.helpers import run_events

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def post(tenant, name, manager=None):
    body = user_body(f"{name}@acme.example")
    if manager is not None:
        body[ENTERPRISE]["manager"] = {"value": manager}
    resp = tenant.post("Users", json=body)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["id"]


def manager_of(sessions, learner_id):
    with sessions() as s:
        return s.get(Learner, learner_id).manager_id


def test_a_report_sent_before_its_manager_is_linked_when_the_manager_arrives(tenant, sessions):
    report = post(tenant, "rita", manager="boss")  # Entra names the manager by externalId
    run_events(sessions)
    assert manager_of(sessions, report) is None
    boss = post(tenant, "boss")
    run_events(sessions)
    assert manager_of(sessions, report) == boss


def test_a_manager_sent_first_is_found_by_id(tenant, sessions):
    boss = post(tenant, "boss")
    report = post(tenant, "rita", manager=boss)
    run_events(sessions)
    assert manager_of(sessions, report) == boss


def test_a_manager_of_another_company_is_never_linked(tenant, other_tenant, sessions):
    other_boss = post(other_tenant, "boss")
    report = post(tenant, "rita", manager=other_boss)
    named = post(tenant, "nina", manager="boss")  # another company's "boss" has this externalId
    run_events(sessions)
    assert manager_of(sessions, report) is None and manager_of(sessions, named) is None
    boss = post(tenant, "boss")
    run_events(sessions)
    assert manager_of(sessions, named) == boss and manager_of(sessions, report) is None


def test_a_deactivated_manager_keeps_the_reports_until_a_new_manager_is_sent(tenant, sessions):
    boss = post(tenant, "boss")
    report = post(tenant, "rita", manager="boss")
    run_events(sessions)
    off = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    assert tenant.patch(f"Users/{boss}", json=off).status_code == 200
    run_events(sessions)
    assert manager_of(sessions, report) == boss
    new_boss = post(tenant, "nora")
    change = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "nora"}],
    }
    assert tenant.patch(f"Users/{report}", json=change).status_code == 200
    run_events(sessions)
    assert manager_of(sessions, report) == new_boss
