"""A real receiving HTTP server for the webhook tests: http.server in a thread on 127.0.0.1."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Records every POST (headers and body); answers ``status`` (a callable may change it per call).

    ``hang``: an Event the handler waits on before answering (a receiver that hangs);
    ``redirect_to``: answer 307 to that URL instead.
    """

    def __init__(self, status=200, redirect_to=None):
        self.requests = []
        self.status = status
        self.redirect_to = redirect_to
        self.hang = None
        self.arrived = 0  # requests that reached the handler (a hanging one included)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                with receiver._lock:
                    receiver.arrived += 1
                if receiver.hang is not None and not receiver.hang.is_set():
                    receiver.hang.wait(30)
                with receiver._lock:
                    receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                status = receiver.status() if callable(receiver.status) else receiver.status
                if receiver.redirect_to:
                    self.send_response(307)
                    self.send_header("Location", receiver.redirect_to)
                else:
                    self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def events(self):
        """The bodies received, decoded."""
        with self._lock:
            return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        if self.hang is not None:
            self.hang.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
