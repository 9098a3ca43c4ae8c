"""The one place errors become responses, per surface.

- ``/scim/``: a SCIM Error body (``application/scim+json``, RFC 7644 §3.12);
- ``/api/``: a JSON ``{"error": detail}``;
- the dashboard and everything else: Werkzeug's own HTML pages.

Every failure is a ``service.errors.HerdError`` (or a Werkzeug HTTPException,
which is translated to one here). Unexpected exceptions are logged with their
traceback and answered with a generic 500: never a traceback out. Rendering
writes nothing: the SCIM answer is noted in ``g.scim_error`` and
``service.edge.failures`` records it after the response is built.
"""

import logging

from flask import g, jsonify, request
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from service.edge.responses import scim_response
from service.errors import HerdError, error_body

log = logging.getLogger(__name__)

_SCIM_DETAILS = {
    400: "The request could not be read. Send a JSON body with Content-Type application/scim+json.",
    401: "Authentication failed. Send the header 'Authorization: Bearer <token>' with a token created in Settings > Integrations > API.",
    404: "No such SCIM endpoint. The tenant URL ends in /scim/v2/{company_id}; Herd serves /Users, /ServiceProviderConfig, /ResourceTypes and /Schemas.",
    405: "Method not allowed on this endpoint.",
    413: "Request body too large: the limit is 1 MiB.",
    415: "Unsupported media type: send application/scim+json or application/json.",
    429: "Too many requests; retry after the time given in Retry-After.",
}

_API_DETAILS = {
    **_SCIM_DETAILS,
    400: "The request could not be read. Send a JSON object with Content-Type application/json.",
    404: "No such API endpoint. See /api/v1/learners, /api/v1/learner_trainings, /api/v1/trainings and /api/v1/audit_events.",
}

INTERNAL = "Internal error. The request was not applied; retry later or contact support."


def _surface():
    if request.path.startswith("/scim/"):
        return "scim"
    if request.path.startswith("/api/"):
        return "api"
    return "html"


def render(err):
    """The response for a HerdError on the current request's surface."""
    surface = _surface()
    if surface == "scim":
        # service.edge.failures records it once the response exists (never from here).
        g.scim_error = err
        resp = scim_response(error_body(err), err.status)
    elif surface == "api":
        resp = jsonify({"error": err.detail})
        resp.status_code = err.status
    else:
        # Plain text in an HTML page: a detail may quote what the client sent.
        resp = (str(escape(err.detail)), err.status)
        return resp
    for key, value in err.headers.items():
        resp.headers[key] = value
    return resp


def _from_http(err):
    """A Werkzeug HTTPException (no route, 405, 413, ...) as a HerdError with an actionable detail."""
    code = err.code or 500
    details = _API_DETAILS if _surface() == "api" else _SCIM_DETAILS
    headers = {}
    if code == 413:
        # The unread body stays on the socket: ask the client for a fresh connection.
        headers["Connection"] = "close"
    if code == 405 and getattr(err, "valid_methods", None):
        headers["Allow"] = ", ".join(err.valid_methods)
    return HerdError(details.get(code, err.description or "Request failed."), status=code, headers=headers)


def init_app(app):
    """Register the handlers."""

    @app.errorhandler(HerdError)
    def _herd_error(err):
        return render(err)

    @app.errorhandler(HTTPException)
    def _http_error(err):
        if _surface() == "html":
            return err
        return render(_from_http(err))

    app.register_error_handler(Exception, unexpected)


def unexpected(err):
    """A generic 500 for an exception nobody expected, its traceback in the log."""
    log.exception("unhandled error on %s %s", request.method, request.path)
    if _surface() == "html":
        return "Internal error", 500
    return render(HerdError(INTERNAL, status=500))
