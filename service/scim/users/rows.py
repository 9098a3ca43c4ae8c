"""Learner rows in Core: read as records, changed as drafts, written in one statement.

A SCIM write reads its learner as a record (``service.auth.record_type``; usually in
authentication's statement), builds a ``Draft`` of the columns it should have, and
writes it with one INSERT, or one UPDATE of only the columns that differ. No ORM
object, unit of work or flush is involved: on the write path they cost more CPU than
the statements themselves. The statements run on the session's connection (in its
transaction) as ``models.prebuilt`` statements: one driver call each.

The UPDATE is guarded by the version that was read, so a write never overwrites a
change it did not see: when another request wrote the learner in between, it
changes nothing and ``update_row`` says so (the store then reads the learner again and
makes its write on that).
"""

from sqlalchemy import bindparam, insert, select, update

from models import Learner, utcnow
from models.learner import new_id
from models.prebuilt import Prebuilt
from service.auth import record_type

_TABLE = Learner.__table__
COLUMNS = tuple(column.key for column in _TABLE.columns)
record = record_type(Learner)._make  # a learner row (its columns, in table order) as a record
# Built once. The UPDATE's SET clause is the columns named in its parameters (Core's rule
# for a statement without values()), so one statement serves every set of changes.
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
        values = dict.fromkeys(COLUMNS)
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
    """INSERT the new learner ``draft``."""
    _INSERT.write(session.connection(), draft.values(), COLUMNS)


def update_row(session, record, draft):
    """UPDATE the learner ``record`` (as read) to ``draft``, only the columns that differ.

    Returns False, having written nothing, when the row no longer has the version that was
    read (another request wrote it in between).
    """
    changed = {name: value for name, value in draft.values().items() if value != getattr(record, name)}
    columns = tuple(changed)
    changed.update(w_id=record.id, w_version=record.version)
    return _UPDATE.write(session.connection(), changed, columns) == 1
