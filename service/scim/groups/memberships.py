"""Group membership in SQL: rows of ``group_members``, never a member list in memory.

Adding or removing members costs what the request names, whatever the size
of the group: an add is one INSERT ... ON CONFLICT DO NOTHING, a remove one
DELETE, both on the (group, learner) primary key. Only ``replace`` and
``clear``, which are about the whole set by definition, read the group's
member ids (ids only, never learner rows).

``MemberDelta`` keeps the net effect of a request's operations, applied in
order: an add and a remove of the same member in one PATCH cancel out, so
the provisioning event (and Smart Assign) sees what really changed.
"""

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from models import Group, GroupMember, Learner, utcnow

# Rows or ids per statement: well under SQLite's 32,766 bound parameters.
CHUNK = 500


def _chunks(items, size=CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


class MemberDelta:
    """Net membership changes of one request, in request order (dicts as ordered sets)."""

    def __init__(self):
        self.added, self.removed, self.ignored = {}, {}, {}

    def note_added(self, ids):
        for learner_id in ids:
            if learner_id in self.removed:
                del self.removed[learner_id]  # removed earlier in this request, back again: no net change
            else:
                self.added[learner_id] = None

    def note_removed(self, ids):
        for learner_id in ids:
            if learner_id in self.added:
                del self.added[learner_id]  # added earlier in this request, gone again: no net change
            else:
                self.removed[learner_id] = None

    def note_ignored(self, ids):
        for learner_id in ids:
            self.ignored[learner_id] = None

    @property
    def changed(self):
        """True when the member set differs from before the request."""
        return bool(self.added or self.removed)

    def as_changes(self):
        """``{"added": [...], "removed": [...], "ignored": [...]}`` without the empty lists."""
        out = {"added": list(self.added), "removed": list(self.removed), "ignored": list(self.ignored)}
        return {key: ids for key, ids in out.items() if ids}


def _insert(session):
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING."""
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert(GroupMember)


def company_learners(session, company_id, ids):
    """The ids among ``ids`` that are learners of this company and not DELETEd."""
    found = set()
    for chunk in _chunks(ids):
        found.update(
            session.scalars(
                select(Learner.id).where(
                    Learner.company_id == company_id, Learner.deleted_at.is_(None), Learner.id.in_(chunk)
                )
            )
        )
    return found


def add(session, group, ids, delta, valid=None):
    """Add the learners ``ids`` to ``group``; ids that are not learners of its company are ignored.

    ``valid`` is the set of ids already known to be the company's learners, if the caller has it.
    """
    if valid is None:
        valid = company_learners(session, group.company_id, ids)
    delta.note_ignored([i for i in ids if i not in valid])
    wanted = [i for i in ids if i in valid]
    inserted = set()
    now = utcnow()
    for chunk in _chunks(wanted):
        rows = [{"group_id": group.id, "learner_id": i, "added_at": now} for i in chunk]
        statement = _insert(session).values(rows).on_conflict_do_nothing().returning(GroupMember.learner_id)
        inserted.update(session.scalars(statement))
    delta.note_added([i for i in wanted if i in inserted])


def remove(session, group, ids, delta):
    """Remove the learners ``ids`` from ``group``; ids that are not members are a no-op."""
    removed = set()
    for chunk in _chunks(ids):
        statement = (
            delete(GroupMember)
            .where(GroupMember.group_id == group.id, GroupMember.learner_id.in_(chunk))
            .returning(GroupMember.learner_id)
        )
        removed.update(session.scalars(statement))
    delta.note_removed([i for i in ids if i in removed])


def clear(session, group, delta):
    """Remove every member of ``group``."""
    statement = delete(GroupMember).where(GroupMember.group_id == group.id).returning(GroupMember.learner_id)
    delta.note_removed(sorted(session.scalars(statement)))


def replace(session, group, ids, delta):
    """Make ``ids`` (those that are learners of the company) the whole member set of ``group``."""
    valid = company_learners(session, group.company_id, ids)
    current = set(session.scalars(select(GroupMember.learner_id).where(GroupMember.group_id == group.id)))
    remove(session, group, sorted(current - valid), delta)
    add(session, group, [i for i in ids if i not in current], delta, valid)


def apply(session, group, member_ops, delta):
    """Apply ``patch.member_changes`` operations to ``group``, in order."""
    for op in member_ops:
        if op.kind == "add":
            add(session, group, op.ids, delta)
        elif op.kind == "remove":
            remove(session, group, op.ids, delta)
        elif op.kind == "replace":
            replace(session, group, op.ids, delta)
        elif op.kind == "clear":
            clear(session, group, delta)
        else:  # pragma: no cover - member_changes only makes the four kinds above
            raise ValueError(f"unknown member operation {op.kind!r}")


def members_of(session, group_ids):
    """``{group_id: [learner_id, ...]}`` for these groups, in one query.

    The join keeps out a learner DELETEd while a concurrent PATCH added it.
    """
    out = {group_id: [] for group_id in group_ids}
    if not group_ids:
        return out
    rows = session.execute(
        select(GroupMember.group_id, GroupMember.learner_id)
        .join(Learner, Learner.id == GroupMember.learner_id)
        .where(GroupMember.group_id.in_(group_ids), Learner.deleted_at.is_(None))
        .order_by(GroupMember.group_id, GroupMember.learner_id)
    )
    for group_id, learner_id in rows:
        out[group_id].append(learner_id)
    return out


def groups_of(session, learner_ids):
    """``{learner_id: [(group_id, displayName), ...]}`` for these learners, in one query."""
    out = {learner_id: [] for learner_id in learner_ids}
    if not learner_ids:
        return out
    rows = session.execute(
        select(GroupMember.learner_id, Group.id, Group.display_name)
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.learner_id.in_(learner_ids))
        .order_by(GroupMember.learner_id, Group.display_name_lower, Group.id)
    )
    for learner_id, group_id, display_name in rows:
        out[learner_id].append((group_id, display_name))
    return out


def leave_all(session, learner_id):
    """Take a learner out of every group (DELETE /Users); return the group ids it left."""
    statement = delete(GroupMember).where(GroupMember.learner_id == learner_id).returning(GroupMember.group_id)
    return sorted(session.scalars(statement))
