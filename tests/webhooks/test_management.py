"""Endpoints managed through /api/v1, the CLI and the dashboard: the secret shown once, the
delivery log, replay, the test send, and nothing of another company's."""

from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from models import WebhookMessage
from tests.api.conftest import post_learner, run_events
from tests.webhooks.conftest import deliver


def post(client, token, path, json=None):
    return client.post(f"/api/v1/{path}", json=json, headers={"Authorization": f"Bearer {token}"})


def test_the_api_creates_lists_logs_replays_and_test_sends(client, tenant, api, sessions, settings, receiver):
    made = post(client, tenant.token, "webhooks", {"url": receiver.url, "events": ["learner.created"]})
    assert made.status_code == 201
    secret, endpoint_id = made.get_json()["secret"], made.get_json()["id"]
    assert secret.startswith("whsec_")
    listed = api.get("webhooks").get_json()["data"]
    assert listed[0]["events"] == ["learner.created"] and "secret" not in listed[0]
    post_learner(tenant)
    run_events(sessions)
    assert post(client, tenant.token, f"webhooks/{endpoint_id}/test").status_code == 202
    deliver(sessions, settings, endpoint_id)
    log = api.get(f"webhooks/{endpoint_id}/deliveries").get_json()["data"]
    assert [(d["event"], d["status"], d["response_code"]) for d in log] == [
        ("webhook.test", "delivered", 200),
        ("learner.created", "delivered", 200),
    ]
    assert all(d["latency_ms"] is not None for d in log)
    replay = post(client, tenant.token, f"webhooks/{endpoint_id}/deliveries/{log[1]['id']}/replay")
    assert replay.status_code == 202
    ranged = post(client, tenant.token, f"webhooks/{endpoint_id}/replay", {"since": "2000-01-01T00:00:00"})
    assert ranged.get_json() == {"replayed": 2}
    deliver(sessions, settings, endpoint_id)
    ids = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert ids == [
        log[1]["webhook_id"],
        log[0]["webhook_id"],
        log[1]["webhook_id"],
        log[1]["webhook_id"],
        log[0]["webhook_id"],
    ]
    for request in receiver.requests:
        Webhook(secret).verify(request["body"], request["headers"])


def test_disable_stops_deliveries_and_enable_resumes_them(client, tenant, api, sessions, settings, receiver):
    endpoint_id = post(client, tenant.token, "webhooks", {"url": receiver.url}).get_json()["id"]
    assert post(client, tenant.token, f"webhooks/{endpoint_id}/disable").get_json()["enabled"] is False
    post_learner(tenant)
    run_events(sessions)
    with sessions() as s:  # a disabled endpoint is not subscribed to anything
        assert s.scalars(select(WebhookMessage)).all() == []
    assert post(client, tenant.token, f"webhooks/{endpoint_id}/enable").get_json()["enabled"] is True
    assert post(client, tenant.token, f"webhooks/{endpoint_id}/test").status_code == 202
    assert deliver(sessions, settings, endpoint_id) == 1


def test_bad_input_and_other_companies(client, tenant, other_tenant, api):
    assert post(client, tenant.token, "webhooks", {"url": "gopher://x"}).status_code == 400
    assert post(client, tenant.token, "webhooks", {"url": "https://x.example", "events": ["nope"]}).status_code == 400
    assert post(client, tenant.token, "webhooks", [1]).status_code == 400
    theirs = post(client, other_tenant.token, "webhooks", {"url": "https://globex.example/hook"}).get_json()["id"]
    assert api.get(f"webhooks/{theirs}").status_code == 404
    assert post(client, tenant.token, f"webhooks/{theirs}/test").status_code == 404
    assert api.get("webhooks/99999999999999").status_code == 404
    due = client.put("/api/v1/webhooks/due_soon", json={"days": 3}, headers={"Authorization": f"Bearer {tenant.token}"})
    assert due.get_json() == {"days": 3}


def test_the_cli_prints_the_secret_last_then_lists_and_disables(app, tenant):
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=[
            "webhooks",
            "create",
            str(tenant.id),
            "https://hr.example.com/herd",
            "--events",
            "learner.created,assignment.overdue",
        ]
    )
    assert made.exit_code == 0, made.output
    last = made.output.strip().splitlines()[-1]
    assert last.startswith("secret: whsec_")
    listed = runner.invoke(args=["webhooks", "list", str(tenant.id)]).output
    assert "https://hr.example.com/herd" in listed and "learner.created, assignment.overdue" in listed
    assert last.removeprefix("secret: ") not in listed
    endpoint_id = listed.split()[0]
    assert runner.invoke(args=["webhooks", "disable", str(tenant.id), endpoint_id]).exit_code == 0
    assert "disabled (Disabled by an operator.)" in runner.invoke(args=["webhooks", "list", str(tenant.id)]).output
    bad = runner.invoke(args=["webhooks", "create", str(tenant.id), "https://x.example", "--events", "nope"])
    assert bad.exit_code != 0 and "Unknown event type" in bad.output


def test_delivered_webhooks_go_after_the_retention_period_and_owed_ones_stay(
    client, tenant, sessions, settings, receiver
):
    from datetime import timedelta

    from models import WebhookDelivery, utcnow
    from workers.retention import prune

    endpoint_id = post(client, tenant.token, "webhooks", {"url": receiver.url}).get_json()["id"]
    post(client, tenant.token, f"webhooks/{endpoint_id}/test")
    deliver(sessions, settings, endpoint_id)
    post(client, tenant.token, f"webhooks/{endpoint_id}/test")  # still owed
    with sessions() as s:
        assert prune(s, 90, now=utcnow() + timedelta(days=91))["webhooks"] == 1
        assert [d.status for d in s.scalars(select(WebhookDelivery))] == ["pending"]
        assert len(s.scalars(select(WebhookMessage)).all()) == 1
