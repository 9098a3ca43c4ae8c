"""Retention: old failed SCIM calls are deleted and old processed outbox payloads emptied;
recent rows, pending events and the audit trail are kept."""

from datetime import timedelta

from sqlalchemy import select

from models import AuditEvent, ProvisioningEvent, ScimFailure, utcnow
from tests.helpers import run_events
from tests.workers.test_process_event import post_learner
from workers.retention import prune

DAYS = 90


def age(sessions, model, column, ids, days):
    with sessions() as s:
        for row in s.scalars(select(model).where(model.id.in_(ids))):
            setattr(row, column, utcnow() - timedelta(days=days))
        s.commit()


def test_prune_keeps_recent_rows_pending_events_and_the_audit_trail(tenant, sessions):
    old_learner = post_learner(tenant, "old@acme.example")
    assert tenant.get("Users/00000000-0000-0000-0000-00000000000a").status_code == 404  # a failure row
    run_events(sessions)
    new_learner = post_learner(tenant, "new@acme.example")  # processed below, recent
    run_events(sessions)
    pending_learner = post_learner(tenant, "pending@acme.example")  # never processed
    assert tenant.get("Users/00000000-0000-0000-0000-00000000000b").status_code == 404

    with sessions() as s:
        events = {e.resource_id: e.id for e in s.scalars(select(ProvisioningEvent))}
        failures = s.scalars(select(ScimFailure.id).order_by(ScimFailure.id)).all()
    assert len(failures) == 2
    age(sessions, ProvisioningEvent, "processed_at", [events[old_learner]], DAYS + 1)
    age(sessions, ProvisioningEvent, "created_at", [events[pending_learner]], DAYS + 1)
    age(sessions, ScimFailure, "occurred_at", [failures[0]], DAYS + 1)
    age(sessions, ScimFailure, "occurred_at", [failures[1]], DAYS - 1)

    with sessions() as s:
        assert prune(s, DAYS, batch=1) == {"scim_failures": 1, "event_payloads": 1, "webhooks": 0}
        # A second run finds nothing more to do.
        assert prune(s, DAYS) == {"scim_failures": 0, "event_payloads": 0, "webhooks": 0}

    with sessions() as s:
        assert s.scalars(select(ScimFailure.id)).all() == [failures[1]]
        changes = {e.resource_id: e.changes for e in s.scalars(select(ProvisioningEvent))}
        assert changes[old_learner] == {}
        assert changes[new_learner] and changes[pending_learner]
        audit = {a.learner_id: a.changes for a in s.scalars(select(AuditEvent))}
        # The audit trail keeps what changed, for the old learner too.
        assert audit[old_learner] and audit[new_learner]


def test_beat_runs_the_retention_task_daily_with_the_configured_days():
    from config import Settings
    from config.celery import PRUNE_RETENTION, celery_config
    from workers.celery_app import app

    settings = Settings.from_env(env={"RETENTION_DAYS": "30"})
    assert settings.retention_days == 30 and Settings.from_env(env={}).retention_days == 90
    entry = celery_config(settings)["beat_schedule"]["prune-retention"]
    assert entry["task"] == PRUNE_RETENTION
    app.loader.import_default_modules()
    assert PRUNE_RETENTION in app.tasks
