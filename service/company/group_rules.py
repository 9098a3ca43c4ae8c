"""Smart Assign group rules of a company: "everyone in group Managers gets HP-ALL-SUP".

Used by the operator CLI now and the dashboard later; flushes only, the caller commits.
A rule names the group case-insensitively (it may be set before Entra creates the
group); the worker applies it to members when a group event is processed, and a
company re-run (``./herd smart-assign rerun COMPANY_ID``) applies a new
rule to the members a group already has.
"""

from sqlalchemy import delete, select

from models import GroupRule
from models.catalog import by_code
from models.company_training import company_catalog

# The size of group_name and of its lower-cased key, group_name_lower (models/group.py).
GROUP_NAME_MAX = 300


class RuleError(ValueError):
    """A rule that cannot be saved; the message says why."""


def list_rules(session, company_id):
    """The company's rules, by group name then code."""
    return session.scalars(
        select(GroupRule)
        .where(GroupRule.company_id == company_id)
        .order_by(GroupRule.group_name_lower, GroupRule.training_code)
    ).all()


def add_rule(session, company_id, group_name, training_code):
    """Add a rule (idempotent); return ``(rule, created)``. Raises RuleError for an unknown code."""
    name = (group_name or "").strip()
    code = (training_code or "").strip().upper()
    if not name:
        raise RuleError("the group name is empty")
    if len(name.lower()) > GROUP_NAME_MAX:
        # Lower-casing may lengthen a name (U+0130 becomes two characters): the key column holds 300.
        raise RuleError(f"the group name is longer than {GROUP_NAME_MAX} characters once lower-cased")
    if code not in by_code(company_catalog(session, company_id)):
        raise RuleError(f"unknown training code {training_code!r}; use a code of the catalog, e.g. HP-ALL-SUP")
    existing = session.scalar(
        select(GroupRule).where(
            GroupRule.company_id == company_id,
            GroupRule.group_name_lower == name.lower(),
            GroupRule.training_code == code,
        )
    )
    if existing is not None:
        return existing, False
    rule = GroupRule(company_id=company_id, group_name=name, group_name_lower=name.lower(), training_code=code)
    session.add(rule)
    session.flush()
    return rule, True


def remove_rule(session, company_id, group_name, training_code):
    """Remove a rule; return True if there was one."""
    result = session.execute(
        delete(GroupRule).where(
            GroupRule.company_id == company_id,
            GroupRule.group_name_lower == (group_name or "").strip().lower(),
            GroupRule.training_code == (training_code or "").strip().upper(),
        )
    )
    return result.rowcount > 0
