"""Hot statements run straight on the driver's cursor, compiled once per dialect.

``Connection.execute`` costs about 80 µs of Python per statement on top of psycopg2's own
work (the compiled-cache lookup, an execution context, bind processing through the
generic path, a ``CursorResult`` with its metadata): on a SCIM request of two or three
small statements that was a fifth of the web worker's CPU. A ``Prebuilt`` statement keeps
SQLAlchemy for what it is good at (building and compiling the SQL, the types' bind and
result processors, wrapping driver errors and invalidating dead connections) and skips
the rest: its SQL string and processors are worked out once per dialect and set of
columns, and each call is one ``cursor.execute``.

Only drivers with named parameters get the short path (psycopg2's ``%(name)s``); any
other (SQLite's ``?``) runs the same statement through ``Connection.execute``, so both
paths return the same rows. ``before_cursor_execute`` listeners (the tests') still see
every statement; a driver error is raised exactly as ``Connection.execute`` raises it.
"""

from functools import lru_cache

# Each distinct set of columns an UPDATE sets is compiled once; in practice a handful.
_COMPILED_PER_STATEMENT = 256


class Prebuilt:
    """A Core statement, compiled once per dialect (and per ``column_keys``), run on the cursor.

    ``column_keys``: for an INSERT or UPDATE without ``values()``, the columns it writes are
    the parameters' names (Core's rule); every call passes them all.
    """

    def __init__(self, statement):
        self.statement = statement
        self._compile = lru_cache(maxsize=_COMPILED_PER_STATEMENT)(self._compiled)

    def _compiled(self, dialect, column_keys):
        """``(sql, bind processors, fixed bind values, result processors)``, or None where the
        driver's parameter style needs ``Connection.execute``."""
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
        fixed = {name: bind.value for name, bind in binds.items() if not bind.required}
        results = None
        if self.statement.is_select:
            found = [
                c.type.dialect_impl(dialect).result_processor(dialect, None) for c in self.statement.selected_columns
            ]
            results = tuple(found) if any(found) else None
        return compiled.string, processors, fixed, results

    def _run(self, connection, params, column_keys):
        plan = self._compile(connection.dialect, column_keys)
        if plan is None:
            return None, connection.execute(self.statement, params)
        sql, processors, fixed, results = plan
        values = {**fixed, **params} if fixed else dict(params)
        for name, process in processors:
            if name in values:
                values[name] = process(values[name])
        cursor = connection.connection.cursor()
        try:
            if connection.dispatch.before_cursor_execute:
                for listener in connection.dispatch.before_cursor_execute:
                    listener(connection, cursor, sql, values, None, False)
            cursor.execute(sql, values)
        except Exception as exc:
            # SQLAlchemy's own handling: the error wrapped as Connection.execute would raise
            # it (IntegrityError, DBAPIError.connection_invalidated), a dead connection and
            # the pool's older ones invalidated.
            connection._handle_dbapi_exception(exc, sql, values, cursor, None)
        return (cursor, results), None

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
        if processors is None:
            return found
        return [
            tuple(value if process is None else process(value) for value, process in zip(row, processors, strict=True))
            for row in found
        ]

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
