"""Two writes to one learner at once: neither overwrites what the other wrote.

A write reads the learner, then writes it guarded by the version it read. Here a
request (A) is held between its read and its write while another request (B) writes
the same learner; A must then be made on B's result, or refused when it said which
version it meant (If-Match), or be a 404 when B deleted the learner.
"""

import threading

import pytest

from service.scim.users import rows
from tests.idps.test_entra_users import fixture

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _ops(*ops):
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def _replace(path, value):
    return {"op": "replace", "path": path, "value": value}


@pytest.fixture()
def learner(tenant):
    resp = tenant.post("Users", json=fixture("create_user.json"))
    assert resp.status_code == 201
    return resp.get_json()


def _race(monkeypatch, run_a, run_b):
    """Run ``run_a`` in a thread (request A) and ``run_b`` here (request B), interleaved: B
    starts once A has read the learner, and A writes only once B has answered.
    Returns (A's response, B's response)."""
    a_read, b_answered = threading.Event(), threading.Event()
    real_of, real_write = rows.Draft.of, rows.write

    def noted_read(record):
        if threading.current_thread().name == "A":
            a_read.set()
        return real_of(record)

    def held_write(session, record, draft, event):
        if threading.current_thread().name == "A" and not b_answered.is_set():
            assert b_answered.wait(30), "request B never answered"
        return real_write(session, record, draft, event)

    monkeypatch.setattr(rows.Draft, "of", staticmethod(noted_read))
    monkeypatch.setattr(rows, "write", held_write)
    answers = {}
    thread = threading.Thread(target=lambda: answers.setdefault("a", run_a()), name="A")
    thread.start()
    try:
        assert a_read.wait(30), "request A never read the learner"
        answers["b"] = run_b()
    finally:
        b_answered.set()
        thread.join(60)
    return answers["a"], answers["b"]


def test_a_patch_that_lost_a_race_is_applied_to_the_winners_result(tenant, learner, monkeypatch):
    url = f"Users/{learner['id']}"
    a, b = _race(
        monkeypatch,
        lambda: tenant.patch(url, json=_ops(_replace("name.familyName", "Late"))),
        lambda: tenant.patch(url, json=_ops(_replace("title", "Head of Winning"))),
    )
    assert (a.status_code, b.status_code) == (200, 200)
    got = tenant.get(url).get_json()
    # Both changes are there: A was made again on B's result, not over the learner A read.
    assert got["title"] == "Head of Winning"
    assert got["name"]["familyName"] == "Late"
    assert got["meta"]["version"] == 'W/"3"'
    assert a.get_json() == got


def test_an_if_match_naming_the_version_read_is_412_when_another_write_won(tenant, learner, monkeypatch):
    url = f"Users/{learner['id']}"
    a, b = _race(
        monkeypatch,
        lambda: tenant.patch(url, json=_ops(_replace("name.familyName", "Late")), headers={"If-Match": 'W/"1"'}),
        lambda: tenant.patch(url, json=_ops(_replace("title", "Head of Winning"))),
    )
    assert (a.status_code, b.status_code) == (412, 200)
    assert a.get_json()["scimType"] == "invalidVers"
    got = tenant.get(url).get_json()
    assert got["name"]["familyName"] == learner["name"]["familyName"]
    assert (got["title"], got["meta"]["version"]) == ("Head of Winning", 'W/"2"')


def test_a_put_racing_a_delete_is_a_404_and_the_learner_stays_deleted(tenant, learner, monkeypatch):
    url = f"Users/{learner['id']}"
    body = {**fixture("create_user.json"), "displayName": "Put Late"}
    a, b = _race(monkeypatch, lambda: tenant.put(url, json=body), lambda: tenant.delete(url))
    assert (a.status_code, b.status_code) == (404, 204)
    assert tenant.get(url).status_code == 404
    found = tenant.get("Users", query_string={"filter": f'userName eq "{learner["userName"]}"'}).get_json()
    assert found["totalResults"] == 0


def test_ten_concurrent_patches_of_one_learner_all_land(tenant, learner, app):
    url = f"{tenant.base}/Users/{learner['id']}"
    barrier = threading.Barrier(10)
    statuses = []

    def worker(n):
        client = app.test_client()
        barrier.wait()
        op = {"op": "add", "path": "emails", "value": [{"type": "other", "value": f"alias{n}@acme.example"}]}
        resp = client.patch(url, json=_ops(op), headers=tenant.headers())
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert statuses == [200] * 10
    got = tenant.get(f"Users/{learner['id']}").get_json()
    aliases = {e["value"] for e in got["emails"] if e.get("type") == "other"}
    assert aliases == {f"alias{n}@acme.example" for n in range(10)}
    assert got["meta"]["version"] == 'W/"11"'


def test_a_write_that_keeps_losing_is_a_409_and_changes_nothing(tenant, learner, monkeypatch):
    # The store re-reads under a lock, so a second loss cannot happen in practice; if the
    # database ever said so anyway, the IdP gets an answer it retries, not a loop or a 500.
    monkeypatch.setattr(rows, "write", lambda *_args: False)
    url = f"Users/{learner['id']}"
    resp = tenant.patch(url, json=_ops(_replace("title", "Never")))
    assert resp.status_code == 409
    assert "Send it again" in resp.get_json()["detail"]
    got = tenant.get(url).get_json()
    assert "title" not in got
    assert got["meta"]["version"] == 'W/"1"'
