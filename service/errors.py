"""One error handler for the whole app.

Under ``/scim/`` every failure is a SCIM Error (``application/scim+json``);
under ``/api/`` a JSON ``{"error": ...}``. Unexpected exceptions are logged
with their traceback and answered with a generic 500: never a traceback out.
"""

import logging

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from service import failures
from service.scim.errors import ScimError
from service.scim.http import scim_response

log = logging.getLogger(__name__)

_HTTP_DETAILS = {
    400: "The request could not be read. Send a JSON body with Content-Type application/scim+json.",
    401: "Authentication failed. Send the header 'Authorization: Bearer <token>' with a token created in Settings > Integrations > API.",
    404: "No such SCIM endpoint. The tenant URL ends in /scim/v2/{company_id}; Herd serves /Users, /ServiceProviderConfig, /ResourceTypes and /Schemas.",
    405: "Method not allowed on this endpoint.",
    413: "Request body too large: the limit is 1 MiB.",
    415: "Unsupported media type: send application/scim+json or application/json.",
    429: "Too many requests; retry after the time given in Retry-After.",
}


_API_DETAILS = {
    400: "The request could not be read. Send a JSON object with Content-Type application/json.",
    404: "No such API endpoint. See /api/v1/learners, /api/v1/learner_trainings, /api/v1/trainings and /api/v1/audit_events.",
}


def _is_scim():
    return request.path.startswith("/scim/")


def _is_api():
    return request.path.startswith("/api/")


def render_scim_error(err):
    """Turn a ScimError into its response (and keep a record for the dashboard's activity page)."""
    failures.record(err.status, err.scim_type, err.detail)
    resp = scim_response(err.to_dict(), err.status)
    for key, value in err.headers.items():
        resp.headers[key] = value
    return resp


def init_app(app):
    """Register the handlers."""

    @app.errorhandler(ScimError)
    def _scim_error(err):
        if _is_api():
            return jsonify({"error": err.detail}), err.status
        return render_scim_error(err)

    @app.errorhandler(HTTPException)
    def _http_error(err):
        code = err.code or 500
        if _is_scim() or _is_api():
            detail = _HTTP_DETAILS.get(code, err.description or "Request failed.")
            if _is_api():
                resp = jsonify({"error": _API_DETAILS.get(code, detail)})
                resp.status_code = code
            else:
                resp = render_scim_error(ScimError(detail, status=code))
            if code == 413:
                # The unread body stays on the socket: ask the client for a fresh connection.
                resp.headers["Connection"] = "close"
            if code == 405 and getattr(err, "valid_methods", None):
                resp.headers["Allow"] = ", ".join(err.valid_methods)
            return resp
        return err

    @app.errorhandler(Exception)
    def _unexpected(err):
        log.exception("unhandled error on %s %s", request.method, request.path)
        detail = "Internal error. The request was not applied; retry later or contact support."
        if _is_api():
            return jsonify({"error": detail}), 500
        if _is_scim():
            return render_scim_error(ScimError(detail, status=500))
        return "Internal error", 500
