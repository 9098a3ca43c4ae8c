"""Who may call the admin API: a company's token, for that company only, answered in JSON."""

from datetime import timedelta

from sqlalchemy import select, update

from models import AccessToken, utcnow

ENDPOINTS = ["learners", "learners/x", "learner_trainings?learner_id=x", "trainings", "audit_events"]


def test_no_token_is_a_401_that_says_how_to_send_one(client):
    for path in ENDPOINTS:
        resp = client.get(f"/api/v1/{path}")
        assert resp.status_code == 401, path
        assert "Authorization: Bearer" in resp.get_json()["error"]


def test_a_wrong_token_is_a_401_in_json(client, tenant):
    resp = client.get("/api/v1/learners", headers={"Authorization": "Bearer herd_nope"})
    assert resp.status_code == 401
    assert resp.is_json
    assert "unknown, revoked or expired" in resp.get_json()["error"]


def test_a_revoked_token_stops_working_on_the_next_request(api, sessions, tenant):
    assert api.get("learners").status_code == 200
    with sessions() as s:
        s.execute(update(AccessToken).values(revoked_at=utcnow()))
        s.commit()
    resp = api.get("learners")
    assert resp.status_code == 401
    assert "revoked" in resp.get_json()["error"]


def test_an_expired_token_is_refused(api, sessions):
    with sessions() as s:
        s.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(minutes=1)))
        s.commit()
    assert api.get("trainings").status_code == 401


def test_a_patch_without_a_token_changes_nothing(client):
    resp = client.patch("/api/v1/learner_trainings/1", json={"progress": 50})
    assert resp.status_code == 401


def test_the_token_records_its_last_use(api, sessions):
    api.get("trainings")
    with sessions() as s:
        assert s.scalar(select(AccessToken.last_used_at)) is not None


def test_unknown_routes_and_methods_answer_json(api):
    resp = api.get("nothing_here")
    assert resp.status_code == 404 and "error" in resp.get_json()
    resp = api.client.delete("/api/v1/learners", headers=api.headers())
    assert resp.status_code == 405 and "error" in resp.get_json()


def test_the_token_and_its_company_are_read_in_one_statement(app, api, other_api, tenant):
    """The API's URLs name no company: the token's own is read with it, in one round trip
    (it was once looked up by a statement of its own first), and each company's token still
    sees only its own company's learners."""
    from tests.api.conftest import post_learner
    from tests.helpers import app_statements

    learner_id = post_learner(tenant)
    with app_statements(app) as statements:
        assert api.get("trainings").status_code == 200  # the token is new to this app: read in full
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT") and "access_tokens" in s]
    assert len(reads) == 1, statements
    assert api.get(f"learners/{learner_id}").status_code == 200
    assert other_api.get(f"learners/{learner_id}").status_code == 404
    assert learner_id not in {item["id"] for item in other_api.get("learners").get_json()["data"]}
