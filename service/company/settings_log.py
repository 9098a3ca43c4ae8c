"""The admin audit trail: record who changed which company setting, and read it back.

Every dashboard form and every ``./herd`` command that changes a setting (attribute
mapping, value aliases, catalog, due period, lead time, industry, group rules, the
groups switch, access tokens, OAuth clients and secrets) calls ``record`` in the
transaction of its change, so a change and its entry commit together. Who is the
admin's email, or ``CLI_ACTOR`` for an operator's command (the CLI has no signed-in
person to name). Values are what the admin sees; a token or secret appears by its name
and id, never by its value. Flushes nothing; the caller commits.
"""

from sqlalchemy import select

from models import SettingsChange, utcnow, value_aliases

# Who a change made with ./herd is recorded as: the command line names no person.
CLI_ACTOR = "CLI (operator)"

SETTINGS = {
    "mapping": "Attribute mapping",
    "aliases": "Value aliases",
    "catalog": "Catalog",
    "due_period": "Due period",
    "lead_days": "Recertification lead time",
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


def record_aliases(session, company, actor, name, mapping_before, summary):
    """Record a change of input ``name``'s value aliases: its alias table before and after
    (``company.attribute_mapping`` already holds the new one)."""
    before = value_aliases.of(mapping_before).get(name, {})
    after = value_aliases.of(company.attribute_mapping).get(name, {})
    return record(session, company.id, actor, "aliases", summary, {name: before}, {name: after})


def token_values(token):
    """An access token as the trail records it: name, id, prefix and expiry, never its value."""
    expires = token.expires_at.isoformat() if token.expires_at else None
    return {"name": token.name, "id": token.id, "prefix": token.display_prefix, "expires_at": expires}


def recent(session, company_id, limit=50, setting=None):
    """The company's latest changes, newest first (``setting``: only that kind)."""
    query = select(SettingsChange).where(SettingsChange.company_id == company_id)
    if setting:
        query = query.where(SettingsChange.setting == setting)
    return session.scalars(
        query.order_by(SettingsChange.occurred_at.desc(), SettingsChange.id.desc()).limit(limit)
    ).all()
