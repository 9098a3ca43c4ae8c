"""Group writes and reads for SCIM: every write also adds its provisioning event (the outbox).

The store flushes; the request boundary commits, and the outbox relay publishes the event.
Members are changed in SQL (``memberships``), never by loading the member
list: a PATCH that adds one member to a 50,000-member group touches one row.
"""

from sqlalchemy import func, select

from models import Group, utcnow
from models.normalize import name_key
from service.scim.errors import NotFound
from service.scim.filter_sql import to_clause
from service.scim.filters import parse_filter
from service.scim.groups import memberships
from service.scim.groups.member_patch import member_changes
from service.scim.groups.resolver import GroupResolver
from service.scim.groups.schema import PATCH_SCHEMA, clean_attributes, member_ids
from service.scim.patch import apply_patch
from service.scim.writes import add_event, changes, conflict, flush_unique, taken


def _taken(session, company_id, display_name, except_id=None):
    same_name = (Group.company_id == company_id, Group.display_name_key == name_key(display_name))
    return taken(session, Group.id, same_name, except_id)


def _conflict(display_name):
    return conflict("displayName", display_name, "group", "Group displayName")


def _flush_unique(session, display_name):
    """Flush; a concurrent insert or rename to the same displayName surfaces here as a 409."""
    flush_unique(session, _conflict(display_name))


def attributes_of(group):
    """The group's own attributes as a SCIM document (no members): what PATCH works on."""
    doc = {"displayName": group.display_name}
    if group.external_id is not None:
        doc["externalId"] = group.external_id
    return doc


def _apply(group, attrs):
    group.display_name = attrs["displayName"]
    group.display_name_lower = attrs["displayName"].lower()
    group.display_name_key = name_key(attrs["displayName"])
    external_id = attrs.get("externalId")
    group.external_id = external_id
    group.external_id_lower = external_id.lower() if external_id is not None else None


def _event(session, caller, group, action, before, after, delta):
    change_set = changes(before, after)
    members = delta.as_changes()
    if members:
        # Ignored ids are reported here so the audit trail shows them (entra.md: not a failure).
        change_set["members"] = members
    add_event(session, caller, "Group", group.id, action, change_set)


def get(lazy_session, caller, group_id):
    """The caller's company's group with this id, or 404."""
    group = lazy_session().scalar(select(Group).where(Group.id == group_id, Group.company_id == caller.company.id))
    if group is None:
        raise NotFound(f"Group {group_id} not found.")
    return group


def create(session, caller, body):
    """POST /Groups: a new group with the members given (unknown ids ignored and reported)."""
    attrs = clean_attributes(body)
    ids = member_ids(body) or []
    company_id = caller.company.id
    if _taken(session, company_id, attrs["displayName"]):
        raise _conflict(attrs["displayName"])
    now = utcnow()
    group = Group(company_id=company_id, created_at=now, updated_at=now, version=1)
    _apply(group, attrs)
    session.add(group)
    _flush_unique(session, attrs["displayName"])
    delta = memberships.MemberDelta()
    memberships.add(session, group, ids, delta)
    _event(session, caller, group, "create", {}, attrs, delta)
    return group


def _update(session, caller, group, attrs, apply_members, action):
    """Rename check, membership SQL, attributes, version: one transaction; the event if anything
    happened. Returns the group."""
    before = attributes_of(group)
    if name_key(attrs["displayName"]) != group.display_name_key and _taken(
        session, group.company_id, attrs["displayName"], except_id=group.id
    ):
        raise _conflict(attrs["displayName"])
    delta = memberships.MemberDelta()
    apply_members(delta)
    if attrs != before:
        _apply(group, attrs)
    if attrs != before or delta.changed:
        group.version += 1
        group.updated_at = utcnow()
    _flush_unique(session, attrs["displayName"])
    if attrs != before or delta.as_changes():  # else nothing changed and nothing is reported: no event
        _event(session, caller, group, action, before, attrs, delta)
    return group


def replace(session, caller, group, body):
    """PUT: displayName, externalId and the whole member set are replaced (no members: none)."""
    attrs = clean_attributes(body)
    ids = member_ids(body) or []
    return _update(
        session, caller, group, attrs, lambda delta: memberships.replace(session, group, ids, delta), "replace"
    )


def patch(session, caller, group, operations):
    """PATCH: member operations in SQL, in order; the rest applied to displayName/externalId.

    Everything is parsed and validated before the first statement runs, so a bad
    operation changes nothing; a failing statement rolls the whole request back.
    """
    remaining, member_ops = member_changes(operations, PATCH_SCHEMA)
    attrs = clean_attributes(apply_patch(attributes_of(group), remaining, PATCH_SCHEMA))
    return _update(
        session, caller, group, attrs, lambda delta: memberships.apply(session, group, member_ops, delta), "update"
    )


def delete(session, caller, group):
    """DELETE: the group and its memberships go; the event lists the members it had."""
    before = attributes_of(group)
    delta = memberships.MemberDelta()
    memberships.clear(session, group, delta)
    session.delete(group)
    session.flush()
    _event(session, caller, group, "delete", before, {}, delta)
    return group


def search(lazy_session, company_id, filter_text, start_index, count):
    """``(total, groups)`` for one page of the company's groups matching a filter (all in SQL).

    ``lazy_session``, as for every store's ``get`` and ``search``: the request's session
    getter (``db.session``), called when there is a query to run."""
    session = lazy_session()
    query = select(Group).where(Group.company_id == company_id)
    if filter_text:
        resolver = GroupResolver(session.get_bind().dialect.name)
        query = query.where(to_clause(parse_filter(filter_text), resolver))
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    if count == 0:
        return total, []
    page = session.scalars(query.order_by(Group.created_at, Group.id).offset(start_index - 1).limit(count)).all()
    return total, page
