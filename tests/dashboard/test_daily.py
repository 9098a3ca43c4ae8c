"""Issue 28: the pages that answer an admin's daily questions (Flask client, real database).

Home (what needs attention), the people behind the compliance figures, the admin audit
trail of settings changes and runs, and the token form a reload does not send twice.
"""

import csv
import io
import re
from datetime import timedelta

from sqlalchemy import select

from models import AccessToken, Company, LearnerTraining, SettingsChange, utcnow
from tests.dashboard.conftest import CSRF, ONCE
from tests.dashboard.helpers import run_events, user_body
from workers import rerun

API = "/dashboard/settings/integrations/api"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def add(tenant, user_name, department="Ops", **ext):
    body = user_body(user_name, **({"training_tags": ""} | ext))
    body[ENTERPRISE]["department"] = department
    resp = tenant.post("Users", json=body)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.get_json()["id"]


def overdue(sessions, *learner_ids):
    with sessions() as s:
        for row in s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id.in_(learner_ids))):
            row.status, row.due_at = "overdue", utcnow() - timedelta(days=2)
        s.commit()


def text(resp):
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def test_a_reloaded_token_form_creates_one_token_and_the_trail_keeps_no_secret(dash, sessions):
    page = text(dash.get(API))
    form = {"csrf_token": CSRF.search(page).group(1), "once": ONCE.search(page).group(1)}
    form |= {"name": "Entra ID production", "expires": ""}
    first = dash.client.post(f"{API}/tokens", data=form)
    assert first.status_code == 201
    secret = re.search(r'id="new-secret"[^>]*value="([^"]+)"', first.get_data(as_text=True)).group(1)

    again = dash.client.post(f"{API}/tokens", data=form)  # the browser's reload sends the form again

    assert again.status_code == 303 and again.location.endswith(API)
    assert "That form was already sent" in text(dash.get(API))
    with sessions() as s:
        assert s.scalars(select(AccessToken.name).where(AccessToken.name == "Entra ID production")).all() == [
            "Entra ID production"
        ]
        [change] = s.scalars(select(SettingsChange)).all()
    assert (change.setting, change.actor, change.after["name"]) == (
        "token",
        "alice@acme.example",
        "Entra ID production",
    )
    assert secret not in repr(change.after) and change.before is None


def test_settings_changes_show_who_changed_what_with_before_and_after(dash, sessions, tenant):
    dash.post("/dashboard/smart-assign/settings", {"due_days": "14", "industry": ""}, page="/dashboard/smart-assign")
    dash.post(
        "/dashboard/smart-assign/mapping",
        {"sources-state": "extension:stat"} | {f"sources-{n}": "" for n in ("country", "location", "role")},
        page="/dashboard/smart-assign/mapping",
    )
    dash.post(
        "/dashboard/smart-assign/catalog/HP-NY-EMP",
        {"cadence_months": "6", "due_days": "", "title": ""},
        page="/dashboard/smart-assign/catalog",
    )
    dash.post(f"{API}/groups", {"enabled": "y"})

    page = text(dash.get("/dashboard/activity/admin"))
    for summary in ("Due period (days) changed", "HP-NY-EMP edited", "Group provisioning turned on"):
        assert summary in page
    assert page.count("alice@acme.example") >= 3
    with sessions() as s:
        rows = {c.setting: c for c in s.scalars(select(SettingsChange))}
    assert (rows["due_period"].before, rows["due_period"].after) == ({"due_days": 30}, {"due_days": 14})
    assert "industry" not in rows  # saved unchanged: no entry
    assert (rows["catalog"].before["cadence_months"], rows["catalog"].after["cadence_months"]) == (12, 6)
    # Filtered by setting.
    only = text(dash.get("/dashboard/activity/admin?setting=catalog"))
    assert "HP-NY-EMP edited" in only and "Due period (days) changed" not in only


def test_a_setting_changed_from_the_command_line_shows_on_the_admin_trail_as_the_cli(app, dash, tenant):
    result = app.test_cli_runner().invoke(args=["catalog", "company", str(tenant.id), "--due-days", "21"])
    assert result.exit_code == 0, result.output
    page = text(dash.get("/dashboard/activity/admin?setting=due_period"))
    assert "Due period (days) changed" in page and "CLI (operator)" in page
    assert '{"due_days": 30}' in page and '{"due_days": 21}' in page


def test_the_learner_page_names_the_region_and_sends_times_for_the_admins_zone(dash, tenant):
    learner = add(tenant, "on@acme.example", state="CA-ON", country="Canada")
    page = text(dash.get(f"/dashboard/learners/{learner}"))
    # CA-ON is Ontario, not California.
    assert '<span class="mono">CA-ON</span> <span class="place-name">Ontario</span>' in page
    # Every time is a <time> the page's script shows in the admin's zone, the UTC text kept for the hover.
    provisioned = re.search(r"<dt>Provisioned</dt><dd>(.*?)</dd>", page).group(1)
    assert re.fullmatch(r'<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z">\d{4}-\d\d-\d\d \d\d:\d\d UTC</time>', provisioned)


def test_a_rerun_that_moves_a_learner_is_on_its_page_and_the_run_on_the_activity_page(dash, tenant, sessions):
    learner = add(tenant, "ca@acme.example", training_tags="CYBER")
    run_events(sessions)
    with sessions() as s:
        s.get(Company, tenant.id).attribute_mapping = {"training_tags": ["extension:none"]}
        s.commit()
    rerun.run(sessions, tenant.id)

    learner_page = text(dash.get(f"/dashboard/learners/{learner}"))
    assert "Withdrawn, no longer required" in learner_page and "CYBER" in learner_page
    activity = text(dash.get("/dashboard/activity"))
    assert "Smart Assign re-run" in activity and 'id="runs"' in activity
    assert "User rerun" in text(dash.get("/dashboard/activity?kind=User:rerun"))


def test_home_lists_what_needs_attention_each_a_link(dash, tenant, sessions):
    ben = add(tenant, "ben@acme.example", state="Illinois")
    add(tenant, "nowhere@acme.example", state="", country="")
    run_events(sessions)
    overdue(sessions, ben)

    page = text(dash.get("/dashboard/"))

    assert re.search(r'data-item="overdue">\s*<a href="/dashboard/reports/compliance/people\?status=overdue">', page)
    assert "1</span> person with overdue trainings" in page
    assert "1</span> active learner without a state or country" in page
    assert "/dashboard/learners?status=active&amp;location=none" in page


def test_the_report_leads_with_people_filtered_and_linked(dash, tenant, sessions):
    ben = add(tenant, "ben@acme.example", department="Ops", state="Illinois")
    dee = add(tenant, "dee@acme.example", department="Sales", state="New York")
    add(tenant, "ana@acme.example", department="Sales")
    run_events(sessions)
    overdue(sessions, ben, dee)

    report = text(dash.get("/dashboard/reports/compliance"))
    assert "0 of 3 active learners" in report
    assert "/dashboard/reports/compliance/people?status=overdue" in report
    assert "/dashboard/reports/compliance/people?status=overdue&amp;region=US-IL" in report

    everyone = text(dash.get("/dashboard/reports/compliance/people"))
    assert f"/dashboard/learners/{ben}" in everyone and f"/dashboard/learners/{dee}" in everyone
    sales = text(dash.get("/dashboard/reports/compliance/people?department=Sales"))
    assert f"/dashboard/learners/{dee}" in sales and f"/dashboard/learners/{ben}" not in sales
    by_region = text(dash.get("/dashboard/reports/compliance/people?region=US-IL&training=HP-IL-SUP"))
    assert f"/dashboard/learners/{ben}" in by_region and f"/dashboard/learners/{dee}" not in by_region
    # A value that is not one of the choices is ignored, never an error.
    assert dash.get("/dashboard/reports/compliance/people?region=Atlantis&page=-3").status_code == 200

    rows = list(csv.DictReader(io.StringIO(text(dash.get("/dashboard/reports/compliance.csv")))))
    assert {(r["email"], r["department"]) for r in rows} >= {("ben@acme.example", "Ops"), ("dee@acme.example", "Sales")}


def test_a_cadence_longer_than_the_law_allows_is_saved_only_once_confirmed(dash, sessions):
    catalog = "/dashboard/smart-assign/catalog"
    assert "every 12 months" in text(dash.get(catalog))  # New York's legal minimum, shown
    form = {"cadence_months": "36", "due_days": "", "title": ""}

    refused = dash.post(f"{catalog}/HP-NY-EMP", form, page=catalog)

    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "the law requires HP-NY-EMP at least every 12 months" in page and 'name="below_legal"' in page
    with sessions() as s:
        assert s.scalars(select(SettingsChange)).all() == []
    saved = dash.post(f"{catalog}/HP-NY-EMP", form | {"below_legal": "yes"}, page=catalog)
    assert saved.status_code == 302 and saved.location.endswith("?saved=HP-NY-EMP#t-HP-NY-EMP")
    assert 'role="status">Saved.' in text(dash.get(f"{catalog}?saved=HP-NY-EMP"))


def test_the_groups_off_message_points_to_the_dashboard_switch(tenant, sessions):
    with sessions() as s:
        s.get(Company, tenant.id).groups_enabled = False
        s.commit()
    resp = tenant.post(
        "Groups", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales"}
    )
    assert resp.status_code == 501
    assert "Settings > Integrations > API > Group provisioning" in resp.get_json()["detail"]
