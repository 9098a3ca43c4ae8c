"""A TCP proxy on a loopback port that a drill can cut and restore: the database "goes away"
for the processes behind it while the real server (shared with others) runs on.

``cut()`` resets every open connection and closes the port: clients get "server closed the
connection unexpectedly" on a pooled connection and "connection refused" on a new one, as
when PostgreSQL stops. ``restore()`` listens on the same port again. Threads only, each
loop bounded by short timeouts; nothing raises out of a thread.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading

from harness.stack import free_port

POLL_SECONDS = 0.2


class TcpProxy:
    """127.0.0.1:``port`` -> ``target_host``:``target_port``."""

    def __init__(self, target_host, target_port, port=None):
        self.target = (target_host, int(target_port))
        self.port = port or free_port()
        self._listener = None
        self._accepting = None
        self._lock = threading.Lock()
        self._pairs = set()  # (client, server) sockets being relayed
        self._threads = []
        self.connections = 0  # accepted so far (a drill can check traffic went through it)

    def start(self):
        """Listen (again) on ``port``; returns self."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(256)
        listener.settimeout(POLL_SECONDS)
        self._listener = listener
        self._accepting = threading.Event()
        self._accepting.set()
        self._spawn(self._accept_loop, listener, self._accepting)
        return self

    restore = start

    def cut(self):
        """Close the port and reset every relayed connection at once."""
        if self._accepting is not None:
            self._accepting.clear()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            pairs, self._pairs = list(self._pairs), set()
        for pair in pairs:
            for sock in pair:
                _reset(sock)

    def stop(self):
        """Cut, and wait for every thread to end."""
        self.cut()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True, name="tcp-proxy")
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _accept_loop(self, listener, accepting):
        while accepting.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by cut()
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                if not accepting.is_set():
                    _reset(client)
                    _reset(server)
                    return
                self._pairs.add((client, server))
                self.connections += 1
            self._spawn(self._relay, client, server)

    def _relay(self, client, server):
        peers = {client: server, server: client}
        try:
            while True:
                readable, _, _ = select.select(list(peers), [], [], POLL_SECONDS)
                with self._lock:
                    if (client, server) not in self._pairs:
                        return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):  # reset by cut(), or closed by the other side
            return
        finally:
            with self._lock:
                self._pairs.discard((client, server))
            for sock in (client, server):
                with contextlib.suppress(OSError):
                    sock.close()


def _reset(sock):
    """Close with RST (SO_LINGER 0), as a vanished server does; never raises."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
