"""A tenant cannot grow PostgreSQL's memory through prepared statements: 5,000 PATCHes of one
learner, each changing another random subset of its column-backed attributes, leave every
pooled connection with a bounded number of prepared statements (the learner's UPDATE is one of
them, whatever the subset) and the backend's memory where it was."""

import random

import pytest
from sqlalchemy import text

from models import Company
from models.prebuilt import MAX_PREPARED
from tests.conftest import make_tenant

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
EXT = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
PATCHES = 5_000
# The backend's memory may move a little (caches of the catalog, the plans' own growth); a
# prepared statement per subset grew it by about 50 kB each, 200 MB over this test.
MEMORY_SLACK = 16 * 1024 * 1024


def _operation(attribute, rng):
    """A replace of one column-backed attribute with a value it did not have."""
    word = f"v{rng.randrange(10**9)}"
    values = {
        "displayName": word,
        "name.givenName": word,
        "name.familyName": word,
        "externalId": word,
        "emails": [{"type": "work", "primary": True, "value": f"{word}@acme.example"}],
        "active": rng.random() < 0.5,
        f"{EXT}:location": word,
        f"{EXT}:learnerRole": rng.choice(["supervisor", "employee", word]),
        f"{EXT}:country": rng.choice(["US", "DE", "FR", "CA", "GB"]),
    }
    return {"op": "replace", "path": attribute, "value": values[attribute]}


ATTRIBUTES = (
    "displayName",
    "name.givenName",
    "name.familyName",
    "externalId",
    "emails",
    "active",
    f"{EXT}:location",
    f"{EXT}:learnerRole",
    f"{EXT}:country",
)


def _per_connection(app, query):
    """``query``'s one value on every idle connection of the app's two pools."""
    found = []
    for engine in (app.extensions["herd.engine"], app.extensions["herd.read_engine"]):
        conns = [engine.connect() for _ in range(engine.pool.checkedin())]
        try:
            found += [conn.execute(text(query)).scalar() for conn in conns]
        finally:
            for conn in conns:
                conn.close()
    return found


@pytest.fixture()
def postgres_app(app, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    return app


def test_patching_random_column_subsets_keeps_prepared_statements_and_memory_bounded(postgres_app, sessions):
    app = postgres_app
    tenant = make_tenant(sessions, app.test_client(), "Acme", 7)
    with sessions() as s:
        s.get(Company, tenant.id).rate_limit_per_second = 0  # no limit: this test is the flood
        s.get(Company, tenant.id).rate_limit_per_minute = 0
        s.commit()
    created = tenant.post("Users", json={"userName": "jo@acme.example", EXT: {"location": "HQ"}})
    assert created.status_code == 201
    url = f"Users/{created.get_json()['id']}"
    rng = random.Random(21)

    def patch_random_subset():
        chosen = rng.sample(ATTRIBUTES, rng.randint(1, len(ATTRIBUTES)))
        resp = tenant.patch(url, json={"schemas": [PATCH_OP], "Operations": [_operation(a, rng) for a in chosen]})
        assert resp.status_code == 200, resp.get_data(as_text=True)

    for _ in range(20):  # every statement of the PATCH path prepared once
        patch_random_subset()
    memory = "SELECT sum(total_bytes) FROM pg_backend_memory_contexts"
    before = sum(_per_connection(app, memory))

    for _ in range(PATCHES):
        patch_random_subset()

    counts = _per_connection(app, "SELECT count(*) FROM pg_prepared_statements")
    assert counts and max(counts) <= MAX_PREPARED, counts
    # The learner's UPDATE (with its event) is one prepared statement, whatever it changed.
    updates = _per_connection(
        app, "SELECT count(*) FROM pg_prepared_statements WHERE statement ILIKE '%UPDATE learners SET%'"
    )
    assert max(updates) == 1, updates
    after = sum(_per_connection(app, memory))
    assert after - before < MEMORY_SLACK, (before, after)
