"""Prebuilt statements (models.prebuilt) against the real database: on PostgreSQL they run on
psycopg2's cursor (prepared once per connection, or not), elsewhere through
Connection.execute; either way a caller sees what Core would give it: the same rows and
types, the same rowcounts, the same exceptions, and every statement reaches the
``before_cursor_execute`` listeners."""

from contextlib import contextmanager
from datetime import datetime

import pytest
from sqlalchemy import bindparam, event, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from config import ConfigError, Settings
from models import Learner, make_engine
from models.prebuilt import MAX_PREPARED, Prebuilt
from service.company.tenant import create_company

_TABLE = Learner.__table__
_BY_COMPANY = select(*_TABLE.columns).where(_TABLE.c.company_id == bindparam("company_id")).order_by(_TABLE.c.id)
_UPDATE = update(_TABLE).where(_TABLE.c.id == bindparam("w_id"), _TABLE.c.version == bindparam("w_version"))
_INSERT = insert(_TABLE)


def _row(company_id, learner_id, user_name, **extra):
    values = dict.fromkeys(c.key for c in _TABLE.columns)
    values.update(
        id=learner_id,
        company_id=company_id,
        resource={"userName": user_name, "name": {"givenName": "Jo"}, "emails": [{"value": user_name}]},
        user_name=user_name,
        user_name_lower=user_name.lower(),
        user_name_key=user_name.lower(),
        active=True,
        training_tags=["forklift", "night shift"],
        owed_count=0,
        owed_in_progress=0,
        owed_overdue=0,
        owed_completed=0,
        version=1,
        created_at=datetime(2026, 1, 2, 3, 4, 5, 600000),
        updated_at=datetime(2026, 1, 2, 3, 4, 5, 600000),
    )
    values.update(extra)
    return values


@pytest.fixture(params=["plain", "prepared"])
def each_engine(request, db_url, sessions):
    """The database's engine, with and without prepared statements (the same on SQLite)."""
    made = make_engine(db_url, prepared_statements=request.param == "prepared")
    yield made
    made.dispose()


def _prepared(conn):
    """The names of the statements prepared on this connection (PostgreSQL)."""
    return sorted(conn.execute(text("SELECT name FROM pg_prepared_statements")).scalars())


@pytest.fixture()
def company_id(sessions):
    with sessions() as s:
        company = create_company(s, "Acme", 7)
        s.commit()
        return company.id


def test_rows_are_the_rows_core_reads_with_their_types(each_engine, company_id):
    with each_engine.begin() as conn:
        Prebuilt(_INSERT).write(conn, _row(company_id, "a" * 36, "jo@example.com"), tuple(_row(0, "", "x")))
        conn.execute(
            _INSERT, _row(company_id, "b" * 36, "al@example.com", active=False, deleted_at=datetime(2026, 5, 1))
        )
    with each_engine.connect() as conn:
        fast = Prebuilt(_BY_COMPANY).rows(conn, {"company_id": company_id})
        core = conn.execute(_BY_COMPANY, {"company_id": company_id}).all()
    assert [tuple(r) for r in fast] == [tuple(r) for r in core]
    first = dict(zip((c.key for c in _TABLE.columns), fast[0], strict=True))
    assert first["resource"]["name"] == {"givenName": "Jo"}  # JSON comes back parsed
    assert first["training_tags"] == ["forklift", "night shift"]
    assert first["active"] is True and first["created_at"] == datetime(2026, 1, 2, 3, 4, 5, 600000)
    assert fast[1][list(_TABLE.columns.keys()).index("active")] is False


def test_an_update_counts_the_rows_it_changed_and_sets_only_the_columns_given(each_engine, company_id):
    statement = Prebuilt(_UPDATE)
    with each_engine.begin() as conn:
        conn.execute(_INSERT, _row(company_id, "a" * 36, "jo@example.com", display_name="Jo"))
        changed = {"given_name": "Joanna", "version": 2, "w_id": "a" * 36, "w_version": 1}
        assert statement.write(conn, changed, ("given_name", "version")) == 1
        # The version moved on: the same guarded write now changes nothing.
        assert statement.write(conn, {**changed, "given_name": "Stale"}, ("given_name", "version")) == 0
        row = conn.execute(select(_TABLE).where(_TABLE.c.id == "a" * 36)).one()
    assert (row.given_name, row.display_name, row.version) == ("Joanna", "Jo", 2)


def test_a_unique_violation_is_sqlalchemys_integrity_error_and_the_connection_lives_on(each_engine, company_id):
    statement = Prebuilt(_INSERT)
    columns = tuple(_row(0, "", "x"))
    with each_engine.connect() as conn:
        with conn.begin():
            statement.write(conn, _row(company_id, "a" * 36, "jo@example.com"), columns)
        with pytest.raises(IntegrityError), conn.begin():
            statement.write(conn, _row(company_id, "a" * 36, "al@example.com"), columns)  # same primary key
        assert not conn.invalidated
        found = Prebuilt(_BY_COMPANY).rows(conn, {"company_id": company_id})
    assert [r[list(_TABLE.columns.keys()).index("user_name")] for r in found] == ["jo@example.com"]


def test_listeners_see_each_statement_with_its_sql(each_engine, company_id):
    seen = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()).lower())

    event.listen(each_engine, "before_cursor_execute", note)
    try:
        with each_engine.connect() as conn:
            Prebuilt(_BY_COMPANY).rows(conn, {"company_id": company_id})
    finally:
        event.remove(each_engine, "before_cursor_execute", note)
    assert len(seen) == 1 and seen[0].startswith("select learners.id") and "from learners" in seen[0]


def test_values_built_into_the_statement_are_bound_with_the_callers(each_engine, company_id):
    with each_engine.begin() as conn:
        conn.execute(_INSERT, _row(company_id, "a" * 36, "jo@example.com"))
        conn.execute(_INSERT, _row(company_id, "b" * 36, "al@example.com", version=2))
    first_version = select(_TABLE.c.user_name).where(
        _TABLE.c.company_id == bindparam("company_id"), _TABLE.c.version == 1
    )
    with each_engine.connect() as conn:
        assert Prebuilt(first_version).rows(conn, {"company_id": company_id}) == [("jo@example.com",)]


@contextmanager
def _postgres_engine(db_url, prepared):
    """An engine of its own, with or without prepared statements (PostgreSQL only), disposed after."""
    if not db_url.startswith("postgresql"):
        pytest.skip("prepared statements are PostgreSQL's")
    made = make_engine(db_url, prepared_statements=prepared)
    try:
        yield made
    finally:
        made.dispose()


def test_a_statement_is_prepared_once_per_connection_and_again_on_a_new_one(db_url, company_id):
    statement = Prebuilt(_BY_COMPANY)
    with _postgres_engine(db_url, prepared=True) as engine, engine.connect() as conn:
        conn.execute(_INSERT, _row(company_id, "a" * 36, "jo@example.com"))
        conn.commit()
        for _ in range(3):
            assert len(statement.rows(conn, {"company_id": company_id})) == 1
        names = _prepared(conn)
        assert len(names) == 1 and names[0].startswith("herd_")
        conn.invalidate()  # the database connection is gone: the next one starts with nothing prepared
        conn.rollback()
        assert _prepared(conn) == []
        assert len(statement.rows(conn, {"company_id": company_id})) == 1
        assert _prepared(conn) == names


def test_a_failed_transaction_leaves_the_prepared_statement_usable(db_url, company_id):
    statement, columns = Prebuilt(_INSERT), tuple(_row(0, "", "x"))
    with _postgres_engine(db_url, prepared=True) as engine, engine.connect() as conn:
        with pytest.raises(IntegrityError), conn.begin():
            statement.write(conn, _row(company_id, "a" * 36, "jo@example.com"), columns)
            statement.write(conn, _row(company_id, "a" * 36, "al@example.com"), columns)
        with conn.begin():  # the rollback kept the statement: it is executed, not prepared again
            statement.write(conn, _row(company_id, "b" * 36, "al@example.com"), columns)
        assert len(_prepared(conn)) == 1
        assert conn.execute(select(_TABLE.c.user_name)).scalars().all() == ["al@example.com"]


def test_without_prepared_statements_nothing_is_prepared(db_url, company_id):
    """DATABASE_PREPARED_STATEMENTS=off: what a pooler in transaction mode needs."""
    with _postgres_engine(db_url, prepared=False) as engine, engine.connect() as conn:
        assert Prebuilt(_BY_COMPANY).rows(conn, {"company_id": company_id}) == []
        assert _prepared(conn) == []


def test_the_setting_reads_on_and_off():
    assert Settings.from_env({}).prepared_statements is True
    assert Settings.from_env({"DATABASE_PREPARED_STATEMENTS": "off"}).prepared_statements is False
    assert Settings.from_env({"DATABASE_PREPARED_STATEMENTS": "On"}).prepared_statements is True
    with pytest.raises(ConfigError, match="DATABASE_PREPARED_STATEMENTS must be on or off"):
        Settings.from_env({"DATABASE_PREPARED_STATEMENTS": "sometimes"})


def test_prepared_forms_number_each_parameter_once_in_order_of_appearance():
    from models.prebuilt import _prepared_forms

    prepare, execute = _prepared_forms(
        "herd_9", "SELECT a FROM t WHERE b = %(x)s AND c LIKE 'p%%' AND (d = %(y)s OR e = %(x)s)"
    )
    assert prepare == "PREPARE herd_9 AS SELECT a FROM t WHERE b = $1 AND c LIKE 'p%' AND (d = $2 OR e = $1)"
    assert execute == "EXECUTE herd_9(%(x)s, %(y)s)"
    assert _prepared_forms("herd_10", "SELECT 1") == ("PREPARE herd_10 AS SELECT 1", "EXECUTE herd_10")


def test_a_connection_prepares_at_most_max_prepared_statements_and_sends_the_rest_plain(db_url, company_id):
    """Past the bound a statement still answers, unprepared: nothing a caller does grows a
    backend's prepared statements (and their plans in its memory) without limit."""
    statements = [
        Prebuilt(select(_TABLE.c.user_name, text(f"{n} AS n")).where(_TABLE.c.company_id == bindparam("company_id")))
        for n in range(MAX_PREPARED + 5)
    ]
    with _postgres_engine(db_url, prepared=True) as engine, engine.connect() as conn:
        conn.execute(_INSERT, _row(company_id, "a" * 36, "jo@example.com"))
        for _ in range(2):
            for n, statement in enumerate(statements):
                assert statement.rows(conn, {"company_id": company_id}) == [("jo@example.com", n)]
        assert len(_prepared(conn)) == MAX_PREPARED


def test_lent_rows_are_the_rows_a_connection_reads(each_engine, company_id):
    statement = Prebuilt(_BY_COMPANY)
    with each_engine.connect() as conn:
        conn.execute(
            _INSERT, [_row(company_id, "a" * 36, "jo@example.com"), _row(company_id, "b" * 36, "al@example.com")]
        )
        conn.commit()
        expected = [tuple(r) for r in statement.rows(conn, {"company_id": company_id})]
    assert [tuple(r) for r in statement.lent_rows(each_engine, {"company_id": company_id})] == expected
    assert len(expected) == 2 and expected[0][1] == company_id
    # The connection went back to the pool: lending it again and again holds none.
    for _ in range(3):
        statement.lent_rows(each_engine, {"company_id": company_id})
    assert each_engine.pool.checkedout() == 0


def test_a_connection_the_database_dropped_fails_lent_rows_as_invalidated_then_the_next_works(db_url, company_id):
    statement = Prebuilt(_BY_COMPANY)
    with _postgres_engine(db_url, prepared=True) as engine:
        statement.lent_rows(engine, {"company_id": company_id})  # the pool now holds a connection
        with engine.connect() as probe:
            pid = probe.execute(text("SELECT pg_backend_pid()")).scalar()
        with _postgres_engine(db_url, prepared=False) as admin_engine, admin_engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as failed:
            statement.lent_rows(engine, {"company_id": company_id})
        assert failed.value.connection_invalidated
        assert engine.pool.checkedout() == 0
        assert statement.lent_rows(engine, {"company_id": company_id}) == []


def test_an_unreachable_database_is_sqlalchemys_error_from_lent_rows(db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("a database server to be away is PostgreSQL's")
    engine = make_engine("postgresql://postgres@127.0.0.1:1/nowhere", prepared_statements=True)
    try:
        with pytest.raises(OperationalError):
            Prebuilt(_BY_COMPANY).lent_rows(engine, {"company_id": 1})
    finally:
        engine.dispose()
