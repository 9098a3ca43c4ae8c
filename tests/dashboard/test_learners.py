"""The Learners tab: search, filters, keyset paging and the learner page."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import insert

from models import Learner, utcnow
from service.dashboard import learners as learners_module
from tests.dashboard.helpers import post_learner, run_events

ROW = re.compile(r'href="/dashboard/learners/([0-9a-f-]{36})"')


@pytest.fixture(autouse=True)
def fresh_facets():
    learners_module._facets_cache.clear()


def ids_on(resp):
    assert resp.status_code == 200
    return ROW.findall(resp.get_data(as_text=True))


def bulk_learners(sessions, company_id, n):
    """``n`` learners inserted directly, one second apart (newest last); returns ids newest first."""
    start = utcnow() - timedelta(days=1)
    rows = []
    for i in range(n):
        name = f"bulk{i:04d}@acme.example"
        rows.append(
            dict(
                id=f"00000000-0000-4000-8000-{i:012d}",
                company_id=company_id,
                resource={"userName": name},
                user_name=name,
                user_name_lower=name,
                email_lower=name,
                given_name="Bulk",
                family_name=f"N{i}",
                active=i % 3 != 0,
                region="US-NY" if i % 2 else "US-CA",
                country="US",
                role="supervisor" if i % 5 == 0 else "non-supervisor",
                training_tags=[],
                version=1,
                created_at=start + timedelta(seconds=i // 2),
                updated_at=start,
            )
        )
    with sessions() as s:
        s.execute(insert(Learner), rows)
        s.commit()
    # Two learners share each created_at: the id breaks the tie.
    return [r["id"] for r in sorted(rows, key=lambda r: (r["created_at"], r["id"]), reverse=True)]


def test_paging_walks_every_learner_once_forwards_and_back(dash, tenant, sessions):
    expected = bulk_learners(sessions, tenant.id, 123)
    seen, pages, url = [], [], "/dashboard/learners"
    while url:
        resp = dash.get(url)
        page = ids_on(resp)
        seen += page
        pages.append(url)
        match = re.search(r'href="([^"]+)" rel="next"', resp.get_data(as_text=True))
        url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == expected and len(pages) == 3
    assert "123 learners" in dash.get("/dashboard/learners").get_data(as_text=True)
    # Back from the last page.
    last = dash.get(pages[-1]).get_data(as_text=True)
    prev = re.search(r'href="([^"]+)" rel="prev"', last).group(1).replace("&amp;", "&")
    assert ids_on(dash.get(prev)) == expected[50:100]


def test_filters_by_status_region_and_role(dash, tenant, sessions):
    bulk_learners(sessions, tenant.id, 30)
    active = ids_on(dash.get("/dashboard/learners?status=active"))
    inactive = ids_on(dash.get("/dashboard/learners?status=inactive"))
    assert len(active) == 20 and len(inactive) == 10 and not set(active) & set(inactive)
    ny = ids_on(dash.get("/dashboard/learners?location=region:US-NY"))
    assert len(ny) == 15
    supervisors = ids_on(dash.get("/dashboard/learners?role=supervisor"))
    assert len(supervisors) == 6
    # Supervisor (i % 5 == 0), inactive (i % 3 == 0) and in California (even): i == 0 only.
    both = ids_on(dash.get("/dashboard/learners?role=supervisor&status=inactive&location=region:US-CA"))
    assert both == ["00000000-0000-4000-8000-000000000000"]
    text = dash.get("/dashboard/learners").get_data(as_text=True)
    assert '<option value="region:US-NY"' in text and '<option value="region:US-CA"' in text


@pytest.mark.parametrize("query", ["jdoe@ACME", "Jo Doe", "jdoe", "Doe"])
def test_search_by_name_email_or_username(dash, tenant, query):
    learner_id = post_learner(tenant, "jdoe@acme.example", given="Jo", family="Doe")
    post_learner(tenant, "other@acme.example", given="Ann", family="Smith")
    assert ids_on(dash.get("/dashboard/learners", query_string={"q": query})) == [learner_id]


def test_search_treats_wildcards_as_text(dash, tenant):
    post_learner(tenant, "plain@acme.example")
    resp = dash.get("/dashboard/learners", query_string={"q": "%"})
    assert ids_on(resp) == [] and "No learner matches" in resp.get_data(as_text=True)


def test_a_malformed_cursor_shows_the_first_page(dash, tenant):
    learner_id = post_learner(tenant, "one@acme.example")
    assert ids_on(dash.get("/dashboard/learners?after=garbage")) == [learner_id]


def test_learner_page_shows_attributes_normalized_values_trainings_and_audit(dash, tenant, sessions):
    learner_id = post_learner(tenant, "jdoe@acme.example", state="California", learnerRole="Supervisor")
    page = dash.get(f"/dashboard/learners/{learner_id}").get_data(as_text=True)
    assert "waiting for Smart Assign" in page
    run_events(sessions)
    page = dash.get(f"/dashboard/learners/{learner_id}").get_data(as_text=True)
    # Every SCIM attribute as received, extension attributes under their URN.
    for path, value in [
        ("userName", "jdoe@acme.example"),
        ("name.givenName", "Jo"),
        ("emails[0].value", "jdoe@acme.example"),
        ("phoneNumbers[0].value", "5550100"),
        ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "701984"),
        ("urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:state", "California"),
        ("active", "true"),
    ]:
        assert re.search(rf">{re.escape(path)}</th><td[^>]*>{re.escape(value)}<", page), path
    assert "US-CA" in page and "Supervisor" in page and 'sent as "Supervisor"' in page
    # Trainings with status and due dates.
    assert "HP-CA-SUP" in page and "Harassment Prevention: California Supervisor" in page
    assert "Assigned" in page and (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d") in page
    # The audit trail of this learner.
    assert "User create" in page and "Trainings assigned" in page and "Acme token" in page
    assert "waiting for Smart Assign" not in page


def test_a_deleted_learner_is_still_in_the_records(dash, tenant, sessions):
    learner_id = post_learner(tenant, "gone@acme.example")
    assert tenant.delete(f"Users/{learner_id}").status_code == 204
    assert ids_on(dash.get("/dashboard/learners?status=deleted")) == [learner_id]
    page = dash.get(f"/dashboard/learners/{learner_id}").get_data(as_text=True)
    assert "Deleted in the IdP" in page and "training history are kept" in page


def test_an_unknown_learner_is_404(dash):
    assert dash.get("/dashboard/learners/00000000-0000-4000-8000-000000000000").status_code == 404
