"""Concurrency: the database, not the application, settles a race on userName."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, update

from models import AccessToken, utcnow
from tests.conftest import make_tenant
from tests.idps.test_entra_users import fixture

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def test_fifty_concurrent_posts_of_one_username_give_one_201(tenant, app):
    body = fixture("create_user.json")
    statuses = []
    barrier = threading.Barrier(10)

    def worker(n):
        client = app.test_client()
        barrier.wait()
        for _ in range(5):
            resp = client.post(
                f"{tenant.base}/Users",
                json={**body, "userName": "Race@acme.example" if n % 2 else "race@ACME.example"},
                headers=tenant.headers(),
            )
            statuses.append((resp.status_code, (resp.get_json() or {}).get("scimType")))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(statuses) == 50
    assert statuses.count((201, None)) == 1
    assert statuses.count((409, "uniqueness")) == 49
    found = tenant.get("Users", query_string={"filter": 'userName eq "race@acme.example"'}).get_json()
    assert found["totalResults"] == 1


def _most_held(app, request):
    """The most connections of each pool the app held at once while ``request()`` ran."""
    pools = {id(app.extensions[n].pool): app.extensions[n].pool for n in ("herd.engine", "herd.read_engine")}
    held = dict.fromkeys(pools, 0)
    most = dict.fromkeys(pools, 0)

    def listeners(key):
        def checkout(*_args):
            held[key] += 1
            most[key] = max(most[key], held[key])

        def checkin(*_args):
            held[key] -= 1

        return checkout, checkin

    added = [(pool, *listeners(key)) for key, pool in pools.items()]
    for pool, checkout, checkin in added:
        event.listen(pool, "checkout", checkout)
        event.listen(pool, "checkin", checkin)
    try:
        request()
    finally:
        for pool, checkout, checkin in added:
            event.remove(pool, "checkout", checkout)
            event.remove(pool, "checkin", checkin)
    return sorted(most.values())


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
def test_a_request_never_holds_two_connections_of_one_pool(app, sessions, method):
    """A request that held one pooled connection while it waited for another (the rate
    limiter's token lookup kept one for the whole request, and writing the token's
    last_used_at took a second) let a burst of requests empty the pool and wait on each
    other until the pool's timeout, then fail. Here the token is fresh (last_used_at is
    written) and the limiter's cache is cold: the worst case."""
    tenant = make_tenant(sessions, app.test_client(), "Acme", 7)
    learner = tenant.post("Users", json=fixture("create_user.json")).get_json()
    with sessions() as s:  # the token as if unused for an hour: this request writes last_used_at
        s.execute(update(AccessToken).values(last_used_at=utcnow() - timedelta(hours=1)))
        s.commit()
    app.extensions["herd.rate_limit_tokens"].clear()
    url = f"Users/{learner['id']}"
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]}
    answers = []
    send = {
        "GET": lambda: tenant.get(url),
        "POST": lambda: tenant.post("Users", json={**fixture("create_user.json"), "userName": "al@acme.example"}),
        "PATCH": lambda: tenant.patch(url, json=patch),
        "DELETE": lambda: tenant.delete(url),
    }[method]
    most = _most_held(app, lambda: answers.append(send()))
    assert answers[0].status_code < 300
    assert max(most) == 1, most
