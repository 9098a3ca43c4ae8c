"""Outbound safety: without WEBHOOKS_ALLOW_PRIVATE, nothing reaches loopback, private or link-local
addresses, whether named directly, through a name that resolves there, or by a redirect."""

import ipaddress
import socket

import pytest
from sqlalchemy import select

from models import WebhookDelivery
from models.webhook import url_problem
from tests.api.conftest import post_learner, run_events
from tests.webhooks.conftest import add_endpoint, deliver
from tests.webhooks.receiver import Receiver
from workers import webhook_transport
from workers.webhook_transport import address_allowed, post

HEADERS = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://localhost/hook",
    ],
)
def test_private_destinations_are_refused_before_connecting(url):
    outcome = post(url, b"{}", HEADERS, https_only=False)
    assert not outcome.ok and outcome.status is None
    assert outcome.error.startswith("refused")


def test_a_name_that_resolves_to_loopback_is_refused_at_connect_time(monkeypatch):
    receiver = Receiver()
    real = socket.getaddrinfo

    def rebinding(host, *args, **kw):
        # A public answer would have passed; at connect time the name points at 127.0.0.1.
        if host == "hooks.rebind.example":
            return real("127.0.0.1", *args, **kw)
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    try:
        port = receiver.server.server_port
        assert url_problem(f"http://hooks.rebind.example:{port}/hook", https_only=False) is None
        outcome = post(f"http://hooks.rebind.example:{port}/hook", b"{}", HEADERS, https_only=False)
        assert outcome.error.startswith("refused") and receiver.requests == []
        # The same name is reached once the operator allows private addresses: the check was the guard.
        assert post(f"http://hooks.rebind.example:{port}/hook", b"{}", HEADERS, True, https_only=False).ok
    finally:
        receiver.close()


def test_a_redirect_to_a_private_address_is_not_followed():
    target, redirecting = Receiver(), Receiver()
    redirecting.redirect_to = target.url
    try:
        outcome = post(redirecting.url, b"{}", HEADERS, allow_private=True, https_only=False)
        assert not outcome.ok and outcome.status == 307 and outcome.error == "redirect not followed"
        assert len(redirecting.requests) == 1 and target.requests == []
    finally:
        target.close()
        redirecting.close()


def test_a_loopback_endpoint_gets_nothing_and_its_log_says_why(tenant, sessions, settings, receiver):
    endpoint_id, _ = add_endpoint(sessions, settings, tenant.id, receiver.url)
    post_learner(tenant)
    run_events(sessions)
    assert deliver(sessions, settings, endpoint_id, allow_private=False) == 0
    assert receiver.requests == []
    with sessions() as s:
        first = s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).first()
    assert first.status == "pending" and "private" in first.last_error


def test_only_https_in_production():
    assert url_problem("http://hr.example.com/hook", https_only=True) == "Only https:// URLs are allowed."
    assert url_problem("https://hr.example.com/hook", https_only=True) is None
    assert (
        post("http://hr.example.com/hook", b"{}", HEADERS, https_only=True).error == "Only https:// URLs are allowed."
    )
    assert url_problem("https://user:pw@hr.example.com/", https_only=True)
    assert url_problem("ftp://hr.example.com/", https_only=False)


def test_the_address_rule():
    for text in ("8.8.8.8", "2606:4700::1111"):
        assert address_allowed(ipaddress.ip_address(text))
    for text in (
        "127.0.0.1",
        "10.0.0.1",
        "100.64.0.1",
        "169.254.1.1",
        "::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "224.0.0.1",
    ):
        assert not address_allowed(ipaddress.ip_address(text))
    assert address_allowed(ipaddress.ip_address("127.0.0.1"), allow_private=True)
    assert not address_allowed(ipaddress.ip_address("224.0.0.1"), allow_private=True)
    assert webhook_transport.TOTAL_TIMEOUT <= 30
