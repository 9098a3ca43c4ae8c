"""The filter whitelist for Groups: columns for the group's own attributes, EXISTS for members.

A group has no stored document: every attribute it has is a column, and its
members are rows of ``group_members``. An attribute Groups do not have is
treated as unassigned (RFC 7644 §3.4.2.2), so ``description eq "x"`` matches
nothing and ``not (description pr)`` matches every group.
"""

import sqlalchemy as sa

from models import Group, GroupMember
from service.scim.errors import InvalidFilter
from service.scim.filters import Or, ValuePath, eq_defaults, operands
from service.scim.paths import CORE_GROUP_URN

# Extracted, indexed columns: Entra's lookups (displayName, externalId) use the indexes.
_COLUMNS = {
    ("displayname", None): (Group.display_name_lower, "lower_string"),
    ("externalid", None): (Group.external_id_lower, "lower_string"),
    ("id", None): (Group.id, "string"),
    ("meta", "created"): (Group.created_at, "datetime"),
    ("meta", "lastmodified"): (Group.updated_at, "datetime"),
}

_MEMBER_HINT = 'filter members by id, e.g. members[value eq "<id>"] or members.value eq "<id>"'


def _is_core(path):
    return path.urn is None or path.urn.lower() == CORE_GROUP_URN.lower()


def _has_members(ids=None):
    """EXISTS a membership row of the outer group (among ``ids`` when given)."""
    query = sa.select(sa.literal(1)).where(GroupMember.group_id == Group.id)
    if ids is not None:
        query = query.where(GroupMember.learner_id.in_(ids))
    return query.exists()


class GroupResolver:
    """Resolves filter attribute paths for one company's groups (see filter_sql)."""

    def __init__(self, dialect_name):
        self.dialect_name = dialect_name
        # No document: an empty JSON object makes every other attribute "unassigned".
        self.document = sa.literal_column("'{}'")

    def column(self, path):
        """The column for displayName, externalId, id, meta.created or meta.lastModified."""
        if not _is_core(path):
            return None
        return _COLUMNS.get((path.attr.lower(), path.sub.lower() if path.sub else None))

    def multi_valued(self, path):
        return False  # members are handled by own_clause; nothing else is multi-valued

    def json_key(self, path):
        keys = [path.attr] if path.sub is None else [path.attr, path.sub]
        return keys if _is_core(path) else [path.urn, *keys]

    def own_clause(self, expr):
        """``members`` filters, in SQL on ``group_members``; None for any other attribute."""
        path = expr.path
        if not (_is_core(path) and path.attr.lower() == "members"):
            return None
        if isinstance(expr, ValuePath):
            return _has_members(_value_path_ids(expr))
        if path.sub is not None and path.sub.lower() != "value":
            raise InvalidFilter(f"Unsupported filter: 'members.{path.sub}' cannot be filtered; {_MEMBER_HINT}")
        if expr.op == "pr" or (expr.op == "ne" and expr.value is None):
            return _has_members()
        if expr.value is None and expr.op == "eq":
            return sa.not_(_has_members())
        if expr.op not in ("eq", "ne") or not isinstance(expr.value, str):
            raise InvalidFilter(f"Unsupported filter: members can be compared with eq, ne or pr only; {_MEMBER_HINT}")
        found = _has_members([expr.value])
        return found if expr.op == "eq" else sa.not_(found)


def _value_path_ids(expr):
    """The ids of ``members[value eq "a" or value eq "b"]``."""
    ids = []
    for node in operands(expr.filter, Or):
        member_id = eq_defaults(node).get("value")
        if not isinstance(member_id, str):
            raise InvalidFilter(f"Unsupported filter: members can only be selected by id; {_MEMBER_HINT}")
        ids.append(member_id)
    return ids
