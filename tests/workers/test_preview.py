"""A preview of a Smart Assign change lists what the re-run then does: the same learners,
trainings and reasons (workers/preview.py), for each kind of change, and writes nothing."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Company, LearnerTraining, utcnow, value_aliases
from models.attribute_mapping import DEFAULT_MAPPING
from models.catalog import ALL, Training
from models.company_training import CompanyTraining, company_catalog
from service.company import group_rules
from tests.api.conftest import post_learner
from tests.helpers import run_events
from workers.preview import Change, preview
from workers.rerun import run


def _assignments(sessions, company_id):
    with sessions() as s:
        return {
            (r.learner_id, r.family, r.cycle): (r.training_code, r.reason, r.status)
            for r in s.scalars(select(LearnerTraining).where(LearnerTraining.company_id == company_id))
        }


def _losses(before, after):
    """What the re-run took away: rows withdrawn, and versions switched for another, per learner."""
    out = {}
    for key, (code, _reason, status) in before.items():
        new_code, _, new_status = after[key]
        if (status != "withdrawn" and new_status == "withdrawn") or new_code != code:
            out.setdefault(key[0], set()).add(code)
    return out


def _gains(before, after):
    """What the re-run assigned: new assignments and retargeted ones, per learner, with reasons."""
    out = {}
    for key, (code, reason, _status) in after.items():
        if before.get(key, (None,))[0] != code:
            out.setdefault(key[0], {})[code] = reason
    return out


def _set(sessions, company_id, **changes):
    with sessions() as s:
        company = s.get(Company, company_id)
        for name, value in changes.items():
            setattr(company, name, value)
        s.commit()


def _change(kind, sessions, company_id):
    """``(Change, make it)``: the change as the preview takes it, and the same change made for real."""
    if kind == "industry":
        return Change(industry="hospitality"), lambda: _set(sessions, company_id, industry="hospitality")
    if kind == "lead_time":
        return Change(lead_days=90), lambda: _set(sessions, company_id, lead_days=90)
    if kind == "alias":
        mapping = value_aliases.add(None, "state", "Calif.", "US-CA")
        return Change(mapping=mapping), lambda: _set(sessions, company_id, attribute_mapping=mapping)
    if kind == "mapping":
        mapping = {"role": ["extension:title", *DEFAULT_MAPPING["role"]]}
        return Change(mapping=mapping), lambda: _set(sessions, company_id, attribute_mapping=mapping)
    if kind == "catalog":
        with sessions() as s:
            catalog = (*company_catalog(s, company_id), Training("SAFETY", "Safety", "SAFETY", None, ALL, 12, None))

        def make():
            with sessions() as s:
                s.add(
                    CompanyTraining(
                        company_id=company_id, code="SAFETY", title="Safety", cadence_months=12, custom=True
                    )
                )
                s.commit()

        return Change(catalog=catalog), make
    if kind == "group_rule":

        def make():
            with sessions() as s:
                group_rules.add_rule(s, company_id, "Managers", "HP-ALL-SUP")
                s.commit()

        return Change(rules=[("Managers", "HP-ALL-SUP")]), make
    raise AssertionError(kind)


@pytest.fixture()
def company(groups_on, sessions):
    tenant = groups_on
    ids = {
        "calif": post_learner(tenant, "cal@acme.example", state="Calif.", learnerRole="non-supervisor"),
        "chicago": post_learner(tenant, "chi@acme.example", state="Illinois", location="Chicago"),
        "titled": post_learner(tenant, "tit@acme.example", state="Texas", learnerRole="", title="supervisor"),
        "tagged": post_learner(tenant, "tag@acme.example", state="Ohio", training_tags="SAFETY"),
        "renewing": post_learner(tenant, "ren@acme.example", state="Ohio", training_tags="CYBER"),
    }
    group = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Managers",
        "members": [{"value": ids["chicago"]}, {"value": ids["tagged"]}],
    }
    resp = tenant.post("Groups", json=group)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    run_events(sessions)
    # A CYBER completion 300 days old: a 90-day lead time brings its renewal forward to now.
    with sessions() as s:
        row = s.scalar(
            select(LearnerTraining).where(
                LearnerTraining.learner_id == ids["renewing"], LearnerTraining.training_code == "CYBER"
            )
        )
        row.status, row.progress, row.completed_at = "completed", 100, utcnow() - timedelta(days=300)
        s.commit()
    run(sessions, tenant.id)  # the company as it stands: nothing left to do
    return tenant, ids


EXPECTED = {
    "industry": ("chicago", "HP-IL-HOSP"),
    "lead_time": ("renewing", "CYBER"),
    "alias": ("calif", "HP-CA-EMP"),
    "mapping": ("titled", "HP-US-SUP"),
    "catalog": ("tagged", "SAFETY"),
    "group_rule": ("chicago", "HP-ALL-SUP"),
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_the_preview_lists_exactly_what_the_rerun_then_assigns(kind, company, sessions):
    tenant, ids = company
    change, make = _change(kind, sessions, tenant.id)
    before = _assignments(sessions, tenant.id)
    with sessions() as s:
        shown = preview(s, tenant.id, change, detail=True)
    assert _assignments(sessions, tenant.id) == before  # the preview wrote nothing
    make()
    run(sessions, tenant.id)
    done = _gains(before, _assignments(sessions, tenant.id))
    assert {learner: d["gain"] for learner, d in shown["per_learner"].items() if d["gain"]} == done
    lost = _losses(before, _assignments(sessions, tenant.id))
    assert {learner: set(d["lose"]) for learner, d in shown["per_learner"].items() if d["lose"]} == lost
    learner, code = EXPECTED[kind]
    assert code in done[ids[learner]]
    counts = {t["code"]: (t["gain"], t["lose"]) for t in shown["trainings"]}
    assert counts[code][0] == sum(1 for gains in done.values() if code in gains)
    sample = next(t for t in shown["trainings"] if t["code"] == code)["gain_sample"]
    assert sample[0]["reason"] == done[sample[0]["learner_id"]][code]


def test_the_preview_names_what_a_learner_would_lose(company, sessions):
    tenant, ids = company
    with sessions() as s:
        shown = preview(s, tenant.id, Change(mapping=value_aliases.add(None, "state", "Calif.", "US-CA")), detail=True)
    assert shown["per_learner"][ids["calif"]]["lose"] == {"HP-US-EMP": "replaced by HP-CA-EMP"}
    assert {t["code"]: (t["gain"], t["lose"]) for t in shown["trainings"]} == {
        "HP-CA-EMP": (1, 0),
        "HP-US-EMP": (0, 1),
        "WVP-CA": (1, 0),
    }


def test_a_cancelled_preview_stops_and_says_so(company, sessions):
    tenant, _ = company
    calls = []
    with sessions() as s:
        shown = preview(s, tenant.id, Change(industry="hospitality"), cancelled=lambda: True, progress=calls.append)
    assert shown["cancelled"] is True and shown["looked_at"] == 0 and calls == []


def test_a_dropped_rule_loses_only_the_work_the_rerun_withdraws(company, sessions):
    """Started work stays when its rule goes (the re-run never takes it away), so the preview keeps it too."""
    tenant, ids = company
    with sessions() as s:
        group_rules.add_rule(s, tenant.id, "Managers", "HP-ALL-SUP")
        s.commit()
    run(sessions, tenant.id)
    with sessions() as s:
        started = s.scalar(
            select(LearnerTraining).where(
                LearnerTraining.learner_id == ids["tagged"], LearnerTraining.training_code == "HP-ALL-SUP"
            )
        )
        started.status, started.progress = "in_progress", 50
        s.commit()
    before = _assignments(sessions, tenant.id)
    with sessions() as s:
        shown = preview(s, tenant.id, Change(rules=[]), detail=True)
    with sessions() as s:
        group_rules.remove_rule(s, tenant.id, "Managers", "HP-ALL-SUP")
        s.commit()
    run(sessions, tenant.id)
    lost = _losses(before, _assignments(sessions, tenant.id))
    assert lost == {ids["chicago"]: {"HP-ALL-SUP"}}
    assert {learner: set(d["lose"]) for learner, d in shown["per_learner"].items() if d["lose"]} == lost
    reason = shown["per_learner"][ids["chicago"]]["lose"]["HP-ALL-SUP"]
    assert reason == "withdrawn: no longer required by the learner's inputs (HP-ALL-SUP)"
