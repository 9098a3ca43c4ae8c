"""Outbound HTTP for webhooks, safe against SSRF: the address is checked when the socket connects.

A receiver's URL names a host; the host is resolved when the connection is made, every
address it resolves to is checked, and the socket connects to the checked address
itself, so a name that resolves to a public address at creation and 127.0.0.1 at
delivery (DNS rebinding) is refused. Private, loopback, link-local and other non-global
addresses are refused unless the operator allows them (``WEBHOOKS_ALLOW_PRIVATE=1``, for
development and tests). Redirects are never followed; a response body is read only up
to a short excerpt.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.util import connection

from models.webhook import EXCERPT_CHARS, url_problem

# Seconds: to connect, and for the whole request (a hanging receiver costs this, no more).
CONNECT_TIMEOUT = 3
TOTAL_TIMEOUT = 10
# Bodies up to this many bytes are read through (and dropped) to keep the connection open.
KEEP_ALIVE_BODY = 64 * 1024


class Refused(Exception):
    """The destination is not allowed (its address, scheme or form); the message says why."""


def address_allowed(ip, allow_private=False):
    """True when ``ip`` (an ipaddress address) may be connected to."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_private:
        return not (ip.is_multicast or ip.is_unspecified or ip.is_reserved)
    return ip.is_global and not ip.is_multicast


def checked_addresses(host, port, allow_private=False):
    """``host`` resolved, every address checked: the (family, sockaddr) pairs to try, or Refused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise Refused(f"{host} does not resolve") from None
    # One refused address refuses them all: a name must not mix public and private answers.
    for *_, sockaddr in infos:
        if not address_allowed(ipaddress.ip_address(sockaddr[0].split("%")[0]), allow_private):
            raise Refused(f"refused: {host} resolves to a private or reserved address")
    return [(family, sockaddr) for family, _type, _proto, _name, sockaddr in infos]


class _Guarded:
    """Mixed into urllib3's connections: ``_new_conn`` connects only to checked addresses."""

    allow_private = False

    def _new_conn(self):
        error = None
        for _family, sockaddr in checked_addresses(self._dns_host, self.port, self.allow_private):
            try:
                # The checked address itself, not the name: nothing is resolved again.
                return connection.create_connection(
                    (sockaddr[0], self.port), self.timeout, socket_options=self.socket_options
                )
            except OSError as exc:
                error = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}")


def _manager(allow_private):
    http = type("GuardedHTTP", (_Guarded, HTTPConnection), {"allow_private": allow_private})
    https = type("GuardedHTTPS", (_Guarded, HTTPSConnection), {"allow_private": allow_private})
    manager = PoolManager(num_pools=64, maxsize=4, retries=False, timeout=Timeout(connect=CONNECT_TIMEOUT))
    manager.pool_classes_by_scheme = {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }
    return manager


_MANAGERS = {False: _manager(False), True: _manager(True)}


def check_url(url, https_only):
    """Refused unless ``url`` may be a receiver's (``models.webhook.url_problem``)."""
    problem = url_problem(url, https_only)
    if problem is not None:
        raise Refused(problem)


@dataclass(frozen=True)
class Outcome:
    """What one attempt gave: a 2xx is ``ok``; ``error`` says why not, in a few words."""

    ok: bool
    status: int | None
    latency_ms: int
    excerpt: str | None = None
    error: str | None = None


def post(url, body, headers, allow_private=False, https_only=True):
    """POST ``body`` to ``url`` once (no redirects, no retries, bounded time); its Outcome."""
    started = time.monotonic()

    def took():
        return int((time.monotonic() - started) * 1000)

    try:
        check_url(url, https_only)
        response = _MANAGERS[bool(allow_private)].request(
            "POST",
            url,
            body=body,
            headers=headers,
            redirect=False,
            preload_content=False,
            timeout=Timeout(connect=CONNECT_TIMEOUT, total=TOTAL_TIMEOUT),
        )
    except Refused as exc:
        return Outcome(False, None, took(), error=str(exc))
    except HTTPError as exc:
        return Outcome(False, None, took(), error=_short(exc))
    try:
        excerpt = response.read(EXCERPT_CHARS, decode_content=False).decode("utf-8", "replace")
        _done_with(response)
    except HTTPError as exc:
        excerpt = f"({_short(exc)})"
        response.close()
    status = response.status
    error = None if 200 <= status < 300 else ("redirect not followed" if 300 <= status < 400 else f"HTTP {status}")
    return Outcome(error is None, status, took(), excerpt[:EXCERPT_CHARS], error)


def _done_with(response):
    # A short body is read to its end so the connection serves the next delivery; a long or
    # unsized one is never read further: the connection is closed instead.
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) <= KEEP_ALIVE_BODY:
        response.drain_conn()
        response.release_conn()
    else:
        response.close()


def _short(exc):
    name = type(exc).__name__
    return {"ConnectTimeoutError": "timeout", "ReadTimeoutError": "timeout"}.get(name, f"connection failed ({name})")
