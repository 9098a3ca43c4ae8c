"""Issue 28, finished: the learner list's title and manager columns, the CSV's title and
manager, the people list by manager, and failed calls that show what was sent."""

import csv
import html
import io
import re
from datetime import timedelta

from sqlalchemy import select

from models import LearnerTraining, ScimFailure, utcnow
from service.dashboard.learners import learner_page
from tests.dashboard.helpers import run_events, user_body

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def add(tenant, name, title=None, manager=None):
    body = user_body(f"{name}@acme.example", given=name.title(), family="Doe")
    if title:
        body["title"] = title
    if manager:
        body[ENTERPRISE]["manager"] = {"value": manager}
    resp = tenant.post("Users", json=body)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["id"]


def text(resp):
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def overdue(sessions, *learner_ids):
    with sessions() as s:
        for row in s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id.in_(learner_ids))):
            row.status, row.due_at = "overdue", utcnow() - timedelta(days=2)
        s.commit()


def chain(tenant, sessions):
    """ann manages bea, who manages carl; each overdue."""
    ann = add(tenant, "ann", title="Chief People Officer")
    bea = add(tenant, "bea", title="Sales Engineer", manager="ann")
    carl = add(tenant, "carl", title="Account Executive", manager="bea")
    run_events(sessions)
    overdue(sessions, ann, bea, carl)
    return ann, bea, carl


def test_the_learner_list_shows_title_and_a_linked_manager_and_searches_titles(dash, tenant, sessions):
    ann, bea, carl = chain(tenant, sessions)

    page = text(dash.get("/dashboard/learners"))

    assert '<th scope="col">Title</th>' in page and '<th scope="col">Manager</th>' in page
    assert "Sales Engineer" in page
    assert f'<a href="/dashboard/learners/{ann}">Ann Doe</a>' in page  # bea's manager, resolved and linked
    found = text(dash.get("/dashboard/learners?q=engineer"))
    assert f"/dashboard/learners/{bea}" in found and f'/dashboard/learners/{carl}"' not in found


def test_the_csv_has_each_learners_title_and_manager(dash, tenant, sessions):
    ann, _, _ = chain(tenant, sessions)

    rows = list(csv.DictReader(io.StringIO(text(dash.get("/dashboard/reports/compliance.csv")))))

    by_user = {r["user_name"]: r for r in rows}
    assert (by_user["bea@acme.example"]["title"], by_user["bea@acme.example"]["manager"]) == (
        "Sales Engineer",
        "Ann Doe",
    )
    assert by_user["bea@acme.example"]["manager_id"] == ann
    assert (by_user["ann@acme.example"]["manager"], by_user["carl@acme.example"]["manager"]) == ("", "Bea Doe")


def test_the_people_list_takes_a_manager_and_the_reports_manager_rows_link_to_it(dash, tenant, sessions):
    ann, bea, carl = chain(tenant, sessions)
    people = "/dashboard/reports/compliance/people"

    below_ann = text(dash.get(f"{people}?manager={ann}"))
    assert f'/dashboard/learners/{bea}"' in below_ann and f'/dashboard/learners/{carl}"' in below_ann
    assert "2 people" in below_ann and "Only the learners below" in below_ann
    direct = text(dash.get(f"{people}?manager={ann}&direct=1"))
    assert f'/dashboard/learners/{bea}"' in direct and f'/dashboard/learners/{carl}"' not in direct
    assert dash.get(f"{people}?manager=nobody").status_code == 404

    report = html.unescape(text(dash.get("/dashboard/reports/compliance")))
    assert f"{people}?status=overdue&manager={bea}&direct=1" in report


def test_a_failed_call_shows_what_was_sent_without_secrets_and_links_the_learner(dash, tenant, sessions):
    bea = add(tenant, "bea")
    resp = tenant.patch(
        f"Users/{bea}",
        json={
            "schemas": [PATCH],
            "Operations": [
                {"op": "replace", "path": "password", "value": "Hunter2-secret"},
                {"op": "replace", "value": {"password": "Other-pass-9", "nickName": "Bee"}},
                {"op": "explode", "path": "title", "value": "Lead"},
            ],
        },
    )
    assert resp.status_code == 400

    with sessions() as s:
        [failure] = s.scalars(select(ScimFailure)).all()
    assert "Hunter2-secret" not in failure.request_body and "Other-pass-9" not in failure.request_body
    assert "explode" in failure.request_body and "Bee" in failure.request_body

    # Any part of a name finds the learner's failures: not only the exact userName.
    page = text(dash.get("/dashboard/activity?kind=failed&learner=BEA"))
    assert "What was sent (secrets removed)" in page and "[removed]" in page
    assert "Hunter2-secret" not in page
    assert re.search(rf'<a href="/dashboard/learners/{bea}">bea@acme.example</a>', page)


def test_a_large_body_is_kept_bounded_and_a_body_that_is_not_json_is_not_kept(tenant, sessions):
    big = user_body("big@acme.example")
    big["userName"] = ""  # refused: userName is required
    big["displayName"] = "x" * 20_000
    assert tenant.post("Users", json=big).status_code == 400
    garbage = tenant.call("POST", "Users", data=b"password=hunter2", headers={"Content-Type": "application/scim+json"})
    assert garbage.status_code == 400

    with sessions() as s:
        bodies = [f.request_body for f in s.scalars(select(ScimFailure).order_by(ScimFailure.id))]
    assert len(bodies) == 2 and len(bodies[0]) <= 4000 and bodies[0].endswith("…")
    assert bodies[1] is None


def _walk(session, company_id, sort, page_size=2, q=""):
    """Every learner id of a sorted list, page by page forward, then backward from the end."""
    args = {"sort": sort, "q": q}
    forward, pages = [], []
    page = learner_page(session, company_id, args, page_size)
    while True:
        pages.append([r.id for r in page["rows"]])
        forward += pages[-1]
        if not page["older"]:
            break
        page = learner_page(session, company_id, args | {"after": page["older"]}, page_size)
    backward = []
    while page["newer"]:
        page = learner_page(session, company_id, args | {"before": page["newer"]}, page_size)
        backward = [r.id for r in page["rows"]] + backward
    return forward, backward + pages[-1]


def test_the_learner_list_sorts_by_title_and_pages_through_every_learner_once(dash, tenant, sessions):
    ids = {
        name: add(tenant, name, title=title)
        for name, title in [("eve", "Buyer"), ("ann", None), ("dan", "Analyst"), ("bob", "Buyer"), ("cat", "Zoologist")]
    }
    run_events(sessions)
    ties = sorted([ids["eve"], ids["bob"]])
    expected = [ids["ann"], ids["dan"], *ties, ids["cat"]]  # no title first, ties by id

    with sessions() as s:
        assert _walk(s, tenant.id, "title") == (expected, expected)
        # A search with few matches pages the same way.
        assert _walk(s, tenant.id, "title", q="acme")[0] == expected
        assert _walk(s, tenant.id, "name")[0] == [ids[n] for n in ("ann", "bob", "cat", "dan", "eve")]

    page = text(dash.get("/dashboard/learners?sort=title"))
    assert page.index(f"/dashboard/learners/{ids['dan']}") < page.index(f"/dashboard/learners/{ids['cat']}")
    assert '<option value="title" selected>' in page
    # A cursor that is not one is ignored, never an error.
    assert dash.get("/dashboard/learners?sort=title&after=%7E&before=x").status_code == 200
