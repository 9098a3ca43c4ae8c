"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL when DATABASE_URL is set),
the Flask app, and companies with tokens."""

import os
import re

import pytest
from sqlalchemy import delete, event, text
from sqlalchemy.engine import Engine

from config import Settings
from models import AccessToken, Base, Company, make_engine, make_session_factory
from models.migrate import upgrade

SCIM = "application/scim+json"


def database_url(tmp_path_factory):
    """DATABASE_URL when set (CI's PostgreSQL), else a fresh SQLite file for this run."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'herd.db'}"


@pytest.fixture(scope="session")
def db_url(tmp_path_factory):
    url = database_url(tmp_path_factory)
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        # Start from an empty schema: the migrations themselves are under test.
        Base.metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


# Tables a test may have written to: emptied before the next test, the others are left
# alone (most tests touch four or five of the twenty tables). Every INSERT of this
# process is seen here, whichever engine ran it (the app builds its own); tests whose
# writes come from other processes (tests/e2e) call ``mark_all_dirty``.
# Anywhere in the statement: a learner and its event are one INSERT ... WITH (service.scim.users.rows).
_INSERT = re.compile(r"\bINSERT\s+(?:OR\s+\w+\s+)?INTO\s+\"?(\w+)", re.IGNORECASE)
_dirty = {"*"}  # the first test starts from an emptied database (migrations may seed rows)


@event.listens_for(Engine, "before_cursor_execute")
def _note_insert(_conn, _cursor, statement, _params, _context, _executemany):
    _dirty.update(_INSERT.findall(statement))


def mark_all_dirty():
    """Empty every table before the next test (another process wrote to the database)."""
    _dirty.add("*")


@pytest.fixture()
def sessions(engine):
    """A session factory on a database whose tables are empty at the start of each test."""
    everything = "*" in _dirty
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if everything or table.name in _dirty:
                conn.execute(delete(table))
    _dirty.clear()
    return make_session_factory(engine)


@pytest.fixture()
def settings(db_url, sessions):
    return Settings.from_env(
        env={},
        database_url=db_url,
        # Nothing listens here: SCIM must work with the broker down (the relay catches up).
        redis_url=os.environ.get("TEST_DEAD_REDIS_URL", "redis://127.0.0.1:1/0"),
        public_base_url="https://herd.test",
        secret_key="test-secret",
    )


@pytest.fixture()
def app(settings):
    from service import create_app

    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def client(app):
    return app.test_client()


class Tenant:
    """A company and a valid token, with helpers for SCIM calls against its tenant URL."""

    def __init__(self, client, company_id, token):
        self.client = client
        self.id = company_id
        self.token = token
        self.base = f"/scim/v2/{company_id}"

    def headers(self, extra=None):
        h = {"Authorization": f"Bearer {self.token}"}
        h.update(extra or {})
        return h

    def call(self, method, path, json=None, headers=None, **kw):
        url = path if path.startswith("/") else f"{self.base}/{path}"
        return self.client.open(
            url,
            method=method,
            json=json,
            headers=self.headers(headers),
            content_type=SCIM if json is not None else None,
            **kw,
        )

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.call("POST", path, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.call("PUT", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.call("PATCH", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


def make_tenant(sessions, client, name, company_id=None):
    """Create a company and a token directly in the database."""
    from service.company.tenant import create_company

    with sessions() as s:
        company = create_company(s, name, company_id)
        row, secret = AccessToken.issue(company.id, f"{name} token")
        s.add(row)
        s.commit()
        return Tenant(client, company.id, secret)


@pytest.fixture()
def tenant(sessions, client):
    return make_tenant(sessions, client, "Acme", 7)


@pytest.fixture()
def other_tenant(sessions, client):
    return make_tenant(sessions, client, "Globex", 8)


@pytest.fixture()
def groups_on(tenant, sessions):
    """``tenant`` with its company's Groups turned on, as ``./herd companies groups --enable`` leaves it."""
    with sessions() as s:
        s.get(Company, tenant.id).groups_enabled = True
        s.commit()
    return tenant
