"""An HR admin's daily questions in headless Chromium (issue 28): what needs attention, who is
overdue (filtered, each person a link), who changed a setting, and a token form that a reload
does not send twice. Screenshots go to docs/screenshots/ under `make screenshots`."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import LearnerTraining, utcnow
from tests.conftest import make_tenant
from tests.dashboard.conftest import PASSWORD, make_admin
from tests.dashboard.helpers import run_events, user_body
from tests.dashboard.test_browser import browser, live, shot, shots_dir  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def add(tenant, user_name, given, family, department, title=None, manager=None, **ext):
    body = user_body(user_name, given=given, family=family, training_tags="", **ext)
    body[ENTERPRISE]["department"] = department
    if title:
        body["title"] = title
    if manager:
        body[ENTERPRISE]["manager"] = {"value": manager}
    resp = tenant.post("Users", json=body)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["id"]


def seed(app, sessions):
    """Ana (CA, Sales) completed everything; Ben (IL, Ops) and Dee (NY, Sales) are overdue;
    Cy sent neither state nor country. Ana manages Ben, who manages Dee."""
    tenant = make_tenant(sessions, app.test_client(), "Acme Corp", 7)
    ana = add(tenant, "ana.ruiz@acme.example", "Ana", "Ruiz", "Sales", title="Head of Sales")
    ben = add(tenant, "ben.ito@acme.example", "Ben", "Ito", "Ops", "Operations Lead", "ana.ruiz", state="Illinois")
    add(tenant, "cy.oh@acme.example", "Cy", "Oh", "Ops", state="", country="")
    dee = add(tenant, "dee.park@acme.example", "Dee", "Park", "Sales", "Account Executive", "ben.ito", state="New York")
    run_events(sessions)
    with sessions() as s:
        for row in s.scalars(select(LearnerTraining)):
            if row.learner_id == ana:
                row.status, row.progress, row.completed_at = "completed", 100, utcnow() - timedelta(days=20)
            elif row.learner_id in (ben, dee):
                row.status, row.due_at = "overdue", utcnow() - timedelta(days=3)
        s.commit()
    make_admin(sessions, 7, "hr-admin@acme.example")
    return dee, tenant


def test_home_people_first_report_admin_trail_and_token_reload(live, browser, sessions, shots_dir):  # noqa: F811
    from playwright.sync_api import expect

    url, app = live
    dee, _ = seed(app, sessions)
    # An admin in New York: times read in their zone, the UTC text on hover.
    context = browser.new_context(
        viewport={"width": 1366, "height": 860}, base_url=url, timezone_id="America/New_York", locale="en-US"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto("/dashboard/login")
    page.get_by_label("Email").fill("hr-admin@acme.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # Home: what needs attention, each a link to the list behind it.
    page.goto("/dashboard/")
    expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()
    # The top bar holds on one row at a laptop's width.
    assert page.evaluate("document.querySelector('.topbar').getBoundingClientRect().height") < 70
    expect(page.locator('[data-item="overdue"]')).to_contain_text("2 people with overdue trainings")
    expect(page.locator('[data-item="no_place"]')).to_contain_text("1 active learner without a state or country")
    expect(page.locator(".lead time")).to_have_attribute("title", re.compile(r" UTC$"))  # "as of", in their zone
    shot(page, "home", shots_dir)
    page.locator('[data-item="no_place"] a').click()
    expect(page.get_by_role("row").filter(has_text="cy.oh@acme.example")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="ana.ruiz@acme.example")).to_have_count(0)

    # Who is overdue: the people list, filtered by department, each person a link.
    page.goto("/dashboard/")
    page.locator('[data-item="overdue"] a').click()
    people = page.locator("#people")
    expect(people.get_by_role("row")).to_have_count(3)  # header + Ben + Dee
    page.get_by_label("Department").select_option("Sales")
    page.get_by_role("button", name="Apply").click()
    expect(people.get_by_role("row")).to_have_count(2)
    expect(people).to_contain_text("Dee Park")
    expect(people).to_contain_text("HP-NY-SUP")
    shot(page, "compliance-people", shots_dir)
    people.get_by_role("link", name="Dee Park").click()
    expect(page).to_have_url(f"{url}/dashboard/learners/{dee}")

    # The report leads with people; every count opens the people behind it.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Compliance").click()
    expect(page.locator('[data-figure="compliant-share"]')).to_have_text("25.0 %")
    shot(page, "compliance", shots_dir)
    page.locator('[data-figure="overdue"]').click()
    expect(page.get_by_role("heading", name="People with overdue trainings")).to_be_visible()
    expect(page.locator("#people").get_by_role("row")).to_have_count(3)

    # Admin trail: a due-period change, with who made it and the values before and after.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Smart Assign").click()
    page.get_by_label("Due period (days after assignment)").fill("14")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Activity").click()
    page.get_by_role("link", name="Admin changes").click()
    change = page.locator("#settings-changes").get_by_role("row").filter(has_text="Due period")
    expect(change).to_contain_text("hr-admin@acme.example")
    expect(change).to_contain_text('{"due_days": 30}')
    expect(change).to_contain_text('{"due_days": 14}')
    when = change.locator("time")
    expect(when).to_have_attribute("title", re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$"))
    expect(when).to_contain_text(re.compile(r"E[SD]T"))  # New York's time, not UTC
    shot(page, "admin-trail", shots_dir)

    # Creating a token, then reloading: the form is not sent twice, no second token.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    page.get_by_label("Name", exact=True).fill("Entra ID production")
    page.get_by_role("button", name="Create access token").click()
    expect(page.get_by_text("Copy it now: it will not be shown again.")).to_be_visible()
    page.reload()
    expect(page.get_by_text("That form was already sent")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Entra ID production")).to_have_count(1)
    page.goto("/dashboard/activity/admin?setting=token")
    expect(page.locator("#settings-changes").get_by_role("row")).to_have_count(2)  # header + one creation
    assert errors == []
    context.close()


def test_sorted_learners_chart_by_department_failed_call(live, browser, sessions, shots_dir):  # noqa: F811
    from playwright.sync_api import expect

    url, app = live
    dee, tenant = seed(app, sessions)
    refused = tenant.patch(
        f"Users/{dee}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "password", "value": "Sup3r-secret!"},
                {"op": "rename", "path": "title", "value": "Sales Director"},
            ],
        },
    )
    assert refused.status_code == 400
    context = browser.new_context(viewport={"width": 1366, "height": 860}, base_url=url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/dashboard/login")
    page.get_by_label("Email").fill("hr-admin@acme.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # Learners by title: Cy (no title) first, then Account Executive, Head of Sales, Operations Lead.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Learners").click()
    page.get_by_label("Sort by").select_option("title")
    page.get_by_role("button", name="Apply").click()
    rows = page.locator("table.learners tbody tr")
    expect(rows.nth(1)).to_contain_text("Account Executive")
    expect(rows.nth(3)).to_contain_text("Operations Lead")
    rows.nth(1).get_by_role("link", name="Ben Ito").click()  # Dee's manager, resolved and linked
    expect(page.get_by_role("heading", name="Ben Ito")).to_be_visible()
    page.go_back()
    shot(page, "learners-sorted", shots_dir)
    # By manager: those without one first (Ana, Cy), then Ana's report Ben, then Ben's report Dee.
    page.get_by_label("Sort by").select_option("manager")
    page.get_by_role("button", name="Apply").click()
    expect(rows.nth(0)).to_contain_text("Ana Ruiz")
    expect(rows.nth(2)).to_contain_text("Ben Ito")
    expect(rows.nth(3)).to_contain_text("Dee Park")
    # By overdue count: Ben and Dee (everything overdue) before Ana and Cy, by name.
    page.get_by_label("Sort by").select_option("overdue")
    page.get_by_role("button", name="Apply").click()
    expect(rows.nth(2)).to_contain_text("Ana Ruiz")
    expect(rows.nth(3)).to_contain_text("Cy Oh")

    # The chart by department, its figures in a table.
    page.goto("/dashboard/reports/compliance")
    page.get_by_role("link", name="By department").click()
    chart = page.get_by_role("img", name="Trainings owed by department, by standing")
    expect(chart).to_contain_text("Sales (")
    page.get_by_text("The chart's figures").click()
    expect(page.locator("#chart-figures").get_by_role("row").filter(has_text="Ops")).to_contain_text("1")
    shot(page, "compliance-by-department", shots_dir)

    # A refused call links to the learner and shows what was sent, the password removed.
    page.goto("/dashboard/activity?kind=failed&learner=park")
    failure = page.locator(".entry-failed").first
    failure.get_by_text("What was sent (secrets removed)").click()
    expect(failure).to_contain_text('"rename"')
    expect(failure).to_contain_text("[removed]")
    expect(failure).not_to_contain_text("Sup3r-secret!")
    shot(page, "activity-failed-call", shots_dir)
    failure.get_by_role("link", name="dee.park@acme.example").click()
    expect(page).to_have_url(f"{url}/dashboard/learners/{dee}")
    context.close()
