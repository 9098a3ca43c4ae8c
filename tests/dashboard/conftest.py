"""Dashboard fixtures: admins with known passwords, a signed-in client, a recording enqueuer."""

import re

import pytest
from argon2 import PasswordHasher

from models import Admin
from service.dashboard import accounts

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ONCE = re.compile(r'name="once" value="([^"]+)"')


class Dashboard:
    """A Flask test client signed in (or not) as one admin, posting forms with their CSRF token."""

    def __init__(self, client):
        self.client = client

    def csrf(self, page="/dashboard/login"):
        """The CSRF token of this session, read from a page as a browser would."""
        match = CSRF.search(self.client.get(page).get_data(as_text=True))
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def login(self, email, password=PASSWORD):
        token = self.csrf()
        return self.client.post("/dashboard/login", data={"csrf_token": token, "email": email, "password": password})

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def post(self, path, data=None, csrf=True, page="/dashboard/settings/integrations/api"):
        """Post a form as a browser would from ``page``: with its CSRF token and one-time value."""
        data = dict(data or {})
        if csrf:
            text = self.client.get(page).get_data(as_text=True)
            match = CSRF.search(text)
            assert match, f"no CSRF token on {page}"
            data["csrf_token"] = match.group(1)
            once = ONCE.search(text)
            if once and "once" not in data:
                data["once"] = once.group(1)
        return self.client.post(path, data=data)


def make_admin(sessions, company_id, email, password=PASSWORD, must_change=False):
    with sessions() as s:
        admin = Admin(
            company_id=company_id,
            email=email.lower(),
            password_hash=accounts.hash_password(password),
            must_change_password=must_change,
        )
        s.add(admin)
        s.commit()
        return admin.id


@pytest.fixture(autouse=True)
def fresh_page_caches():
    """The learner facets and the people filters are kept a minute per company id: each test's
    company 7 starts without the previous test's."""
    from service.dashboard import learners
    from service.reports import people

    learners._facets_cache.clear()
    people._choices_cache.clear()


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    """argon2 with its production cost takes ~0.4 s per hash on CI's 2 cores; the tests need
    the behaviour, not the cost (argon2id all the same, with small memory and time)."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


class RecordingEnqueuer:
    """Stands in for the broker: remembers what the app published."""

    def __init__(self, ok=True):
        self.ok = ok
        self.sent = []

    def send(self, name, args):
        self.sent.append((name, args))
        return self.ok


@pytest.fixture()
def enqueued(app):
    fake = RecordingEnqueuer()
    app.extensions["herd.enqueuer"] = fake
    return fake


@pytest.fixture()
def admin_a(sessions, tenant):
    make_admin(sessions, tenant.id, "alice@acme.example")
    return "alice@acme.example"


@pytest.fixture()
def admin_b(sessions, other_tenant):
    make_admin(sessions, other_tenant.id, "bob@globex.example")
    return "bob@globex.example"


@pytest.fixture()
def dash(app, admin_a):
    """Alice of Acme (company 7), signed in."""
    d = Dashboard(app.test_client())
    resp = d.login(admin_a)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return d


@pytest.fixture()
def anon(app):
    return Dashboard(app.test_client())
