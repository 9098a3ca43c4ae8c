"""Settings > Integrations > Webhooks: add an endpoint (secret shown once), see its deliveries, replay,
test-send, disable; and the API reference rendered from the OpenAPI document."""

import re

from models import WebhookEndpoint, WebhookMessage
from tests.dashboard.conftest import CSRF, ONCE

PAGE = "/dashboard/settings/integrations/webhooks"


def test_add_an_endpoint_then_test_send_and_disable_it(dash, sessions, tenant):
    page = dash.post(PAGE, {"url": "https://hr.example.com/herd", "events": "learner.created"}, page=PAGE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    secret = re.search(r'value="(whsec_[^"]+)"', html).group(1)
    assert "will not be shown again" in html
    assert secret not in dash.get(PAGE).get_data(as_text=True)
    with sessions() as s:
        endpoint = s.query(WebhookEndpoint).one()
        assert endpoint.company_id == tenant.id and endpoint.event_types == ["learner.created"]
    sent = dash.post(f"{PAGE}/{endpoint.id}/test", page=PAGE)
    assert sent.status_code == 303
    with sessions() as s:
        assert [m.event_type for m in s.query(WebhookMessage)] == ["webhook.test"]
    listed = dash.get(PAGE).get_data(as_text=True)
    assert "webhook.test" in listed and "pending" in listed
    dash.post(f"{PAGE}/{endpoint.id}/disable", page=PAGE)
    assert "Disabled by an admin." in dash.get(PAGE).get_data(as_text=True)


def test_a_reloaded_endpoint_form_adds_one_endpoint(dash, sessions, tenant):
    text = dash.client.get(PAGE).get_data(as_text=True)
    form = {"url": "https://hr.example.com/herd", "events": "", "csrf_token": CSRF.search(text).group(1)}
    form["once"] = ONCE.search(text).group(1)
    first = dash.client.post(PAGE, data=form)
    assert first.status_code == 200 and "will not be shown again" in first.get_data(as_text=True)
    # The browser's reload sends the same form again: no second endpoint, back to the page.
    again = dash.client.post(PAGE, data=form)
    assert again.status_code == 303 and again.headers["Location"].endswith(PAGE)
    assert "That form was already sent" in dash.get(PAGE).get_data(as_text=True)
    with sessions() as s:
        assert s.query(WebhookEndpoint).count() == 1


def test_a_bad_url_is_explained_and_another_company_sees_nothing(dash, sessions, other_tenant, settings):
    bad = dash.post(PAGE, {"url": "ftp://x.example"}, page=PAGE)
    assert bad.status_code == 400 and "Only http:// and https:// URLs" in bad.get_data(as_text=True)
    from service.webhooks.endpoints import create_endpoint

    with sessions() as s:
        theirs, _ = create_endpoint(s, other_tenant.id, "https://globex.example/hook", "", settings)
        s.commit()
    assert "globex.example" not in dash.get(PAGE).get_data(as_text=True)
    assert dash.post(f"{PAGE}/{theirs.id}/test", page=PAGE).status_code == 404


def test_the_api_reference_is_rendered_and_linked(dash):
    assert "/dashboard/settings/integrations/api-reference" in dash.get(
        "/dashboard/settings/integrations/api"
    ).get_data(as_text=True)
    html = dash.get("/dashboard/settings/integrations/api-reference").get_data(as_text=True)
    assert "PATCH /api/v1/learner_trainings/{assignment_id}" in html
    assert "assignment.due_soon" in html and "/api/v1/openapi.json" in html
