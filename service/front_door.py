"""Request bodies are read in full before the app sees the request.

Under gevent workers (gunicorn.conf.py) a client that sends its body slowly holds
only its own connection's greenlet while this middleware reads; the app, and with it
a database connection (authentication checks one out first), is taken only once the
whole body is here. Without it, a few dozen slow uploads would hold every pooled
connection and stall the requests behind them. Bodies above the limit are left
unread for Flask, which refuses them with 413 from the Content-Length alone.
"""

import io

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BufferedBody:
    """WSGI middleware: replace ``wsgi.input`` by the whole body (Content-Length up to ``limit``)."""

    def __init__(self, app, limit):
        self.app = app
        self.limit = limit

    def __call__(self, environ, start_response):
        length = environ.get("CONTENT_LENGTH") or ""
        if environ.get("REQUEST_METHOD") in BODY_METHODS and length.isdigit() and 0 < int(length) <= self.limit:
            body = environ["wsgi.input"].read(int(length))
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)
