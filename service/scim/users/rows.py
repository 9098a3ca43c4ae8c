"""Learner rows in Core: read as records, changed as drafts, written in one statement.

A SCIM write reads its learner as a record (``service.auth.record_type``; usually in
authentication's statement), builds a ``Draft`` of the columns it should have, and
writes it with one INSERT, or one UPDATE of every column a write may change, together
with its provisioning event (``write``). No ORM object, unit of work or flush is
involved: on the write path they cost more CPU than the statements themselves. The
statements are ``models.prebuilt`` statements: one driver call each. On PostgreSQL the
learner and its event are one statement in autocommit when nothing else is written;
otherwise they join the session's transaction.

The UPDATE is guarded by the version that was read, so a write never overwrites a
change it did not see: when another request wrote the learner in between, it
changes nothing and ``write`` says so (the store then reads the learner again under a
lock, in a transaction, and makes its write on that)"""

from sqlalchemy import bindparam, insert, select, update

from models import Learner, learner_standing, utcnow
from models.learner import new_id
from models.prebuilt import Prebuilt
from service import db
from service.auth import record_type
from service.scim.writes import EVENT_COLUMNS, EVENTS, insert_event

_TABLE = Learner.__table__
COLUMNS = tuple(column.key for column in _TABLE.columns)
record = record_type(Learner)._make  # a learner row (its columns, in table order) as a record
# What an UPDATE sets: every column but those a learner keeps for life. Always all of
# them, changed or not: one statement shape per kind of write, so one prepared statement
# per connection (models.prebuilt), whichever attributes a PATCH touches. (An UPDATE of
# only the changed columns was a statement per set of columns: a tenant choosing another
# subset on each PATCH filled PostgreSQL's memory with prepared plans.) A column set to
# its own value costs nothing more: PostgreSQL writes a new row version either way, and
# an index whose columns kept their values is not touched (HOT update).
# Nor the counts of what the learner owes: models/learner_standing.py keeps them on every
# assignment written, without a new version, so a SCIM write must not put back those it read.
UPDATED = tuple(name for name in COLUMNS if name not in ("id", "company_id", "created_at", *learner_standing.COUNTED))
# Built once. The UPDATE's SET clause is the columns named in its parameters (Core's rule
# for a statement without values()): always ``UPDATED``.
_INSERT = Prebuilt(insert(_TABLE))
_BY_ID = Prebuilt(select(*_TABLE.columns).where(_TABLE.c.id == bindparam("learner_id")))
# A no-op write: it takes PostgreSQL's row lock and SQLite's database write lock alike
# (SQLite has no row locks and ignores FOR UPDATE), held until the transaction ends.
_LOCK = Prebuilt(update(_TABLE).where(_TABLE.c.id == bindparam("learner_id")).values(version=_TABLE.c.version))
_UPDATE = Prebuilt(update(_TABLE).where(_TABLE.c.id == bindparam("w_id"), _TABLE.c.version == bindparam("w_version")))


class Draft:
    """The columns a learner row is to have: every column, by its attribute name, mutable."""

    __slots__ = COLUMNS

    def __init__(self, values):
        for name in COLUMNS:
            setattr(self, name, values[name])

    @classmethod
    def of(cls, record):
        """A draft starting from the row as read."""
        return cls(record._asdict())

    @classmethod
    def new(cls, company_id):
        """A draft of a new learner of ``company_id`` (its id is set now: its event names it)."""
        now = utcnow()
        values = dict.fromkeys(COLUMNS) | dict.fromkeys(learner_standing.COUNTED, 0)
        values.update(
            id=new_id(), company_id=company_id, active=True, training_tags=[], version=1, created_at=now, updated_at=now
        )
        return cls(values)

    def values(self):
        """``{column: value}`` for every column."""
        return {name: getattr(self, name) for name in COLUMNS}


def read(session, learner_id, lock=False):
    """The learner row with this id as a record, or None.

    ``lock``: no other transaction can write the row until this one ends, so the version
    read is still the row's at this transaction's UPDATE.
    """
    connection = session.connection()
    if lock:
        _LOCK.write(connection, {"learner_id": learner_id})
    found = _BY_ID.rows(connection, {"learner_id": learner_id})
    return record(found[0]) if found else None


def insert_row(session, draft):
    """INSERT the new learner ``draft`` (True: it was written)."""
    _INSERT.write(session.connection(), draft.values(), COLUMNS)
    return True


def _with_event(dml):
    """``dml`` (an INSERT or UPDATE of one learner) and its event row as one statement: the
    event is inserted only if the learner row was written (``WITH written AS (...) INSERT
    INTO provisioning_events SELECT ... FROM written``). PostgreSQL only."""
    written = dml.returning(_TABLE.c.id).cte("written")
    values = [bindparam(f"e_{name}", type_=EVENTS.c[name].type) for name in EVENT_COLUMNS]
    return Prebuilt(insert(EVENTS).from_select(EVENT_COLUMNS, select(*values).select_from(written)))


def _set(columns):
    """SET (or VALUES) ``columns`` from parameters named ``s_<column>`` (the event's are ``e_<column>``)."""
    return {name: bindparam(f"s_{name}", type_=_TABLE.c[name].type) for name in columns}


_UPDATE_WITH_EVENT = _with_event(
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("w_id"), _TABLE.c.version == bindparam("w_version"))
    .values(_set(UPDATED))
)
_INSERT_WITH_EVENT = _with_event(insert(_TABLE).values(_set(COLUMNS)))


def write(session, record, draft, event):
    """Write the learner ``draft`` and its provisioning ``event`` (``writes.event_row``),
    both or neither: an INSERT when ``record`` is None, else an UPDATE of ``UPDATED``,
    guarded by the version of ``record`` (as read).

    Returns False, having written nothing, when the row no longer has the version that was
    read. On PostgreSQL, when the request has written nothing else yet, the learner and
    its event are one statement on an autocommit connection: no transaction to begin and
    commit, one round trip where a transaction took four. Otherwise (SQLite, or the
    request's transaction already holds a write or a lock) two statements in the session's
    transaction.
    """
    engine = None if session.in_transaction() else db.autocommit_engine()
    if engine is None:
        written = insert_row(session, draft) if record is None else update_row(session, record, draft)
        if written:
            insert_event(session, event)
        return written
    params = {f"e_{name}": value for name, value in event.items()}
    if record is None:
        params.update((f"s_{name}", value) for name, value in draft.values().items())
        statement = _INSERT_WITH_EVENT
    else:
        params.update((f"s_{name}", getattr(draft, name)) for name in UPDATED)
        params.update(w_id=record.id, w_version=record.version)
        statement = _UPDATE_WITH_EVENT
    with engine.connect() as connection:
        return statement.write(connection, params) == 1


def update_row(session, record, draft):
    """UPDATE the learner ``record`` (as read) to ``draft`` (the columns ``UPDATED``).

    Returns False, having written nothing, when the row no longer has the version that was
    read (another request wrote it in between).
    """
    params = {name: getattr(draft, name) for name in UPDATED}
    params.update(w_id=record.id, w_version=record.version)
    return _UPDATE.write(session.connection(), params, UPDATED) == 1
