"""Hot statements run straight on the driver's cursor, compiled once, planned once.

``Connection.execute`` costs about 80 µs of Python per statement on top of psycopg2's own
work (the compiled-cache lookup, an execution context, bind processing through the
generic path, a ``CursorResult`` with its metadata): on a SCIM request of two or three
small statements that was a fifth of the web worker's CPU. A ``Prebuilt`` statement keeps
SQLAlchemy for what it is good at (building and compiling the SQL, the types' bind and
result processors, wrapping driver errors and invalidating dead connections) and skips
the rest: its SQL string and processors are worked out once per dialect and set of
columns, and each call is one ``cursor.execute``.

On PostgreSQL the statement is also a server-side prepared statement (``PREPARE`` once
per connection, then ``EXECUTE``): PostgreSQL otherwise plans every statement again, and
planning authentication's three-table join cost the database more CPU than running it.
An engine made with ``prepared_statements=False`` (``DATABASE_PREPARED_STATEMENTS=off``,
for a pooler in transaction mode, where a connection's prepared statements are not the
next transaction's) sends the plain statement instead.

A prepared statement holds its plan in the backend's memory until the connection closes,
and nothing DEALLOCATEs it; so a connection prepares at most ``MAX_PREPARED`` of them and
sends any further statement unprepared. The callers keep their shapes few (a learner's
UPDATE always sets every column: ``service.scim.users.rows``), so the hot statements are
the first prepared; the cap is what makes the bound hold whatever a caller does (before
it, every set of changed columns a tenant's PATCHes chose was a statement of its own,
prepared again under a new name once the compiled-plan cache had evicted it).

Only drivers with named parameters get the short path (psycopg2's ``%(name)s``); any
other (SQLite's ``?``) runs the same statement through ``Connection.execute``, so both
paths return the same rows. ``before_cursor_execute`` listeners (the tests') see every
statement as its SQL (not the ``EXECUTE``); a driver error is raised exactly as
``Connection.execute`` raises it.
"""

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.engine import Connection

# Each distinct set of columns an UPDATE sets is compiled once; in practice a handful.
_COMPILED_PER_STATEMENT = 256
# Statements prepared on one PostgreSQL connection, at most (the web has about fifteen
# hot ones); beyond it a statement is sent as plain SQL, planned on every call.
MAX_PREPARED = 64
# The engine execution option that turns server-side prepared statements on (models.db).
PREPARE_OPTION = "herd_prepared_statements"
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_names = itertools.count(1)


@dataclass(frozen=True)
class _Plan:
    sql: str  # with the driver's %(name)s placeholders
    processors: tuple  # (name, bind processor) for the parameters whose type converts them
    fixed: dict  # values compiled into the statement, bound like the caller's
    results: tuple | None  # a result processor per column, or None when no column needs one
    name: str | None  # the prepared statement's name (PostgreSQL), or None
    prepare: str | None  # PREPARE <name> AS <sql with $1, $2 ...>
    execute: str | None  # EXECUTE <name>(%(a)s, %(b)s ...)


def _prepared_forms(name, sql):
    """``(PREPARE ..., EXECUTE ...)`` for ``sql``: each named parameter becomes $n in
    order of first appearance, and EXECUTE passes them in that order."""
    order = []

    def number(match):
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    body = _PLACEHOLDER.sub(number, sql).replace("%%", "%")  # %% is psycopg2's escape of %
    arguments = ", ".join(f"%({key})s" for key in order)
    return f"PREPARE {name} AS {body}", f"EXECUTE {name}({arguments})" if order else f"EXECUTE {name}"


class Prebuilt:
    """A Core statement, compiled once per dialect (and per ``column_keys``), run on the cursor.

    ``column_keys``: for an INSERT or UPDATE without ``values()``, the columns it writes are
    the parameters' names (Core's rule); every call passes them all.
    """

    def __init__(self, statement):
        self.statement = statement
        self._compile = lru_cache(maxsize=_COMPILED_PER_STATEMENT)(self._plan)

    def _plan(self, dialect, column_keys):
        """The statement's ``_Plan`` on ``dialect``, or None where the driver's parameter
        style needs ``Connection.execute``."""
        if dialect.positional:
            return None
        compiled = self.statement.compile(dialect=dialect, column_keys=list(column_keys) if column_keys else None)
        if compiled.escaped_bind_names:
            return None  # names the driver cannot take as they are: the generic path renames them
        binds = compiled.binds
        processors = tuple(
            (name, process)
            for name, bind in binds.items()
            if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        )
        results = None
        if self.statement.is_select:
            found = [
                c.type.dialect_impl(dialect).result_processor(dialect, None) for c in self.statement.selected_columns
            ]
            results = tuple(found) if any(found) else None
        fixed = {key: bind.value for key, bind in binds.items() if not bind.required}
        name = prepare = execute = None
        if dialect.name == "postgresql":
            name = f"herd_{next(_names)}"
            prepare, execute = _prepared_forms(name, compiled.string)
        return _Plan(compiled.string, processors, fixed, results, name, prepare, execute)

    def _run(self, connection, params, column_keys):
        plan = self._compile(connection.dialect, column_keys)
        if plan is None:
            return None, connection.execute(self.statement, params)
        values = _values(plan, params)
        pooled = connection.connection  # the pool's connection: its info lives as long as the driver's
        cursor = pooled.cursor()
        sql = plan.sql
        try:
            if connection.dispatch.before_cursor_execute:
                for listener in connection.dispatch.before_cursor_execute:
                    listener(connection, cursor, sql, values, None, False)
            sql = _execute(plan, pooled, cursor, values, connection.get_execution_options().get(PREPARE_OPTION))
        except Exception as exc:
            # SQLAlchemy's own handling: the error wrapped as Connection.execute would raise
            # it (IntegrityError, DBAPIError.connection_invalidated), a dead connection and
            # the pool's older ones invalidated.
            connection._handle_dbapi_exception(exc, sql, values, cursor, None)
        return (cursor, plan.results), None

    def rows(self, connection, params):
        """Every row a SELECT returns, as tuples (``Row`` on the generic path)."""
        fast, result = self._run(connection, params, None)
        if result is not None:
            return result.all()
        cursor, processors = fast
        try:
            found = cursor.fetchall()
        finally:
            cursor.close()
        return _processed(found, processors)

    def lent_rows(self, engine, params):
        """``rows`` on a connection of ``engine``'s pool lent for this one statement.

        The pool's connection is used as it is, with no ``Connection`` made around it:
        making and closing one cost a SCIM lookup more CPU than the statement's own
        Python. One is made where something needs it: ``before_cursor_execute`` listeners
        (the tests') get the statement on one, and a driver error is wrapped and a dead
        connection invalidated by one, as in ``rows``. An engine that logs its statements
        or has ``engine_connect`` listeners, or a driver without named parameters, goes
        through ``engine.connect()``.
        """
        dialect = engine.dialect
        plan = self._compile(dialect, None)
        if plan is None or engine.echo or engine.dispatch.engine_connect:
            with engine.connect() as connection:
                return self.rows(connection, params)
        values = _values(plan, params)
        try:
            pooled = engine.raw_connection()
        except dialect.loaded_dbapi.Error as exc:
            # Wrapped (an unreachable database is a DBAPIError, answered 503) as engine.connect() wraps it.
            Connection._handle_dbapi_exception_noconnection(exc, dialect, engine)
        # Closing the Connection, when there is one, returns the pool's connection.
        connection = Connection(engine, connection=pooled) if engine.dispatch.before_cursor_execute else None
        cursor = None
        sql = plan.sql
        try:
            cursor = pooled.cursor()
            if connection is not None:
                for listener in connection.dispatch.before_cursor_execute:
                    listener(connection, cursor, sql, values, None, False)
            sql = _execute(plan, pooled, cursor, values, engine.get_execution_options().get(PREPARE_OPTION))
            found = cursor.fetchall()
            cursor.close()
        except Exception as exc:
            # The Connection's handling, on the connection that failed (see _run); closing it
            # returns the pool's connection, or discards it when it is dead.
            with connection or Connection(engine, connection=pooled) as failed:
                failed._handle_dbapi_exception(exc, sql, values, cursor, None)
            raise  # not reached: _handle_dbapi_exception raises
        (connection or pooled).close()
        return _processed(found, plan.results)

    def write(self, connection, params, column_keys=None):
        """Run an INSERT, UPDATE or DELETE (without RETURNING); returns how many rows it
        changed. ``column_keys``: see the class."""
        fast, result = self._run(connection, params, column_keys)
        if result is not None:
            return result.rowcount
        cursor, _ = fast
        try:
            return cursor.rowcount
        finally:
            cursor.close()


def _values(plan, params):
    """The driver's parameters: the caller's, the statement's own, each through its type's processor."""
    values = {**plan.fixed, **params} if plan.fixed else dict(params)
    for name, process in plan.processors:
        if name in values:
            values[name] = process(values[name])
    return values


def _execute(plan, pooled, cursor, values, prepare):
    """Run ``plan`` on ``cursor`` (of the pool's connection ``pooled``): as ``EXECUTE`` once
    the connection has prepared it (``prepare``: the engine prepares statements); returns
    the SQL sent."""
    sql = plan.sql
    if plan.name is not None and prepare:
        prepared = pooled.info.setdefault(PREPARE_OPTION, set())
        if plan.name not in prepared and len(prepared) < MAX_PREPARED:
            # A statement of its own: PREPARE outlives a rollback, so once it
            # succeeded the name is this connection's until it closes.
            cursor.execute(plan.prepare)
            prepared.add(plan.name)
        if plan.name in prepared:
            sql = plan.execute
    cursor.execute(sql, values)
    return sql


def _processed(found, processors):
    """``found`` with each column through its type's result processor (None: as read)."""
    if processors is None:
        return found
    return [
        tuple(value if process is None else process(value) for value, process in zip(row, processors, strict=True))
        for row in found
    ]
