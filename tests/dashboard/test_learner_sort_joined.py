"""The learner list sorted by manager and by overdue count: every learner once, in order, page
by page forward and back, with a search's few matches in the same order."""

from sqlalchemy import select

from models import LearnerTraining
from tests.dashboard.helpers import run_events
from tests.dashboard.test_people_columns import _walk, add, text


def people(tenant, sessions):
    """ann and eve have no manager; ann manages bea and dan, bea manages carl.
    carl has every training overdue, dan one."""
    ids = {"ann": add(tenant, "ann"), "eve": add(tenant, "eve")}
    ids["bea"] = add(tenant, "bea", manager="ann")
    ids["dan"] = add(tenant, "dan", manager="ann")
    ids["carl"] = add(tenant, "carl", manager="bea")
    run_events(sessions)
    with sessions() as s:
        rows = s.scalars(select(LearnerTraining).where(LearnerTraining.learner_id.in_([ids["carl"], ids["dan"]])))
        dan_done = False
        for row in sorted(rows, key=lambda r: r.id):
            if row.learner_id == ids["dan"]:
                if dan_done:
                    continue
                dan_done = True
            row.status = "overdue"
        s.commit()
    return ids


def test_sorted_by_manager_learners_without_one_come_first_then_each_managers_reports(dash, tenant, sessions):
    ids = people(tenant, sessions)
    expected = [ids[n] for n in ("ann", "eve", "bea", "dan", "carl")]  # Ann Doe's two, then Bea Doe's one

    with sessions() as s:
        for size in (1, 2, 3, 50):
            assert _walk(s, tenant.id, "manager", page_size=size) == (expected, expected)
        assert _walk(s, tenant.id, "manager", q="acme")[0] == expected  # a search's few matches

    page = text(dash.get("/dashboard/learners?sort=manager"))
    assert '<option value="manager" selected>' in page
    assert page.index(f"/dashboard/learners/{ids['eve']}") < page.index(f"/dashboard/learners/{ids['carl']}")


def test_sorted_by_overdue_count_the_most_overdue_come_first(dash, tenant, sessions):
    ids = people(tenant, sessions)
    expected = [ids[n] for n in ("carl", "dan", "ann", "bea", "eve")]

    with sessions() as s:
        for size in (1, 2, 4):
            assert _walk(s, tenant.id, "overdue", page_size=size) == (expected, expected)
        assert _walk(s, tenant.id, "overdue", q="acme")[0] == expected

    page = text(dash.get("/dashboard/learners?sort=overdue&status=active"))
    assert '<option value="overdue" selected>' in page
    assert page.index(f"/dashboard/learners/{ids['carl']}") < page.index(f"/dashboard/learners/{ids['ann']}")


def test_a_cursor_that_is_not_one_starts_from_the_first_page(dash, tenant, sessions):
    people(tenant, sessions)
    bad = ("%7E", "[9,1]", "[0,true,1]", "nonsense", "[0,[1],2]", "[1,2]", '[0,5,"x"]', '[0,"a","b","c"]', "{}")
    for cursor in bad:
        for sort in ("manager", "overdue"):
            resp = dash.get(f"/dashboard/learners?sort={sort}&after={cursor}&before={cursor}")
            assert resp.status_code == 200, (sort, cursor)
