"""The planner's time-driven decisions: lead time, overdue, review dates, resumed clocks."""

from datetime import datetime, timedelta

from workers.smart_assign import (
    ARCHIVED,
    COMPLETED,
    IN_PROGRESS,
    NEW_LEARNER,
    OVERDUE,
    Assignment,
    CompanySettings,
    Profile,
    apply_plan,
    plan,
)

NOW = datetime(2027, 6, 1, 9, 0)
NY = Profile(region="US-NY", country="US", role="non-supervisor")


def completed(days_ago, code="HP-NY-EMP", cycle=1):
    done = NOW - timedelta(days=days_ago)
    return Assignment(code, "HP", cycle, COMPLETED, 100, done - timedelta(days=5), done, done, done)


def test_a_completion_within_the_lead_time_gets_its_next_cycle_due_at_the_expiry():
    existing = [completed(340)]  # annual: expires in 25 days
    result = plan(NY, None, existing, CompanySettings(lead_days=30), NOW)
    [new] = result.add
    assert (new.code, new.cycle, new.due_at) == ("HP-NY-EMP", 2, NOW - timedelta(days=340) + timedelta(days=365))
    assert new.reason.startswith("recertification, cycle 2:")
    # A shorter lead time waits: nothing yet, and the review date is the day it will be due.
    later = plan(NY, None, existing, CompanySettings(lead_days=10), NOW)
    assert later.add == () and later.review_at == NOW + timedelta(days=25 - 10)


def test_open_work_past_its_due_date_is_overdue_and_completed_work_is_not():
    late = Assignment("HP-NY-EMP", "HP", 2, IN_PROGRESS, 30, NOW - timedelta(days=40), NOW - timedelta(days=1))
    result = plan(NY, None, [completed(400), late], CompanySettings(), NOW)
    assert result.overdue == (("HP", 2),) and result.add == ()
    after = apply_plan([completed(400), late], result, NOW)
    assert {(a.cycle, a.status) for a in after} == {(1, COMPLETED), (2, OVERDUE)}
    assert not plan(NY, None, after, CompanySettings(), NOW).changes  # marked once


def test_review_date_is_the_earliest_due_date_or_renewal():
    open_ = Assignment("HP-NY-EMP", "HP", 1, IN_PROGRESS, 20, NOW, NOW + timedelta(days=12))
    assert plan(NY, NEW_LEARNER, [open_], CompanySettings(), NOW).review_at == NOW + timedelta(days=12)
    # Completed 2027-02-21, annual: expires 2028-02-21, renewed 30 days before.
    assert plan(NY, None, [completed(100)], CompanySettings(), NOW).review_at == datetime(2028, 1, 22, 9, 0)
    assert plan(Profile(active=False), None, [completed(100)], CompanySettings(), NOW).review_at is None


def test_clocks_stop_while_a_learner_is_away():
    archived_on = NOW - timedelta(days=200)
    away = Assignment(
        "HP-NY-EMP", "HP", 1, ARCHIVED, 0, archived_on - timedelta(days=5), archived_on + timedelta(days=25),
        None, archived_on,
    )  # fmt: skip
    result = plan(NY, Profile(active=False, region="US-NY", country="US"), [away], CompanySettings(), NOW)
    assert result.resume and result.resumed_due == (("HP", 1, NOW + timedelta(days=25)),)
    assert result.overdue == () and result.add == ()
