"""GET /api/v1/reports/compliance and its CSV export: what each learner owes and where they stand."""

import csv
import io
from datetime import datetime, timedelta

import time_machine
from sqlalchemy import select

from models import LearnerTraining
from tests.api.conftest import post_learner, run_events

T0 = datetime(2026, 2, 2, 9, 0)


def setup_company(api, tenant, sessions):
    """A CA supervisor who completed everything, an IL employee with overdue work, a NY employee
    whose annual completion expired (no run assigned the next cycle)."""
    with time_machine.travel(T0, tick=False):
        ca = post_learner(tenant, "ca@acme.example", training_tags="")
        il = post_learner(tenant, "il@acme.example", state="Illinois", learnerRole="non-supervisor", training_tags="")
        ny = post_learner(tenant, "ny@acme.example", state="NY", learnerRole="=HYPERLINK(1)", training_tags="")
        run_events(sessions)
    with sessions() as s:
        for row in s.scalars(select(LearnerTraining)):
            if row.learner_id == ca:
                row.status, row.progress, row.completed_at = "completed", 100, T0 + timedelta(days=3)
            elif row.learner_id == il:
                row.status = "overdue"
            else:
                row.status, row.progress, row.completed_at = "completed", 100, T0 - timedelta(days=400)
        s.commit()
    return ca, il, ny


def test_counts_by_training_and_region(api, tenant, sessions):
    ca, il, _ny = setup_company(api, tenant, sessions)
    with time_machine.travel(T0 + timedelta(days=30), tick=False):
        report = api.get("reports/compliance").get_json()

    assert report["learner_count"] == 3
    assert report["learners"]["per_page"] == 50 and report["learners"]["page"] == 1
    assert report["totals"] == {
        "assigned": 0,
        "in_progress": 0,
        "overdue": 1,
        "completed": 2,
        "expired": 1,
        "total": 4,
    }
    regions = {r["region"]: r for r in report["by_region"]}
    assert regions["US-CA"]["completed"] == 2 and regions["US-IL"]["overdue"] == 1
    assert regions["US-NY"]["expired"] == 1
    trainings = {t["training_code"]: t for t in report["by_training"]}
    assert trainings["HP-CA-SUP"]["title"] == "Harassment Prevention: California Supervisor"
    assert trainings["WVP-CA"]["completed"] == 1
    by_learner = {row["learner_id"]: row for row in report["learners"]["data"]}
    assert {t["training_code"]: t["status"] for t in by_learner[il]["trainings"]} == {"HP-IL-EMP": "overdue"}
    ca_hp = next(t for t in by_learner[ca]["trainings"] if t["training_code"] == "HP-CA-SUP")
    assert ca_hp["valid_until"] == "2028-02-05T09:00:00.000Z" and ca_hp["reason"].startswith("new learner:")


def test_another_company_sees_nothing_of_it(api, other_api, tenant, sessions):
    setup_company(api, tenant, sessions)
    report = other_api.get("reports/compliance").get_json()
    assert report["learners"]["data"] == [] and report["totals"]["total"] == 0
    assert other_api.get("reports/compliance.csv").get_data(as_text=True).count("\n") == 1


def test_bad_paging_is_a_400(api):
    resp = api.get("reports/compliance", page="0")
    assert resp.status_code == 400 and "page" in resp.get_json()["error"]


def test_the_csv_has_a_row_per_learner_and_training_and_defuses_formulas(api, tenant, sessions):
    ca, il, ny = setup_company(api, tenant, sessions)
    with time_machine.travel(T0 + timedelta(days=30), tick=False):
        resp = api.get("reports/compliance.csv")

    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="compliance-7-2026-03-04.csv"'
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert len(rows) == 4
    assert {(r["learner_id"], r["training_code"], r["status"]) for r in rows} == {
        (ca, "HP-CA-SUP", "completed"),
        (ca, "WVP-CA", "completed"),
        (il, "HP-IL-EMP", "overdue"),
        (ny, "HP-NY-EMP", "expired"),
    }
    ny_row = next(r for r in rows if r["learner_id"] == ny)
    assert ny_row["role"] == "'=HYPERLINK(1)"  # a spreadsheet shows it, never runs it
    assert ny_row["valid_until"] == "2025-12-29T09:00:00Z"  # completed 2024-12-29, annual


def test_the_report_needs_a_token(client):
    assert client.get("/api/v1/reports/compliance").status_code == 401
    assert client.get("/api/v1/reports/compliance.csv").status_code == 401
