"""The front door against slow and hostile clients: the real gunicorn, as the Procfile runs it.

Dozens of connections that dribble their headers or their body byte by byte, or stop
half-way, must not take the web tier from everyone else: normal SCIM requests are
still answered within seconds, and the server closes connections whose headers
never complete (gunicorn.conf.py: gevent workers, a header deadline; service/edge/frontdoor.py:
bodies read in full before the app takes a database connection).
"""

import socket
import threading
import time

import pytest
import requests

from harness.stack import SCIM, learner_body
from tests.conftest import make_tenant

pytestmark = pytest.mark.e2e

SLOW_CONNECTIONS = 48  # more than the database pools hold (20 autocommit + 10 for transactions per process)
# What a normal request may take while the slow connections are held (a loaded 2-core CI box).
ANSWER_WITHIN_SECONDS = 3.0
# gunicorn.conf.py: a request's headers must arrive within `keepalive` (5 s); allow slack.
CLOSED_WITHIN_SECONDS = 20.0


class SlowClients:
    """Slow connections of three kinds, by index modulo 3: headers sent one byte every 0.1 s;
    half a request line and then silence; complete headers of a POST whose body then comes
    one byte every 0.1 s (it would take minutes)."""

    def __init__(self, url, count, tenant):
        host, port = url.removeprefix("http://").split(":")
        self.address = (host, int(port))
        self.count = count
        self.tenant = tenant
        self.socks = []
        self.closed_by_server = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._dribble, name="slow-clients", daemon=True)

    def header_stalled(self):
        """Indexes of the connections whose headers never complete."""
        return [i for i in range(self.count) if i % 3 != 2]

    def start(self):
        for i in range(self.count):
            sock = socket.create_connection(self.address, timeout=5)
            if i % 3 == 1:
                sock.sendall(b"GET /scim/v2/1/Us")
            elif i % 3 == 2:
                sock.sendall(
                    f"POST /scim/v2/{self.tenant.id}/Users HTTP/1.1\r\nHost: herd\r\n"
                    f"Authorization: Bearer {self.tenant.token}\r\nContent-Type: {SCIM}\r\n"
                    "Content-Length: 5000\r\n\r\n{".encode()
                )
            self.socks.append(sock)
        self.started = time.monotonic()
        self._thread.start()
        return self

    def _dribble(self):
        """Every 0.1 s, one more byte on the dribbling connections; note when the server hangs up."""
        sent = 0
        while not self._stop.is_set():
            for i, sock in enumerate(self.socks):
                if i in self.closed_by_server:
                    continue
                try:
                    if i % 3 == 0:
                        sock.sendall(b"G" if sent == 0 else b"E" if sent == 1 else b"T" if sent == 2 else b"x")
                    elif i % 3 == 2:
                        sock.sendall(b" ")
                    else:
                        sock.setblocking(False)
                        if sock.recv(1024) == b"":
                            raise ConnectionResetError
                except BlockingIOError:
                    pass
                except OSError:
                    self.closed_by_server[i] = time.monotonic() - self.started
            sent += 1
            self._stop.wait(0.1)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self.socks:
            sock.close()


def test_slow_clients_do_not_starve_normal_scim_requests(e2e_redis_url, herd_stack, sessions):
    tenant = make_tenant(sessions, None, "Acme", 7)
    herd = herd_stack(e2e_redis_url)
    herd.start_web(workers=2)
    headers = {"Authorization": f"Bearer {tenant.token}"}

    slow = SlowClients(herd.url, SLOW_CONNECTIONS, tenant).start()
    try:
        time.sleep(1.0)  # every slow connection has been accepted and is mid-headers
        latencies = []
        for n in range(10):
            t0 = time.monotonic()
            resp = requests.post(
                f"{herd.url}/scim/v2/{tenant.id}/Users",
                json=learner_body(n),
                headers={**headers, "Content-Type": SCIM},
                timeout=ANSWER_WITHIN_SECONDS,
            )
            assert resp.status_code == 201, resp.text
            resp = requests.get(
                f"{herd.url}/scim/v2/{tenant.id}/Users",
                params={"filter": f'userName eq "learner{n}@acme.example"'},
                headers=headers,
                timeout=ANSWER_WITHIN_SECONDS,
            )
            assert resp.status_code == 200 and resp.json()["totalResults"] == 1, resp.text
            latencies.append(time.monotonic() - t0)
        print(f"POST+filter with {SLOW_CONNECTIONS} slow connections open: max {max(latencies):.2f}s")
        assert not any(i % 3 == 2 for i in slow.closed_by_server), "the slow uploads are held, not dropped"

        # The server, not the client, ends connections whose headers never complete.
        stalled = slow.header_stalled()
        deadline = time.monotonic() + CLOSED_WITHIN_SECONDS
        while not set(stalled) <= set(slow.closed_by_server) and time.monotonic() < deadline:
            time.sleep(0.2)
        still_open = [i for i in stalled if i not in slow.closed_by_server]
        assert not still_open, f"{len(still_open)} stalled connections still open after {CLOSED_WITHIN_SECONDS}s"
    finally:
        slow.stop()


def test_oversized_headers_are_refused_and_the_server_keeps_answering(e2e_redis_url, herd_stack, sessions):
    tenant = make_tenant(sessions, None, "Acme", 7)
    herd = herd_stack(e2e_redis_url)
    herd.start_web(workers=1)
    headers = {"Authorization": f"Bearer {tenant.token}"}

    too_long = requests.get(
        f"{herd.url}/scim/v2/{tenant.id}/Users", headers={**headers, "X-Pad": "a" * 20000}, timeout=5
    )
    assert 400 <= too_long.status_code < 500
    too_many = requests.get(
        f"{herd.url}/scim/v2/{tenant.id}/Users",
        headers={**headers, **{f"X-H{i}": "1" for i in range(200)}},
        timeout=5,
    )
    assert 400 <= too_many.status_code < 500

    big_body = requests.post(
        f"{herd.url}/scim/v2/{tenant.id}/Users",
        data=b'{"userName": "' + b"a" * (2 * 1024 * 1024) + b'"}',
        headers={**headers, "Content-Type": SCIM},
        timeout=10,
    )
    assert big_body.status_code == 413
    assert big_body.headers["Content-Type"].startswith(SCIM)
    assert big_body.json()["status"] == "413"

    ok = requests.get(f"{herd.url}/scim/v2/{tenant.id}/Users", headers=headers, timeout=5)
    assert ok.status_code == 200
