"""The compliance report's rows by manager at size: the managers with the most overdue and
expired trainings, ranked and cut in SQL, and how many more there are."""

from sqlalchemy import select

from models import LearnerTraining, utcnow
from service.dashboard import reports
from service.reports.manager_chain import most_late
from tests.dashboard.helpers import run_events
from tests.dashboard.test_people_columns import add, text


def test_the_most_late_managers_come_first_and_the_rest_are_counted(dash, tenant, sessions, monkeypatch):
    ann = add(tenant, "ann")
    bea = add(tenant, "bea", manager="ann")
    cat = add(tenant, "cat", manager="ann")
    dan = add(tenant, "dan", manager="bea")
    run_events(sessions)
    with sessions() as s:  # bea's and cat's work overdue (ann's reports), dan's first training (bea's)
        rows = s.scalars(select(LearnerTraining).order_by(LearnerTraining.id)).all()
        for row in rows:
            if row.learner_id in (bea, cat):
                row.status = "overdue"
        next(r for r in rows if r.learner_id == dan).status = "overdue"
        owed = {lid: 0 for lid in (ann, bea, cat, dan)}
        for row in s.scalars(select(LearnerTraining)):
            owed[row.learner_id] += 1
        s.commit()

    with sessions() as s:
        groups, managers = most_late(s, tenant.id, utcnow(), limit=1)
        assert managers == 3  # ann's reports, bea's, and those without a manager (ann)
        assert list(groups) == [ann]
        assert groups[ann]["overdue"] == owed[bea] + owed[cat]
        groups, _ = most_late(s, tenant.id, utcnow())
        assert list(groups) == [ann, bea, None]  # the most late first, no manager last
        assert groups[bea]["overdue"] == 1 and groups[bea]["assigned"] == owed[dan] - 1

    monkeypatch.setattr(reports, "MANAGERS_SHOWN", 1)
    page = text(dash.get("/dashboard/reports/compliance"))
    assert "The 1 managers with the most overdue and expired trainings are shown; 2 more have none or fewer." in page
