"""End to end, a year in one test: learners POSTed over SCIM to gunicorn, Smart Assign in a real
Celery worker over Redis, completions recorded over /api/v1, then the operator's
`flask --app wsgi smart-assign recertify --as-of` a year later (a real subprocess), and the
new cycles in /api/v1/learner_trainings and in the compliance report."""

import csv
import io
import subprocess
import sys
from datetime import date, timedelta

import pytest
import requests

from harness.stack import ROOT, learner_body, wait_for
from tests.conftest import make_tenant

pytestmark = pytest.mark.e2e
ANNUAL = {"WVP-CA", "CYBER", "HIPAA"}  # the recorded learner's annual trainings (HP-CA-SUP: 2 years)


def api(herd, tenant, method, path, **kw):
    resp = requests.request(
        method, f"{herd.url}/api/v1/{path}", headers={"Authorization": f"Bearer {tenant.token}"}, timeout=10, **kw
    )
    assert resp.status_code == 200, resp.text
    return resp


def trainings(herd, tenant, learner_id):
    return api(herd, tenant, "GET", "learner_trainings", params={"learner_id": learner_id}).json()["data"]


def test_a_year_later_recertify_assigns_the_next_cycles(e2e_redis_url, herd_stack, sessions):
    tenant = make_tenant(sessions, None, "Acme", 7)
    herd = herd_stack(e2e_redis_url)
    herd.start_web()
    herd.start_worker()
    ids = []
    for n in (1, 2):
        resp = herd.post_user(tenant, learner_body(n))
        assert resp.status_code == 201, resp.text
        ids.append(resp.json()["id"])

    first = {
        learner_id: wait_for(
            lambda learner_id=learner_id: (rows := trainings(herd, tenant, learner_id)) and len(rows) >= 4 and rows,
            20,
            message="Smart Assign in the worker",
            on_timeout=herd.tails,
            procs=herd.procs,
        )
        for learner_id in ids
    }
    assert {r["reason"].split(":")[0] for rows in first.values() for r in rows} == {"new learner"}
    # Learner 1 completes everything; learner 2 nothing (their work will be overdue).
    for row in first[ids[0]]:
        api(herd, tenant, "PATCH", f"learner_trainings/{row['id']}", json={"status": "completed"})

    as_of = date.today() + timedelta(days=350)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "smart-assign", "recertify", "7", "--as-of", f"{as_of}"],
        cwd=ROOT,
        env=herd.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "2 learners due reviewed; 3 assignments added; 4 marked overdue." in result.stdout

    after = trainings(herd, tenant, ids[0])
    new = [r for r in after if r["cycle"] == 2]
    assert {r["training_code"] for r in new} == ANNUAL
    assert all(r["status"] == "assigned" and r["reason"].startswith("recertification, cycle 2:") for r in new)
    assert all(r["assigned_at"].startswith(as_of.isoformat()) for r in new)
    assert {r["status"] for r in trainings(herd, tenant, ids[1])} == {"overdue"}

    report = api(herd, tenant, "GET", "reports/compliance").json()
    assert report["totals"]["assigned"] == 3 and report["totals"]["overdue"] == 4
    hp = next(t for t in report["by_training"] if t["training_code"] == "HP-CA-SUP")
    assert (hp["completed"], hp["overdue"]) == (1, 1)
    rows = list(csv.DictReader(io.StringIO(api(herd, tenant, "GET", "reports/compliance.csv").text)))
    assert {(r["training_code"], r["cycle"]) for r in rows if r["learner_id"] == ids[0]} == {
        ("HP-CA-SUP", "1"),
        *((code, "2") for code in ANNUAL),
    }
