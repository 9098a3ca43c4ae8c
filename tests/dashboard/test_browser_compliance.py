"""The compliance report and the catalog in headless Chromium: figures, the server-drawn chart,
the CSV download, and a cadence change."""

import csv
import io
import os
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import LearnerTraining, utcnow
from tests.conftest import make_tenant
from tests.dashboard.conftest import PASSWORD, make_admin
from tests.dashboard.helpers import post_learner, run_events
from tests.dashboard.test_browser import DOCS_SHOTS, browser, live  # noqa: F401  (fixtures)
from tests.dashboard.test_browser import shot as save_shot

pytestmark = pytest.mark.browser


def shot(page, name):
    """Refresh docs/screenshots/NAME.png only when asked (HERD_SCREENSHOTS=1): the suite leaves the tree clean."""
    if os.environ.get("HERD_SCREENSHOTS") == "1":
        save_shot(page, name, DOCS_SHOTS)


def seed(app, sessions):
    tenant = make_tenant(sessions, app.test_client(), "Acme Corp", 7)
    ca = post_learner(tenant, "ana.ruiz@acme.example", given="Ana", family="Ruiz", training_tags="")
    il = post_learner(tenant, "ben.ito@acme.example", given="Ben", family="Ito", state="Illinois", training_tags="")
    ny = post_learner(tenant, "cy.oh@acme.example", given="Cy", family="Oh", state="New York", training_tags="")
    run_events(sessions)
    with sessions() as s:
        for row in s.scalars(select(LearnerTraining)):
            if row.learner_id in (ca, ny):
                row.status, row.progress = "completed", 100
                row.completed_at = utcnow() - timedelta(days=200 if row.learner_id == ca else 20)
            else:
                row.status = "overdue"
        s.commit()
    make_admin(sessions, 7, "it-admin@acme.example")
    return ca, il, ny


def test_compliance_report_page_and_csv_download(live, browser, sessions, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    url, app = live
    seed(app, sessions)
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=url, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda r: errors.append(r.url) if not r.url.startswith(url) else None)  # no CDN

    page.goto("/dashboard/login")
    page.get_by_label("Email").fill("it-admin@acme.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Compliance").click()

    expect(page.get_by_role("heading", name="Compliance report")).to_be_visible()
    expect(page.locator('[data-figure="completed"]')).to_have_text("3")
    expect(page.locator('[data-figure="overdue"]')).to_have_text("1")
    regions = page.get_by_role("table", name="Trainings by region and status")
    expect(regions.get_by_role("row").filter(has_text="US-IL")).to_contain_text("1")
    chart = page.get_by_role("img", name="Trainings owed by region, by standing")
    expect(chart).to_be_visible()
    expect(chart).to_contain_text("Overdue")
    expect(chart).to_contain_text("US-IL (")
    shot(page, "compliance")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == f"compliance-7-{utcnow():%Y-%m-%d}.csv"
    path = tmp_path / "report.csv"
    download.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert {(r["user_name"], r["training_code"], r["status"]) for r in rows} == {
        ("ana.ruiz@acme.example", "HP-CA-SUP", "completed"),
        ("ana.ruiz@acme.example", "WVP-CA", "completed"),
        ("ben.ito@acme.example", "HP-IL-SUP", "overdue"),
        ("cy.oh@acme.example", "HP-NY-SUP", "completed"),
    }

    # Smart Assign › catalog: California's workplace violence course every 6 months.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Smart Assign").click()
    page.get_by_role("link", name="Change cadences and due periods").click()
    page.get_by_label("WVP-CA: recertify every (months)").fill("6")
    page.get_by_role("button", name="Save WVP-CA").click()
    expect(page.get_by_role("status").filter(has_text="WVP-CA saved")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="WVP-CA")).to_contain_text("Changed")
    shot(page, "catalog")
    # The report now counts Ana's 200-day-old WVP-CA completion as expired (valid 6 months).
    page.goto("/dashboard/reports/compliance")
    expect(page.locator('[data-figure="expired"]')).to_have_text("1")

    # Below New York's legal minimum (yearly): refused until confirmed, the confirmation on screen
    # at the row (far down the catalog), not only at the top of the page.
    page.goto("/dashboard/smart-assign/catalog")
    page.get_by_label("HP-NY-EMP: recertify every (months)").fill("36")
    page.get_by_role("button", name="Save HP-NY-EMP").click()
    confirm = page.get_by_label("Save below the legal minimum")
    expect(confirm).to_be_in_viewport()
    expect(page.locator("#t-HP-NY-EMP")).to_contain_text("the law requires HP-NY-EMP at least every 12 months")
    confirm.check()
    page.get_by_role("button", name="Save HP-NY-EMP").click()
    expect(page.get_by_role("status").filter(has_text="HP-NY-EMP saved")).to_be_visible()
    assert errors == []
    context.close()
