"""Fixtures of the webhook tests: receivers, endpoints, and the worker's delivery run in-process."""

import dataclasses

import pytest

from models import WebhookEndpoint
from tests.api.conftest import Api
from tests.webhooks.receiver import Receiver


@pytest.fixture()
def settings(settings):
    # The receivers listen on 127.0.0.1: allowed here, as WEBHOOKS_ALLOW_PRIVATE=1 allows it.
    return dataclasses.replace(settings, webhooks_allow_private=True)


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture()
def api(client, tenant):
    return Api(client, tenant.token)


def add_endpoint(sessions, settings, company_id, url, events=""):
    """An endpoint as ``./herd webhooks create`` makes it: ``(endpoint id, secret)``."""
    from service.webhooks.endpoints import create_endpoint

    with sessions() as s:
        endpoint, secret = create_endpoint(s, company_id, url, events, settings)
        s.commit()
        return endpoint.id, secret


def deliver(sessions, settings, endpoint_id, allow_private=None):
    """The ``webhooks`` worker's run for one endpoint, in-process (``workers.webhooks.drain``)."""
    from workers.webhooks import drain

    allowed = settings.webhooks_allow_private if allow_private is None else allow_private
    return drain(sessions, endpoint_id, settings.webhook_key, allow_private=allowed, https_only=False)


def endpoint_row(sessions, endpoint_id):
    with sessions() as s:
        return s.get(WebhookEndpoint, endpoint_id)
