"""Three years of one company, day by day, with the clock moved by time-machine.

Every day at 09:00 UTC: the day's SCIM changes and course completions arrive
(over SCIM and /api/v1, as in production), the worker processes the events,
and the daily recertification run (what beat starts) reconciles the learners
due. Then we check, for six learners, that each cycle was assigned once, on
the right day, with the right due date; that overdue work was marked and
cleared; and that completed work was never touched.

Company settings: due period 30 days, lead time 30 days.
"""

import copy
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from models import AuditEvent, LearnerTraining
from tests.helpers import run_events
from workers.recertify import companies_due, run

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "entra"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
START = date(2026, 1, 5)
END = date(2029, 1, 5)
AT = timedelta(hours=9)


def day(text):
    return datetime.fromisoformat(text) + AT


def user(name, state, role, location=""):
    body = json.loads((FIXTURES / "create_user.json").read_text())
    body = copy.deepcopy(body)
    body["userName"] = body["emails"][0]["value"] = f"{name}@acme.example"
    body["externalId"] = name
    body[CUSTOM] = {"state": state, "country": "US", "learnerRole": role, "location": location, "training_tags": ""}
    return body


def patch(path, value):
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": f"{CUSTOM}:{path}", "value": value}],
    }


def active(flag):
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": flag}],
    }


# Who completes late: (learner, family, cycle) -> days after assignment (default 10).
LATE = {
    ("ny", "HP", 2): 47,  # assigned 2026-12-16, due 2027-01-15, completed 2027-02-01
    ("away", "HP", 2): 379,  # archived while away; completed 2027-12-30, ten days after coming back
}


class Company:
    """The simulated company: learners by short name, and the assignment log."""

    def __init__(self, tenant, client, sessions):
        self.tenant, self.client, self.sessions = tenant, client, sessions
        self.ids = {}
        self.overdue_seen = {}  # (learner, family, cycle) -> first day seen overdue
        self.completed = {}  # row id -> every column as first seen completed

    def post(self, name, *args):
        resp = self.tenant.post("Users", json=user(name, *args))
        assert resp.status_code == 201, resp.get_json()
        self.ids[name] = resp.get_json()["id"]

    def patch(self, name, body):
        resp = self.tenant.patch(f"Users/{self.ids[name]}", json=body)
        assert resp.status_code == 200, resp.get_json()

    def rows(self):
        with self.sessions() as s:
            return s.scalars(select(LearnerTraining).order_by(LearnerTraining.id)).all()

    def complete_due(self, today):
        """Each open assignment is completed 10 days after it was assigned (LATE: later)."""
        names = {v: k for k, v in self.ids.items()}
        for row in self.rows():
            if row.status in ("completed", "archived"):
                continue
            wait = LATE.get((names[row.learner_id], row.family, row.cycle), 10)
            if row.assigned_at.date() + timedelta(days=wait) == today:
                resp = self.client.patch(
                    f"/api/v1/learner_trainings/{row.id}",
                    json={"status": "completed"},
                    headers={"Authorization": f"Bearer {self.tenant.token}"},
                )
                assert resp.status_code == 200, resp.get_json()

    def daily_run(self, now):
        with self.sessions() as s:
            due = companies_due(s, now)
        for company_id in due:
            run(self.sessions, company_id, now.date())
        names = {v: k for k, v in self.ids.items()}
        for row in self.rows():
            if row.status == "overdue":
                self.overdue_seen.setdefault((names[row.learner_id], row.family, row.cycle), now.date())
            if row.status == "completed":
                self.completed.setdefault(row.id, snapshot(row))


SCRIPT = {
    date(2026, 1, 5): [
        ("post", "chicago", "Illinois", "supervisor", "Chicago, IL"),
        ("post", "ny", "New York", "non-supervisor", "Albany"),
        ("post", "ca", "California", "non-supervisor", "Fresno"),
        ("post", "de", "Delaware", "non-supervisor", "Dover"),
        ("post", "mover", "California", "non-supervisor", "Fresno"),
        ("post", "away", "Texas", "non-supervisor", "Austin"),
    ],
    date(2026, 9, 1): [("patch", "mover", [patch("state", "Illinois"), patch("location", "Springfield")])],
    date(2026, 12, 20): [("patch", "away", [active(False)])],
    date(2027, 3, 1): [("patch", "de", [patch("learnerRole", "supervisor")])],
    date(2027, 12, 20): [("patch", "away", [active(True)])],
}


def simulate(tenant, client, sessions):
    company = Company(tenant, client, sessions)
    today = START
    with time_machine.travel(day(START.isoformat()), tick=False) as clock:
        while today < END:
            clock.move_to(day(today.isoformat()))
            for action, name, *args in SCRIPT.get(today, []):
                if action == "post":
                    company.post(name, *args)
                else:
                    for body in args[0]:
                        company.patch(name, body)
            company.complete_due(today)
            run_events(sessions)
            company.daily_run(day(today.isoformat()))
            today += timedelta(days=1)
    return company


def snapshot(row):
    # ``latest`` is derived (which cycle of the family is owed: models/latest_cycle.py); it moves
    # to the next cycle when one is added, while the completed row's own data stays as it was.
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key != "latest"}


def table(company, name):
    """[(code, cycle, assigned day, due day, completed day)] of one learner, by family then cycle."""
    return sorted(
        (
            r.family,
            r.cycle,
            r.training_code,
            r.assigned_at.date().isoformat(),
            r.due_at.date().isoformat(),
            r.completed_at.date().isoformat() if r.completed_at else None,
        )
        for r in company.rows()
        if r.learner_id == company.ids[name]
    )


@pytest.mark.slow
def test_three_years_of_recertification(tenant, client, sessions):
    company = simulate(tenant, client, sessions)

    # Chicago supervisor: IL supervisor course and the Chicago bystander course, annual.
    # Each next cycle is assigned 30 days before the completion expires, due at the expiry.
    annual = [
        (1, "2026-01-05", "2026-02-04", "2026-01-15"),
        (2, "2026-12-16", "2027-01-15", "2026-12-26"),
        (3, "2027-11-26", "2027-12-26", "2027-12-06"),
        (4, "2028-11-06", "2028-12-06", "2028-11-16"),
    ]
    assert table(company, "chicago") == sorted(
        [("BYST-CHI", c, "BYST-CHI", a, d, f) for c, a, d, f in annual]
        + [("HP", c, "HP-IL-SUP", a, d, f) for c, a, d, f in annual]
    )

    # New York employee: completes cycle 2 seventeen days late; overdue from the first run
    # after the due date until the completion; cycle 3 counts from the late completion.
    assert table(company, "ny") == [
        ("HP", 1, "HP-NY-EMP", "2026-01-05", "2026-02-04", "2026-01-15"),
        ("HP", 2, "HP-NY-EMP", "2026-12-16", "2027-01-15", "2027-02-01"),
        ("HP", 3, "HP-NY-EMP", "2028-01-02", "2028-02-01", "2028-01-12"),
        ("HP", 4, "HP-NY-EMP", "2028-12-13", "2029-01-12", "2028-12-23"),
    ]
    assert company.overdue_seen == {("ny", "HP", 2): date(2027, 1, 16)}

    # California employee: harassment prevention every 2 years, workplace violence yearly.
    assert table(company, "ca") == sorted(
        [
            ("HP", 1, "HP-CA-EMP", "2026-01-05", "2026-02-04", "2026-01-15"),
            ("HP", 2, "HP-CA-EMP", "2027-12-16", "2028-01-15", "2027-12-26"),
        ]
        + [("WVP-CA", c, "WVP-CA", a, d, f) for c, a, d, f in annual]
    )

    # Delaware employee promoted on 2027-03-01: the supervisor version is a new training
    # (not a recertification), due within 30 days; the employee course is not renewed.
    assert table(company, "de") == [
        ("HP", 1, "HP-DE-EMP", "2026-01-05", "2026-02-04", "2026-01-15"),
        ("HP", 2, "HP-DE-SUP", "2027-03-01", "2027-03-31", "2027-03-11"),
    ]

    # Moved from California to Illinois on 2026-09-01: the IL version is due a year after the
    # CA completion (IL is annual), then yearly; the CA workplace-violence course is not renewed.
    assert table(company, "mover") == [
        ("HP", 1, "HP-CA-EMP", "2026-01-05", "2026-02-04", "2026-01-15"),
        ("HP", 2, "HP-IL-EMP", "2026-09-01", "2027-01-15", "2026-09-11"),
        ("HP", 3, "HP-IL-EMP", "2027-08-12", "2027-09-11", "2027-08-22"),
        ("HP", 4, "HP-IL-EMP", "2028-07-23", "2028-08-22", "2028-08-02"),
        ("WVP-CA", 1, "WVP-CA", "2026-01-05", "2026-02-04", "2026-01-15"),
    ]

    # Deactivated on 2026-12-20 with cycle 2 open (due 2027-01-15): archived, never marked
    # overdue while away; reactivated a year later, it resumes with the year added to its due date.
    assert table(company, "away") == [
        ("HP", 1, "HP-US-EMP", "2026-01-05", "2026-02-04", "2026-01-15"),
        ("HP", 2, "HP-US-EMP", "2026-12-16", "2028-01-15", "2027-12-30"),
        ("HP", 3, "HP-US-EMP", "2028-11-30", "2028-12-30", "2028-12-10"),
    ]

    # Completed work is never touched again, by any later run or change.
    final = {r.id: snapshot(r) for r in company.rows()}
    assert len(company.completed) == 28  # every completion in the tables above
    assert all(final[row_id] == seen for row_id, seen in company.completed.items())

    with sessions() as s:
        reasons = {(r.learner_id, r.family, r.cycle): r.reason for r in s.scalars(select(LearnerTraining)).all()}
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "recertify")).all()
    ids = company.ids
    assert reasons[(ids["chicago"], "HP", 1)].startswith("new learner:")
    assert reasons[(ids["chicago"], "HP", 3)].startswith("recertification, cycle 3:")
    assert reasons[(ids["de"], "HP", 2)].startswith("promoted to supervisor:")
    assert reasons[(ids["mover"], "HP", 2)].startswith("moved from US-CA to US-IL:")
    assert reasons[(ids["away"], "HP", 3)].startswith("recertification, cycle 3:")
    # The daily run leaves an audit entry for each learner it changed, with the reasons.
    entry = next(a for a in audit if a.learner_id == ids["ny"] and a.outcome.get("overdue"))
    assert entry.outcome["overdue"] == ["HP-NY-EMP"] and entry.occurred_at.date() == date(2027, 1, 16)
