"""What sits in front of the blueprints: the proxy headers we trust, whole request bodies, and ``/``.

Behind a reverse proxy (nginx, a load balancer, a tunnel) the client's address,
scheme and host arrive in ``X-Forwarded-*`` headers. Any client can send those,
so they are honoured only when ``TRUSTED_PROXIES`` says how many proxies sit in
front of gunicorn (werkzeug's ProxyFix takes that many hops from the right).

Request bodies are read in full before the app sees the request. Under gevent
workers (gunicorn.conf.py) a client that sends its body slowly holds only its own
connection's greenlet while the middleware reads; the app, and with it a database
connection (authentication checks one out first), is taken only once the whole body
is here. Without it, a few dozen slow uploads would hold every pooled connection and
stall the requests behind them. Bodies above the limit are left unread for Flask,
which refuses them with 413 from the Content-Length alone. ``POST /Bulk`` alone has a
larger limit, its advertised ``maxPayloadSize`` (``service.edge.input_limits``).
"""

import io
import re

from flask import redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from service.edge import input_limits

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
BULK_PATH = re.compile(r"^/scim/v2/\d+/Bulk$")


class BufferedBody:
    """WSGI middleware: replace ``wsgi.input`` by the whole body (Content-Length up to ``limit``,
    or ``bulk_limit`` on a tenant's ``/Bulk``)."""

    def __init__(self, app, limit, bulk_limit=None):
        self.app = app
        self.limit = limit
        self.bulk_limit = limit if bulk_limit is None else bulk_limit

    def __call__(self, environ, start_response):
        length = environ.get("CONTENT_LENGTH") or ""
        limit = self.bulk_limit if BULK_PATH.match(environ.get("PATH_INFO") or "") else self.limit
        if environ.get("REQUEST_METHOD") in BODY_METHODS and length.isdigit() and 0 < int(length) <= limit:
            body = environ["wsgi.input"].read(int(length))
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)


BEARER_PREFIXES = ("/scim/", "/api/")
# Files and progress polls that a page fetches alongside itself, or after it: they never
# renew the session cookie (see ``DashboardSessions``).
STATIC_PREFIX = "/dashboard/static/"
QUIET_ENDPOINTS = frozenset({"dashboard.job_status"})


class DashboardSessions(SecureCookieSessionInterface):
    """The signed session cookie, for the dashboard only.

    SCIM and ``/api/v1`` callers authenticate with a bearer token on every call: they get
    Flask's null session (empty, never saved, never sent as a cookie), which spares every
    IdP call the cookie signer's set-up. So do the dashboard's static files, which need no admin.

    Only a page renews the cookie (the sliding 12 hours), never a static file or a progress
    poll. Each answer carries the cookie as its request found it, and the browser keeps the
    last one it receives: a stylesheet's revalidation still in flight when the admin reloads
    a form would put back the cookie from before the form's answer, and with it lose the
    flashed note (CI saw "That form was already sent" go missing that way).
    """

    def open_session(self, app, request):
        if request.path.startswith(BEARER_PREFIXES) or request.path.startswith(STATIC_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def should_set_cookie(self, app, session):
        if request.endpoint in QUIET_ENDPOINTS and not session.modified:
            return False
        return super().should_set_cookie(app, session)


def init_app(app, settings):
    """Trust ``settings.trusted_proxies`` hops of X-Forwarded-*; buffer whole bodies; serve ``/``;
    cookie sessions for the dashboard only."""
    app.session_interface = DashboardSessions()
    # Whole bodies before the app (and its database connection) is taken: slow uploads stay cheap.
    bulk_limit = max(settings.max_body_bytes, input_limits.MAX_BULK_PAYLOAD_BYTES)
    app.wsgi_app = BufferedBody(app.wsgi_app, settings.max_body_bytes, bulk_limit)
    if settings.trusted_proxies > 0:
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    @app.get("/")
    def root():
        """A browser that opens the bare address lands on the dashboard (its sign-in page)."""
        # Relative: the browser resolves it against the address it used, whatever the proxies.
        return redirect(url_for("dashboard.home"))
