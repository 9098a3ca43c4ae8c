"""The admin audit trail: record who changed which company setting, and read it back.

Every dashboard form that changes a setting (attribute mapping, catalog, due period,
industry, group rules, the groups switch, access tokens, OAuth clients and secrets)
calls ``record`` in the transaction of its change, so a change and its entry commit
together. Values are what the admin sees; a token or secret appears by its name and
id, never by its value. Flushes nothing; the caller commits.
"""

from sqlalchemy import select

from models import SettingsChange, utcnow

SETTINGS = {
    "mapping": "Attribute mapping",
    "catalog": "Catalog",
    "due_period": "Due period",
    "industry": "Industry",
    "group_rules": "Group rules",
    "groups": "Group provisioning",
    "token": "Access tokens",
    "oauth": "OAuth clients and secrets",
}


def record(session, company_id, actor, setting, summary, before=None, after=None):
    """Add the entry for one change; nothing when ``before == after`` (a save that changed nothing)."""
    if before is not None and before == after:
        return None
    entry = SettingsChange(
        company_id=company_id,
        actor=(actor or "operator")[:320],
        setting=setting,
        summary=summary[:300],
        before=before,
        after=after,
        occurred_at=utcnow(),
    )
    session.add(entry)
    return entry


def recent(session, company_id, limit=50, setting=None):
    """The company's latest changes, newest first (``setting``: only that kind)."""
    query = select(SettingsChange).where(SettingsChange.company_id == company_id)
    if setting:
        query = query.where(SettingsChange.setting == setting)
    return session.scalars(
        query.order_by(SettingsChange.occurred_at.desc(), SettingsChange.id.desc()).limit(limit)
    ).all()
