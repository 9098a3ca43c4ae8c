"""Smart Assign for a Group event: re-run it for the learners whose group rules may have changed.

Group membership matters to Smart Assign only through the company's group
rules ("everyone in group Managers gets HP-ALL-SUP"). So a Group event
re-runs Smart Assign for the members it added or removed when a rule names
the group (by its name before or after the event), and for every current
member when a rename moved the group into or out of a rule. Without such a
rule nothing can change and nothing is re-run: a 50,000-member group of a
company without rules costs no Smart Assign work at all.

Like every task step, this reads the latest state: the rule codes come from
the memberships as they are now, so events processed late or twice agree.
"""

from sqlalchemy import select

from models import Company, Group, GroupMember, GroupRule, Learner
from workers.reconcile import reconcile

BATCH = 500


def _names(event, group):
    """Lower-cased names the group had: before and after a rename, and now."""
    rename = (event.changes or {}).get("displayName") or {}
    names = {v.lower() for v in (rename.get("before"), rename.get("after")) if isinstance(v, str)}
    if group is not None:
        names.add(group.display_name_lower)
    return names


def _renamed(event):
    rename = (event.changes or {}).get("displayName") or {}
    before, after = rename.get("before"), rename.get("after")
    return isinstance(before, str) and isinstance(after, str) and before.lower() != after.lower()


def affected_learners(session, event, group):
    """Learner ids to re-run, in a stable order: those the event added or removed, plus every
    current member after a rename (the rename may have put the whole group under a rule)."""
    members = (event.changes or {}).get("members") or {}
    ids = dict.fromkeys([*members.get("added", []), *members.get("removed", [])])
    if group is not None and _renamed(event):
        current = session.scalars(
            select(GroupMember.learner_id).where(GroupMember.group_id == group.id).order_by(GroupMember.learner_id)
        )
        ids.update(dict.fromkeys(current))
    return list(ids)


def reconcile_group_event(session, event, now):
    """Re-run Smart Assign for the learners a Group event affects; return the outcome for the audit entry."""
    group = session.get(Group, event.resource_id)
    names = _names(event, group)
    codes = (
        sorted(
            set(
                session.scalars(
                    select(GroupRule.training_code).where(
                        GroupRule.company_id == event.company_id, GroupRule.group_name_lower.in_(names)
                    )
                )
            )
        )
        if names
        else []
    )
    outcome = {"group_rule_codes": codes, "learners_reconciled": 0}
    if not codes:
        return outcome
    company = session.get(Company, event.company_id)
    ids = affected_learners(session, event, group)
    added = {}
    for start in range(0, len(ids), BATCH):
        learners = session.scalars(
            select(Learner)
            .where(Learner.company_id == event.company_id, Learner.id.in_(ids[start : start + BATCH]))
            .order_by(Learner.id)
        )
        for learner in learners:
            result = reconcile(session, learner, company, now=now)
            outcome["learners_reconciled"] += 1
            if result["trainings_added"]:
                added[learner.id] = result["trainings_added"]
    if added:
        outcome["trainings_added"] = added
    return outcome
