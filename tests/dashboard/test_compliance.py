"""Reports › Compliance and Smart Assign › Catalog in the dashboard (test client; the browser test
covers the same pages in Chromium)."""

import csv
import io
from datetime import timedelta

from sqlalchemy import select

from models import Learner, LearnerTraining, utcnow
from tests.dashboard.helpers import post_learner, run_events


def seed(tenant, sessions):
    ca = post_learner(tenant, "ca@acme.example", training_tags="")
    tx = post_learner(tenant, "tx@acme.example", state="Texas", training_tags="")
    run_events(sessions)
    done = utcnow() - timedelta(days=40)
    with sessions() as s:
        for row in s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == ca)):
            row.status, row.progress, row.completed_at = "completed", 100, done
        for row in s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == tx)):
            row.status = "overdue"
        s.commit()
    return ca, tx


def test_the_report_page_shows_figures_tables_and_a_server_drawn_chart(dash, tenant, sessions):
    seed(tenant, sessions)
    html = dash.get("/dashboard/reports/compliance").get_data(as_text=True)
    assert 'data-figure="completed">2<' in html and 'data-figure="overdue">1<' in html
    assert "<svg" in html and "Trainings owed by region, by standing" in html
    # The chart's bars and its table: California's two trainings compliant, Texas's overdue.
    assert "US-CA (2)" in html and "US-TX (" in html
    figures = html.split('id="chart-figures"', 1)[1].split("</table>", 1)[0]
    assert '<th scope="row">US-CA</th><td>2</td><td>0</td><td>0</td><td>0</td>' in figures
    assert '<th scope="row">US-TX</th><td>0</td><td>0</td>' in figures
    by_department = dash.get("/dashboard/reports/compliance?chart=department").get_data(as_text=True)
    assert "Trainings owed by department, by standing" in by_department
    assert "<script" not in html.split("<main", 1)[1]  # no script and no CDN: the server draws it
    assert "https://" not in html


def test_the_csv_download_is_the_companys_rows(dash, tenant, other_tenant, sessions):
    ca, tx = seed(tenant, sessions)
    post_learner(other_tenant, "other@globex.example")
    run_events(sessions)
    resp = dash.get("/dashboard/reports/compliance.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert {r["learner_id"] for r in rows} == {ca, tx}
    assert {(r["training_code"], r["status"]) for r in rows if r["learner_id"] == tx} == {("HP-US-SUP", "overdue")}


def test_the_report_needs_a_signed_in_admin(anon):
    assert anon.get("/dashboard/reports/compliance").status_code == 302
    assert anon.get("/dashboard/reports/compliance.csv").status_code == 302


def test_an_admin_changes_a_cadence_and_adds_a_training_that_tags_assign(dash, tenant, sessions):
    ca, _ = seed(tenant, sessions)
    page = "/dashboard/smart-assign/catalog"
    resp = dash.post(f"{page}/WVP-CA", {"cadence_months": "6", "due_days": "14"}, page=page)
    assert resp.status_code == 302
    with sessions() as s:
        assert s.get(Learner, ca).review_at <= utcnow()  # re-planned by the next daily run
    html = dash.get(page).get_data(as_text=True)
    assert (
        'id="f-WVP-CA-cadence" name="cadence_months" type="number" min="1" max="120" inputmode="numeric" value="6"'
        in html
    )

    resp = dash.post(page, {"code": "fire-safety", "title": "Fire Safety", "cadence_months": "12"}, page=page)
    assert resp.status_code == 302
    bad = dash.post(page, {"code": "fire-safety", "title": "Again"}, page=page)
    assert bad.status_code == 400 and "already in the catalog" in bad.get_data(as_text=True)
    bad = dash.post(f"{page}/CYBER", {"cadence_months": "0"}, page=page)
    assert bad.status_code == 400 and "1 to 120 months" in bad.get_data(as_text=True)

    learner = post_learner(tenant, "fire@acme.example", training_tags="FIRE-SAFETY")
    run_events(sessions)
    with sessions() as s:
        rows = s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == learner)).all()
    fire = next(r for r in rows if r.training_code == "FIRE-SAFETY")
    assert fire.reason == "new learner: tag FIRE-SAFETY in training_tags"
    wvp = next(r for r in rows if r.training_code == "WVP-CA")
    assert wvp.due_at - wvp.assigned_at == timedelta(days=14)  # the training's own due period

    resp = dash.post(f"{page}/WVP-CA/reset", {}, page=page)
    assert resp.status_code == 302
    assert "Changed</span>" not in dash.get(page).get_data(as_text=True).split('id="t-WVP-CA"')[1].split("</tr>")[0]


def test_catalog_edits_stay_in_their_company(dash, other_tenant, sessions, client):
    page = "/dashboard/smart-assign/catalog"
    dash.post(page, {"code": "OWN", "title": "Our own"}, page=page)
    resp = client.get("/api/v1/trainings", headers={"Authorization": f"Bearer {other_tenant.token}"})
    assert "OWN" not in {t["code"] for t in resp.get_json()["data"]}
