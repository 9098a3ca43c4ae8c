"""The compliance report below a manager: the chain's learners counted and its managers ranked
from the learners' stored counts in the same pass as the whole company's (the compliant share
stays the company's), matching the report's rows, on the day a completion expires."""

from datetime import timedelta

import time_machine
from sqlalchemy import select

from models import LearnerTraining, utcnow
from service.reports.manager_chain import below, most_late_and_counts
from tests.dashboard.helpers import run_events
from tests.dashboard.test_people_columns import add
from tests.workers.test_learner_standing import T0, from_rows


def test_below_a_manager_the_chain_is_counted_and_the_share_stays_the_whole_company(dash, tenant, sessions):
    with time_machine.travel(T0, tick=False):
        boss = add(tenant, "boss")
        ann = add(tenant, "ann", manager="boss")
        add(tenant, "bob", manager="ann")
        add(tenant, "cy")  # outside boss's chain
        run_events(sessions)
    with sessions() as s:  # ann completes everything on day one: compliant within the year
        for row in s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == ann)):
            row.status, row.progress, row.completed_at = "completed", 100, T0
        s.commit()
    for day in (30, 366):  # ann compliant, then her annual courses expired
        now = T0 + timedelta(days=day)
        chain_owing, chain_behind, chain_managers = from_rows(sessions, tenant.id, now, below(tenant.id, boss))
        owing, behind, _ = from_rows(sessions, tenant.id, now)
        with sessions() as s:
            groups, managers, counts, company = most_late_and_counts(s, tenant.id, now, below(tenant.id, boss))
        assert counts == (2, chain_owing, chain_behind) and company == (4, owing, behind)
        assert managers == len(chain_managers) == 2  # boss (ann's) and ann (bob's)
        for manager, counts in groups.items():
            assert {k: v for k, v in counts.items() if v} == dict(chain_managers[manager])
    assert chain_behind == 2 and behind == 4

    # The page (today: ann completed yesterday): the share is the whole company's.
    with sessions() as s:
        for row in s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id == ann)):
            row.completed_at = utcnow() - timedelta(days=1)
        s.commit()
    page = dash.get(f"/dashboard/reports/compliance?manager={boss}").get_data(as_text=True)
    assert "1 of 4 active learners" in page


def test_the_reports_second_statement_failing_is_the_pages_error_and_returns_its_connection(
    dash, tenant, app, monkeypatch
):
    """The managers' ranking runs on a connection of its own, beside the page's (db.run_aside):
    its failure is the page's generic error (never a hang, never figures without it), and its
    connection goes back to the pool."""
    add(tenant, "boss")
    pool = app.extensions["herd.engine"].pool
    assert dash.get("/dashboard/reports/compliance").status_code == 200
    lent = pool.checkedout()

    def broken(session, *args):
        session.execute(select(LearnerTraining.id).limit(1)).all()  # it holds its connection
        raise RuntimeError("the ranking failed")

    monkeypatch.setattr("service.reports.manager_chain.most_late_and_counts", broken)
    page = dash.get("/dashboard/reports/compliance")
    assert page.status_code == 500 and "the ranking failed" not in page.get_data(as_text=True)
    assert pool.checkedout() == lent
