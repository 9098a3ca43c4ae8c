"""Assignments through the API: what Smart Assign gave a learner, and a course player's reports."""

import re

import pytest
from sqlalchemy import select

from models import LearnerTraining
from tests.api.conftest import post_learner, run_events

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture()
def assigned(api, tenant, sessions):
    """A CA supervisor provisioned over SCIM and processed by the workers: ``(learner_id, {code: item})``."""
    learner_id = post_learner(tenant)
    run_events(sessions)
    resp = api.get("learner_trainings", learner_id=learner_id)
    assert resp.status_code == 200
    return learner_id, {item["training_code"]: item for item in resp.get_json()["data"]}


def stored(sessions, assignment_id):
    with sessions() as s:
        row = s.get(LearnerTraining, assignment_id)
        return row.status, row.progress, row.completed_at


def test_a_ca_supervisor_gets_the_california_supervisor_course(assigned):
    learner_id, items = assigned
    assert {"HP-CA-SUP", "WVP-CA", "CYBER", "HIPAA"} <= set(items)
    hp = items["HP-CA-SUP"]
    assert hp["learner_id"] == learner_id
    assert hp["training_title"] == "Harassment Prevention: California Supervisor"
    assert (hp["status"], hp["progress"], hp["completed_at"]) == ("assigned", 0, None)
    assert ISO_Z.match(hp["assigned_at"]) and ISO_Z.match(hp["due_at"])


def test_before_the_workers_run_a_learner_has_no_trainings(api, tenant):
    learner_id = post_learner(tenant)
    assert api.get("learner_trainings", learner_id=learner_id).get_json() == {"data": []}


def test_the_learner_id_is_required(api):
    resp = api.get("learner_trainings")
    assert resp.status_code == 400
    assert "learner_id" in resp.get_json()["error"]


def test_progress_starts_a_training(api, assigned, sessions):
    item = assigned[1]["CYBER"]
    resp = api.patch(f"learner_trainings/{item['id']}", json={"progress": 40})
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["status"], body["progress"], body["completed_at"]) == ("in_progress", 40, None)
    assert stored(sessions, item["id"]) == ("in_progress", 40, None)
    assert api.get(f"learner_trainings/{item['id']}").get_json() == body


def test_completion_sets_progress_100_and_the_date_once(api, assigned, sessions):
    item = assigned[1]["HIPAA"]
    api.patch(f"learner_trainings/{item['id']}", json={"progress": 70})
    body = api.patch(f"learner_trainings/{item['id']}", json={"status": "completed"}).get_json()
    assert (body["status"], body["progress"]) == ("completed", 100)
    assert ISO_Z.match(body["completed_at"])
    # The player reporting the completion again is harmless and keeps the first date.
    again = api.patch(f"learner_trainings/{item['id']}", json={"status": "completed", "progress": 100})
    assert again.status_code == 200 and again.get_json()["completed_at"] == body["completed_at"]


def test_a_completion_cannot_be_undone(api, assigned, sessions):
    item = assigned[1]["HIPAA"]
    api.patch(f"learner_trainings/{item['id']}", json={"status": "completed"})
    before = stored(sessions, item["id"])
    for change in ({"progress": 50}, {"status": "in_progress"}, {"status": "assigned", "progress": 0}):
        resp = api.patch(f"learner_trainings/{item['id']}", json=change)
        assert resp.status_code == 409, change
        assert "cannot be undone" in resp.get_json()["error"]
    assert stored(sessions, item["id"]) == before


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"progress": 101}, "progress: Must be greater than or equal to 0 and less than or equal to 100"),
        ({"progress": -1}, "progress:"),
        ({"progress": "50"}, "progress: Not a valid integer"),
        ({"progress": 12.5}, "progress: Not a valid integer"),
        ({"progress": True}, "progress: Not a valid integer"),
        ({"status": "done"}, "status: Must be one of: assigned, in_progress, completed, archived"),
        ({"status": None}, "status: Field may not be null"),
        ({"score": 3}, "score: Unknown field; this endpoint accepts status, progress"),
        ({}, "Send 'status' and/or 'progress'"),
        ([{"progress": 1}], "Send a JSON object"),
        ({"status": "completed", "progress": 50}, "A completed training has progress 100"),
        ({"status": "assigned", "progress": 20}, "send status in_progress"),
    ],
)
def test_invalid_reports_are_400_and_change_nothing(api, assigned, sessions, body, words):
    item = assigned[1]["CYBER"]
    resp = api.patch(f"learner_trainings/{item['id']}", json=body)
    assert resp.status_code == 400
    assert words in resp.get_json()["error"]
    assert stored(sessions, item["id"]) == ("assigned", 0, None)


def test_a_body_that_is_not_json_is_400(api, assigned):
    resp = api.patch(f"learner_trainings/{assigned[1]['CYBER']['id']}", data="progress=40")
    assert resp.status_code == 400
    assert "JSON object" in resp.get_json()["error"]


def test_an_archived_training_cannot_change(api, tenant, assigned, sessions):
    learner_id, items = assigned
    patch = {"Operations": [{"op": "Replace", "path": "active", "value": "False"}]}
    assert tenant.patch(f"Users/{learner_id}", json=patch).status_code in (200, 204)
    run_events(sessions)
    item = api.get(f"learner_trainings/{items['CYBER']['id']}").get_json()
    assert item["status"] == "archived"
    for change in ({"progress": 10}, {"status": "completed"}):
        resp = api.patch(f"learner_trainings/{item['id']}", json=change)
        assert resp.status_code == 409
        assert "archived" in resp.get_json()["error"]
    assert stored(sessions, item["id"]) == ("archived", 0, None)


def test_a_caller_cannot_archive_a_training(api, assigned, sessions):
    item = assigned[1]["CYBER"]
    resp = api.patch(f"learner_trainings/{item['id']}", json={"status": "archived"})
    assert resp.status_code == 409
    assert "deactivated" in resp.get_json()["error"]
    assert stored(sessions, item["id"])[0] == "assigned"


def test_another_company_cannot_see_or_change_the_trainings(other_api, assigned, sessions):
    learner_id, items = assigned
    item = items["CYBER"]
    assert other_api.get("learner_trainings", learner_id=learner_id).status_code == 404
    assert other_api.get(f"learner_trainings/{item['id']}").status_code == 404
    resp = other_api.patch(f"learner_trainings/{item['id']}", json={"status": "completed"})
    assert resp.status_code == 404
    # The same answer as for an id that exists nowhere.
    assert resp.get_json() == {"error": f"No learner training with id {item['id']} in your company."}
    assert stored(sessions, item["id"]) == ("assigned", 0, None)


def test_unknown_training_ids_are_404(api, assigned):
    assert api.patch("learner_trainings/999999", json={"progress": 1}).status_code == 404
    assert api.patch(f"learner_trainings/{2**40}", json={"progress": 1}).status_code == 404


def test_only_the_learners_own_trainings_are_listed(api, tenant, sessions):
    first = post_learner(tenant, "first@acme.example")
    second = post_learner(tenant, "second@acme.example", state="New York")
    run_events(sessions)
    got = api.get("learner_trainings", learner_id=second).get_json()["data"]
    assert {i["learner_id"] for i in got} == {second}
    assert "HP-NY-SUP" in {i["training_code"] for i in got}
    with sessions() as s:
        total = len(s.scalars(select(LearnerTraining)).all())
    assert len(got) + len(api.get("learner_trainings", learner_id=first).get_json()["data"]) == total
