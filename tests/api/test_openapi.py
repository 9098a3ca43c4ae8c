"""/api/v1's OpenAPI 3.1 document, and Schemathesis against /api/v1 from it: no 5xx, and no answer
the document does not describe (status, content type, body)."""

import dataclasses

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from models.webhook import EVENT_TYPES, TEST_EVENT
from tests.api.conftest import post_learner, run_events

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Per operation: about twenty operations, so the whole run stays well under a minute.
EXAMPLES = 25


@pytest.fixture()
def settings(settings):
    # The fuzzer calls faster than a company's budget allows: 429s would hide the rest.
    return dataclasses.replace(settings, rate_limit_per_second=0, rate_limit_per_minute=0)


def test_the_document_covers_every_route_and_the_webhooks(client, app):
    resp = client.get("/api/v1/openapi.json")  # no token: it describes the API, not a company
    assert resp.status_code == 200
    document = resp.get_json()
    assert document["openapi"] == "3.1.0"
    routes = {
        (rule.rule.removeprefix("/api/v1").replace("<int:", "{").replace("<", "{").replace(">", "}"), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi_json"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert routes == documented
    assert set(document["webhooks"]) == {*EVENT_TYPES, TEST_EVENT}
    body = document["paths"]["/learner_trainings/{assignment_id}"]["patch"]["requestBody"]
    progress = document["components"]["schemas"]["ProgressBody"]["properties"]["progress"]
    assert body and progress["maximum"] == 100


def test_schemathesis_finds_nothing_on_api_v1(app, client, tenant, sessions):
    post_learner(tenant)
    run_events(sessions)
    headers = {"Authorization": f"Bearer {tenant.token}"}
    client.post("/api/v1/webhooks", json={"url": "https://hr.example.com/hook"}, headers=headers)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def fuzz(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        try:
            fuzz()
        except Exception as exc:  # every operation is tried; all failures are reported together
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert failures == []
