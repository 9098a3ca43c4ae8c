"""Rate limits when Redis is down (the test settings point at a dead Redis): they fail open
to per-process counters, never to a 5xx; and the per-company setting from the CLI."""

import pytest


def set_limit(app, company_id, *args):
    result = app.test_cli_runner().invoke(args=["companies", "rate-limit", str(company_id), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_with_redis_down_limits_still_hold_per_process_and_nothing_fails(app, tenant, other_tenant):
    refused_on = []
    app.extensions["herd.on_rate_limited"] = [refused_on.append]  # the metrics hook
    set_limit(app, tenant.id, "--per-minute", "3")
    statuses = [tenant.get("Users").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    refused = tenant.get("Users")
    assert refused.status_code == 429 and refused.get_json()["status"] == "429"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused_on == ["scim"] * 3
    assert [other_tenant.get("Users").status_code for _ in range(5)] == [200] * 5


def test_the_api_answers_429_as_json(app, client, tenant):
    set_limit(app, tenant.id, "--per-second", "0", "--per-minute", "2")
    headers = tenant.headers()
    assert [client.get("/api/v1/learners", headers=headers).status_code for _ in range(2)] == [200, 200]
    resp = client.get("/api/v1/learners", headers=headers)
    assert resp.status_code == 429 and resp.headers["Content-Type"] == "application/json"
    assert "2 per minute" in resp.get_json()["error"] and resp.headers["Retry-After"].isdigit()


def test_zero_means_no_limit(app, tenant):
    set_limit(app, tenant.id, "--per-second", "0", "--per-minute", "0")
    assert {tenant.get("ServiceProviderConfig").status_code for _ in range(250)} == {200}


def test_the_cli_shows_sets_and_resets_a_companys_limit(app, tenant, settings):
    assert "200 per second, 6000 per minute (defaults)" in set_limit(app, tenant.id)
    assert "50 per second, no limit per minute" in set_limit(app, tenant.id, "--per-second", "50", "--per-minute", "0")
    assert "(defaults)" in set_limit(app, tenant.id, "--default")
    missing = app.test_cli_runner().invoke(args=["companies", "rate-limit", "999", "--per-second", "5"])
    assert missing.exit_code != 0 and "no company 999" in missing.output
    negative = app.test_cli_runner().invoke(args=["companies", "rate-limit", str(tenant.id), "--per-second", "-1"])
    assert negative.exit_code != 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer herd_made-up"}, {"Authorization": "Basic abc"}])
def test_callers_without_a_valid_token_are_limited_per_address_not_per_company(app, tenant, headers):
    set_limit(app, tenant.id, "--per-minute", "3")
    for _ in range(10):
        assert tenant.client.get(f"/scim/v2/{tenant.id}/Users", headers=headers).status_code == 401
    # The company's own budget is untouched.
    assert [tenant.get("Users").status_code for _ in range(3)] == [200, 200, 200]


def test_a_stranger_over_its_address_budget_is_told_so_not_about_a_company(app, tenant):
    """The 429 of calls without an accepted token names the address's budget: it said "for this
    company" and pointed at the company's limit, which concerns neither the caller nor the fix."""
    headers = {"Authorization": "Bearer herd_made-up"}
    refused = []
    for _ in range(100):  # 20 a second: a burst straddling a second's end needs more than 21
        answer = tenant.client.get(f"/scim/v2/{tenant.id}/Users", headers=headers)
        if answer.status_code == 429:
            refused.append(answer)
            break
    assert refused
    detail = refused[0].get_json()["detail"]
    assert "from this address" in detail and "20 per second" in detail
    assert "company" not in detail and refused[0].headers["Retry-After"].isdigit()


def test_another_companys_token_on_this_tenant_url_spends_nothing_here(app, tenant, other_tenant):
    set_limit(app, tenant.id, "--per-minute", "2")
    for _ in range(5):
        resp = other_tenant.client.get(f"/scim/v2/{tenant.id}/Users", headers=other_tenant.headers())
        assert resp.status_code == 401
    assert [tenant.get("Users").status_code for _ in range(2)] == [200, 200]


def test_a_known_token_on_another_tenant_url_is_refused_not_charged_to_its_own_company(app, tenant, other_tenant):
    """A token the limiter has seen, sent to another company's URL, is that URL's stranger: a
    401 even when its own company's budget is spent (it was charged there first, a 429)."""
    set_limit(app, other_tenant.id, "--per-minute", "2")
    assert [other_tenant.get("Users").status_code for _ in range(2)] == [200, 200]
    resp = other_tenant.client.get(f"/scim/v2/{tenant.id}/Users", headers=other_tenant.headers())
    assert resp.status_code == 401, resp.get_data(as_text=True)
    assert other_tenant.get("Users").status_code == 429  # its own budget is spent, as before


def test_when_the_limiter_finds_redis_down_the_publish_does_not_wait_again(app, tenant):
    """Both use the same Redis: one timeout per outage, not two per request."""
    from tests.dashboard.helpers import user_body

    published = []
    app.extensions["herd.enqueuer"].celery.send_task = lambda name, args: published.append(name)
    resp = tenant.post("Users", json=user_body("jo@acme.example"))
    assert resp.status_code == 201
    assert app.extensions["herd.company_budget"].redis_down  # counted in memory instead
    # The event stays in the outbox for the relay; no second wait on the dead Redis.
    assert published == []


def test_a_bare_token_spends_its_companys_budget_not_the_anonymous_one(app, tenant):
    # Okta may send `Authorization: <token>` without "Bearer": it is the company's caller,
    # so it gets the company's limit (here none), not the 20/s per-address budget of strangers.
    set_limit(app, tenant.id, "--per-second", "0", "--per-minute", "0")
    bare = {"Authorization": tenant.token}
    statuses = {
        tenant.client.get(f"/scim/v2/{tenant.id}/ServiceProviderConfig", headers=bare).status_code for _ in range(40)
    }
    assert statuses == {200}


def test_a_token_refused_just_after_its_revocation_spends_nothing_of_its_companys_budget(app, sessions, tenant):
    """The limiter remembers an accepted token for a few seconds; a call with it refused
    meanwhile (revoked) is the caller's address's, never the company's."""
    from sqlalchemy import update

    from models import AccessToken, utcnow

    set_limit(app, tenant.id, "--per-second", "0", "--per-minute", "4")
    assert tenant.get("Users").status_code == 200  # accepted: remembered by the limiter
    with sessions() as s:
        s.execute(update(AccessToken).where(AccessToken.company_id == tenant.id).values(revoked_at=utcnow()))
        row, secret = AccessToken.issue(tenant.id, "the new token")
        s.add(row)
        s.commit()
    for _ in range(5):
        assert tenant.get("Users").status_code == 401
    tenant.token = secret
    assert [tenant.get("Users").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_a_flood_of_bogus_tokens_over_its_address_budget_costs_no_query(app, client, tenant, monkeypatch, engine):
    from limits import RateLimitItemPerMinute
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from service.ratelimit import limiter as ratelimit

    monkeypatch.setattr(ratelimit, "_ANONYMOUS_ITEMS", (RateLimitItemPerMinute(3),))
    bogus = {"Authorization": "Bearer herd_made-up"}
    url = f"/scim/v2/{tenant.id}/Users"
    assert [client.get(url, headers=bogus).status_code for _ in range(3)] == [401] * 3
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        statuses = [client.get(url, headers=bogus).status_code for _ in range(20)]
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert statuses == [429] * 20
    assert statements == [], statements[:3]


def test_a_valid_tokens_calls_spend_nothing_of_its_address_budget(app, client, tenant, monkeypatch):
    """Counted per address before the token is read, a call moves to its company once
    accepted: an IdP serving many tenants from one address is not limited as a stranger."""
    from limits import RateLimitItemPerMinute

    from service.ratelimit import limiter as ratelimit

    monkeypatch.setattr(ratelimit, "_ANONYMOUS_ITEMS", (RateLimitItemPerMinute(3),))
    for _ in range(6):
        app.extensions["herd.rate_limit_tokens"].clear()  # every call reads its token again
        assert tenant.get("Users").status_code == 200
    bogus = {"Authorization": "Bearer herd_made-up"}
    statuses = [client.get(f"/scim/v2/{tenant.id}/Users", headers=bogus).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
