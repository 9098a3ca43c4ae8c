"""GET /api/v1/learners and /learners/{id}: paging, filters, search, scoping, DELETEd learners."""

import re
from datetime import datetime, timedelta

from tests.api.conftest import insert_learners, post_learner

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def ids(resp):
    assert resp.status_code == 200, resp.get_json()
    return [item["id"] for item in resp.get_json()["data"]]


def test_a_provisioned_learner_shows_every_field(api, tenant):
    learner_id = post_learner(tenant, "JDoe@Acme.example")
    body = api.get("learners").get_json()
    assert body["meta"] == {"page": 1, "per_page": 50, "total": 1}
    item = body["data"][0]
    assert item == api.get(f"learners/{learner_id}").get_json()
    assert {k: item[k] for k in item if k not in ("created_at", "updated_at")} == {
        "id": learner_id,
        "user_name": "JDoe@Acme.example",
        "display_name": "Jo Doe",
        "given_name": "Jo",
        "family_name": "Doe",
        "email": "JDoe@Acme.example",  # as the IdP sent it, not lower-cased
        "active": True,
        "deleted": False,
        "region": "US-CA",
        "country": "US",
        "location": "Location from SCIM",
        "role": "supervisor",
        "training_tags": ["CYBER", "HIPAA"],
    }
    assert ISO_Z.match(item["created_at"]) and ISO_Z.match(item["updated_at"])


def test_pages_cover_every_learner_once_in_a_stable_order(api, sessions, tenant):
    # Same created_at for all: the id breaks the tie, so no learner is skipped or repeated.
    created = insert_learners(sessions, tenant.id, [f"P{i}" for i in range(5)])
    seen = []
    for page in (1, 2, 3):
        resp = api.get("learners", page=page, per_page=2)
        assert resp.get_json()["meta"] == {"page": page, "per_page": 2, "total": 5}
        seen += ids(resp)
    assert seen == sorted(created)
    assert ids(api.get("learners", page=4, per_page=2)) == []


def test_older_learners_come_first(api, sessions, tenant):
    later = insert_learners(sessions, tenant.id, ["Later"], created_at=datetime(2025, 3, 1))
    earlier = insert_learners(sessions, tenant.id, ["Earlier"], created_at=datetime(2025, 3, 1) - timedelta(days=1))
    assert ids(api.get("learners")) == earlier + later


def test_per_page_is_capped_at_200(api, sessions, tenant):
    insert_learners(sessions, tenant.id, [f"C{i}" for i in range(201)])
    resp = api.get("learners", per_page=500)
    assert resp.get_json()["meta"] == {"page": 1, "per_page": 200, "total": 201}
    assert len(ids(resp)) == 200


def test_filter_by_active(api, sessions, tenant):
    active = insert_learners(sessions, tenant.id, ["On"])
    inactive = insert_learners(sessions, tenant.id, ["Off"], active=False)
    assert ids(api.get("learners", active="true")) == active
    assert ids(api.get("learners", active="False")) == inactive
    assert api.get("learners", active="false").get_json()["meta"]["total"] == 1


def test_search_matches_names_email_and_username_ignoring_case(api, sessions, tenant):
    ana, bob = insert_learners(sessions, tenant.id, ["Ana", "Bob"])
    other = insert_learners(
        sessions,
        tenant.id,
        ["Zed"],
        userName="zed.login@corp.example",
        emails=[{"type": "work", "value": "zed.mail@elsewhere.example"}],
    )[0]
    assert ids(api.get("learners", search="aNA")) == [ana]  # given name / userName
    assert ids(api.get("learners", search="ana tester")) == [ana]  # full name
    assert ids(api.get("learners", search="ELSEWHERE")) == [other]  # email only
    assert ids(api.get("learners", search="zed.login")) == [other]  # userName only
    assert sorted(ids(api.get("learners", search="tester"))) == sorted([ana, bob, other])
    resp = api.get("learners", search="bob", active="true")
    assert ids(resp) == [bob] and resp.get_json()["meta"]["total"] == 1


def test_search_wildcards_match_themselves(api, sessions, tenant):
    insert_learners(sessions, tenant.id, ["Ana", "Bob"])
    assert ids(api.get("learners", search="%")) == []
    assert ids(api.get("learners", search="_")) == []


def test_bad_paging_and_filters_are_400_with_a_reason(api):
    cases = {
        (("page", "0"),): "page",
        (("page", "two"),): "page",
        (("per_page", "0"),): "per_page",
        (("per_page", "-5"),): "per_page",
        (("active", "yes"),): "active",
        (("colour", "red"),): "colour",
        (("search", "x" * 201),): "search",
    }
    for query, field in cases.items():
        resp = api.get("learners", **dict(query))
        assert resp.status_code == 400, query
        message = resp.get_json()["error"]
        assert message.startswith("Invalid query parameters:") and f"{field}:" in message, message


def test_a_deleted_learner_is_still_listed_and_flagged(api, tenant):
    kept = post_learner(tenant, "kept@acme.example")
    gone = post_learner(tenant, "gone@acme.example")
    assert tenant.delete(f"Users/{gone}").status_code == 204
    assert tenant.get(f"Users/{gone}").status_code == 404  # gone from SCIM...
    flags = {i["id"]: (i["deleted"], i["active"]) for i in api.get("learners").get_json()["data"]}
    assert flags == {kept: (False, True), gone: (True, False)}  # ...but in the company's records
    assert api.get(f"learners/{gone}").get_json()["deleted"] is True


def test_another_companys_learners_are_invisible(api, other_api, tenant, other_tenant):
    mine = post_learner(tenant)
    theirs = post_learner(other_tenant)  # same userName in another company
    assert ids(api.get("learners")) == [mine]
    assert ids(other_api.get("learners", search="jdoe")) == [theirs]
    resp = api.get(f"learners/{theirs}")
    assert resp.status_code == 404
    # Exactly the answer for an id that exists nowhere: nothing is revealed.
    unknown = api.get("learners/00000000-0000-4000-8000-000000000000").get_json()["error"]
    assert resp.get_json()["error"] == unknown.replace("00000000-0000-4000-8000-000000000000", theirs)


def test_an_impossible_learner_id_is_a_plain_404(api):
    assert api.get("learners/" + "x" * 300).status_code == 404


def test_a_learner_id_with_a_nul_is_a_400_naming_it(api):
    # The validation boundary (service.edge.input_limits) refuses control characters in path ids.
    resp = api.get("learners/a%00b")
    assert resp.status_code == 400
    assert "control character (U+0000)" in resp.get_json()["error"]
