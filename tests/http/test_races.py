"""Concurrency: the database, not the application, settles a race on userName."""

import threading

from tests.http.test_users_entra import fixture


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
