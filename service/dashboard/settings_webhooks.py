"""Settings > Integrations > Webhooks: endpoints, their delivery log, replay and the test send;
and the API reference page, rendered on the server from the OpenAPI document (no CDN)."""

from datetime import datetime, timedelta

from flask import abort, flash, g, redirect, render_template, request, url_for

from models import utcnow
from service import current, db
from service.api.openapi import build as openapi_document
from service.dashboard.blueprint import bp
from service.dashboard.forms import (
    ConfirmForm,
    DueSoonForm,
    ReplayRangeForm,
    WebhookForm,
    already_sent,
    new_once,
    spend_once,
)
from service.webhooks import endpoints as hooks

LOG_SHOWN = 10


def _page(form=None, new_endpoint=None, new_secret=None, status=200):
    session = db.session()
    endpoints = hooks.endpoints_of(session, g.company.id)
    now = utcnow()
    return render_template(
        "dashboard/settings_webhooks.html",
        endpoints=[(e, hooks.delivery_log(session, e, LOG_SHOWN)) for e in endpoints],
        form=form or WebhookForm(formdata=None),
        confirm=ConfirmForm(),
        replay_form=ReplayRangeForm(
            formdata=None, since=f"{now - timedelta(days=1):%Y-%m-%dT%H:%M}", until=f"{now:%Y-%m-%dT%H:%M}"
        ),
        due_form=DueSoonForm(formdata=None, days=g.company.webhook_due_soon_days),
        event_types=hooks.EVENT_TYPES,
        new_endpoint=new_endpoint,
        new_secret=new_secret,
        form_once=new_once(),
    ), status


def _endpoint(endpoint_id):
    try:
        return hooks.find_endpoint(db.session(), g.company.id, endpoint_id)
    except hooks.NoSuchEndpoint:
        abort(404)


def _back(message):
    db.session().commit()
    flash(message, "success")
    return redirect(url_for("dashboard.settings_webhooks"), code=303)


@bp.get("/settings/integrations/webhooks")
def settings_webhooks():
    """The company's endpoints with their latest deliveries."""
    return _page()


@bp.post("/settings/integrations/webhooks")
def create_webhook():
    """Add an endpoint; its secret is shown once, on the answer to this form.

    The form carries the page's one-time value: a reload that sends it again adds no
    second endpoint and is sent back to the page (post/redirect/get).
    """
    form = WebhookForm()
    if not form.validate():
        return _page(form=form, status=400)
    if not spend_once(form.once.data):
        return already_sent(
            "its endpoint added; its secret was shown once. If you did not copy it, disable that endpoint "
            "and add another.",
            url_for("dashboard.settings_webhooks"),
        )
    try:
        endpoint, secret = hooks.create_endpoint(
            db.session(), g.company.id, form.url.data.strip(), form.events.data, current.settings()
        )
    except hooks.WebhookError as exc:
        form.url.errors = [str(exc)]
        return _page(form=form, status=400)
    db.session().commit()
    return _page(new_endpoint=endpoint, new_secret=secret)


@bp.post("/settings/integrations/webhooks/<int:endpoint_id>/disable")
def disable_webhook(endpoint_id):
    """Stop deliveries to one endpoint."""
    hooks.disable(_endpoint(endpoint_id))
    return _back("Endpoint disabled. What it is owed waits until you enable it.")


@bp.post("/settings/integrations/webhooks/<int:endpoint_id>/enable")
def enable_webhook(endpoint_id):
    """Deliver again, starting with what is owed."""
    hooks.enable(db.session(), _endpoint(endpoint_id))
    return _back("Endpoint enabled.")


@bp.post("/settings/integrations/webhooks/<int:endpoint_id>/test")
def test_webhook(endpoint_id):
    """Queue a webhook.test message."""
    sent = hooks.send_test(db.session(), _endpoint(endpoint_id))
    return _back(f"Test event {sent} queued.")


@bp.post("/settings/integrations/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/replay")
def replay_webhook_delivery(endpoint_id, delivery_id):
    """Send one delivery's message again."""
    try:
        hooks.replay_delivery(db.session(), _endpoint(endpoint_id), delivery_id)
    except hooks.NoSuchEndpoint:
        abort(404)
    return _back("Delivery queued again.")


@bp.post("/settings/integrations/webhooks/<int:endpoint_id>/replay")
def replay_webhook_range(endpoint_id):
    """Send again everything sent to the endpoint in a time range (UTC)."""
    endpoint, form = _endpoint(endpoint_id), ReplayRangeForm()
    try:
        since, until = (datetime.fromisoformat(v) for v in (form.since.data or "", form.until.data or ""))
        count = hooks.replay_range(db.session(), endpoint, since, until)
    except (ValueError, hooks.WebhookError):
        flash("Give the range as two UTC times, the start before the end (2026-12-01T00:00).", "error")
        return redirect(url_for("dashboard.settings_webhooks"), code=303)
    return _back(f"{count} deliveries queued again.")


@bp.post("/settings/integrations/webhooks/due-soon")
def webhook_due_soon():
    """The lead time of assignment.due_soon."""
    form = DueSoonForm()
    if not form.validate():
        flash(f"Give the lead time as 1 to {hooks.DUE_SOON_DAYS_MAX} days.", "error")
        return redirect(url_for("dashboard.settings_webhooks"), code=303)
    hooks.set_due_soon_days(g.company, form.days.data)
    return _back(f"assignment.due_soon is sent {form.days.data} days before a due date.")


@bp.get("/settings/integrations/api-reference")
def api_reference():
    """/api/v1's OpenAPI document, rendered: every operation, its parameters and answers, the webhooks."""
    document = openapi_document(current.settings().public_base_url)
    operations = [
        (path, method.upper(), op) for path, methods in document["paths"].items() for method, op in methods.items()
    ]
    return render_template(
        "dashboard/api_reference.html",
        document=document,
        operations=operations,
        json_url=url_for("api.openapi_json"),
        host=request.host_url,
    )
