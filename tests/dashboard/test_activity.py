"""Provisioning activity: audit trail newest first, filters, and the SCIM calls that failed."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from models import AuditEvent, ScimFailure, utcnow
from service.edge import failures
from tests.dashboard.helpers import post_learner, run_events

PAGE = "/dashboard/activity"


@pytest.fixture(autouse=True)
def no_throttle_memory():
    failures._last_anonymous.clear()


def badges(resp):
    """The badge of each entry, in page order."""
    return re.findall(
        r'<li class="entry[^"]*">\s*<div class="entry-head">\s*<span class="badge [^"]+">([^<]+)</span>',
        resp.get_data(as_text=True),
    )


def recorded(sessions):
    with sessions() as s:
        return s.scalars(select(ScimFailure).order_by(ScimFailure.id)).all()


def test_a_refused_scim_call_is_recorded_and_shown_with_its_reason(dash, tenant, sessions):
    post_learner(tenant, "dup@acme.example")
    resp = tenant.post(
        "Users?aadOptscim062020&secret=shh",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "DUP@acme.example"},
    )
    assert resp.status_code == 409
    [row] = recorded(sessions)
    assert (row.company_id, row.method, row.status, row.scim_type) == (tenant.id, "POST", 409, "uniqueness")
    assert row.path == f"/scim/v2/{tenant.id}/Users" and "already used" in row.detail
    assert row.token_name == "Acme token"
    assert tenant.token not in repr(vars(row)) and "shh" not in repr(vars(row))

    text = dash.get(PAGE).get_data(as_text=True)
    assert "Failed 409 · uniqueness" in text and "is already used by another learner" in text
    assert f"POST /scim/v2/{tenant.id}/Users" in text


def test_failures_on_a_learner_show_on_its_page(dash, tenant, sessions):
    learner_id = post_learner(tenant, "p@acme.example")
    resp = tenant.patch(
        f"Users/{learner_id}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "frobnicate", "path": "active", "value": False}],
        },
    )
    assert resp.status_code == 400
    [row] = recorded(sessions)
    assert row.resource_id == learner_id
    page = dash.get(f"/dashboard/learners/{learner_id}").get_data(as_text=True)
    assert "Failed SCIM requests for this learner" in page and "Failed 400" in page
    text = dash.get(PAGE, query_string={"learner": "p@acme.example", "kind": "failed"}).get_data(as_text=True)
    assert "Failed 400" in text


PLANTED = "Your-account-is-locked.Call-+1-555-0100-now"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer herd_wrong_secret"}, {"Authorization": "Basic x"}])
def test_calls_without_a_valid_token_never_reach_the_companys_pages(
    dash, tenant, other_tenant, client, sessions, headers
):
    """An outsider's `/scim/v2/{id}/Users/<text>` put that text on company {id}'s Activity page."""
    for method in ("GET", "DELETE", "PATCH"):
        resp = client.open(f"/scim/v2/{tenant.id}/Users/{PLANTED}", method=method, headers=headers, json={})
        assert resp.status_code == 401
    # Another company's valid token is no valid token for this company either.
    wrong = client.get(
        f"/scim/v2/{tenant.id}/Users/{PLANTED}", headers={"Authorization": f"Bearer {other_tenant.token}"}
    )
    assert wrong.status_code == 401
    assert recorded(sessions) == []
    assert PLANTED not in dash.get(PAGE).get_data(as_text=True)
    assert PLANTED not in dash.get(PAGE, query_string={"kind": "failed"}).get_data(as_text=True)


def test_failures_recorded_without_a_token_before_are_not_shown(dash, tenant, sessions):
    """Rows such calls left in the table before the fix stay off the pages (until retention prunes them)."""
    learner_id = post_learner(tenant, "kept@acme.example")
    with sessions() as s:
        for token_name, path in ((None, f"/scim/v2/{tenant.id}/Users/{PLANTED}"), ("Acme token", "/shown")):
            s.add(
                ScimFailure(
                    company_id=tenant.id,
                    method="GET",
                    path=path,
                    resource_id=learner_id,
                    status=401 if token_name is None else 400,
                    detail="x",
                    token_name=token_name,
                    occurred_at=utcnow(),
                )
            )
        s.commit()
    for page in (PAGE, f"{PAGE}?kind=failed", f"/dashboard/learners/{learner_id}"):
        text = dash.get(page).get_data(as_text=True)
        assert PLANTED not in text and "/shown" in text


def test_a_429_of_a_valid_token_is_recorded_with_its_name_and_throttled(app, tenant, sessions):
    """A 429 is decided before authentication: its token is checked when it is recorded."""
    result = app.test_cli_runner().invoke(args=["companies", "rate-limit", str(tenant.id), "--per-minute", "1"])
    assert result.exit_code == 0, result.output
    assert [tenant.get("Users").status_code for _ in range(4)] == [200, 429, 429, 429]
    [row] = recorded(sessions)
    assert (row.status, row.token_name) == (429, "Acme token")


def test_failures_for_a_company_that_does_not_exist_are_not_recorded(client, sessions, tenant):
    assert client.get("/scim/v2/424242/Users", headers={"Authorization": "Bearer x"}).status_code == 401
    assert client.get("/scim/v2/424242/Nope").status_code == 404
    assert recorded(sessions) == []


def test_an_unknown_scim_path_of_a_company_is_recorded(tenant, sessions):
    assert tenant.get(f"/scim/v2/{tenant.id}/Bulk/x/y").status_code in (404, 405, 501)
    assert [r.path for r in recorded(sessions)] == [f"/scim/v2/{tenant.id}/Bulk/x/y"]


def test_successful_calls_record_nothing(tenant, sessions):
    post_learner(tenant, "ok@acme.example")
    assert tenant.get("Users", query_string={"filter": 'userName eq "none"'}).status_code == 200
    assert recorded(sessions) == []


def test_activity_is_newest_first_with_failures_merged_and_filters(dash, tenant, sessions):
    first = post_learner(tenant, "first@acme.example")
    tenant.post("Users", json={"userName": ""})  # 400, between the two creates
    second = post_learner(tenant, "second@acme.example")
    tenant.patch(f"Users/{second}", json={"Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    run_events(sessions)
    heads = badges(dash.get(PAGE))
    assert heads[:2] == ["User deactivate", "User create"] and heads[3] == "User create" and len(heads) == 4
    assert heads[2].startswith("Failed 400")

    assert [h[:10] for h in badges(dash.get(PAGE, query_string={"kind": "failed"}))] == ["Failed 400"]
    assert badges(dash.get(PAGE, query_string={"kind": "User:create"})) == ["User create", "User create"]
    by_learner = dash.get(PAGE, query_string={"learner": "FIRST@acme.example"})
    assert badges(by_learner) == ["User create"]
    assert f"/dashboard/learners/{first}" in by_learner.get_data(as_text=True)


def test_activity_pages_through_equal_timestamps_without_loss(dash, tenant, sessions):
    when = utcnow() - timedelta(hours=1)
    with sessions() as s:
        s.execute(
            insert(AuditEvent),
            [
                dict(
                    company_id=tenant.id,
                    learner_id=None,
                    resource_type="User",
                    action="update",
                    changes={},
                    outcome={},
                    occurred_at=when,
                    recorded_at=when,
                    token_name=f"t{i}",
                )
                for i in range(60)
            ],
        )
        s.execute(
            insert(ScimFailure),
            [
                dict(
                    company_id=tenant.id,
                    method="GET",
                    path=f"/scim/v2/7/Users/{i}",
                    status=404,
                    detail="nope",
                    token_name="Acme token",
                    occurred_at=when,
                )
                for i in range(45)
            ],
        )
        s.commit()
    seen, url = [], PAGE
    while url:
        resp = dash.get(url)
        text = resp.get_data(as_text=True)
        # Each entry is told apart by its token name or its path.
        seen += re.findall(r"via token “(t\d+)”|(/scim/v2/7/Users/\d+)", text)
        match = re.search(r'href="([^"]+)" rel="next"', text)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert len(seen) == len(set(seen)) == 105
