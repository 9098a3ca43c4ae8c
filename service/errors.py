"""Herd's one error vocabulary: exceptions carrying an HTTP status, a detail and headers.

Every surface raises these; SCIM's typed errors (RFC 7644 §3.12) are the
subclasses that add a ``scimType``, and live here too because the input limits
and the error renderer below the SCIM package raise and render them
(``service.scim.errors`` gives the SCIM code its names for them).
``service.edge.error_handlers`` is the one place that turns them into a response
for the surface the request is on. Pure: no Flask.
"""

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class HerdError(Exception):
    """A failure the client caused or must know about: status, a detail an admin can act on, headers."""

    status = 400
    scim_type = None

    def __init__(self, detail, *, status=None, headers=None):
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        self.headers = headers or {}


class BadRequest(HerdError):
    """Bad input: a query parameter or body field that cannot be accepted."""


class Unauthorized(HerdError):
    """No usable bearer token (the same answer for every cause)."""

    status = 401


class NotFound(HerdError):
    """Nothing with that id in the caller's company (another company's ids included)."""

    status = 404


class MethodNotAllowed(HerdError):
    status = 405


class Conflict(HerdError):
    """The change is well formed but the resource's state does not allow it."""

    status = 409


class PayloadTooLarge(HerdError):
    status = 413


class RateLimited(HerdError):
    status = 429


class NotImplementedFeature(HerdError):
    status = 501


def error_body(err):
    """Render any HerdError as the RFC 7644 §3.12 error body (``status`` is a string)."""
    body = {"schemas": [ERROR_SCHEMA], "status": str(err.status), "detail": err.detail}
    if err.scim_type:
        body["scimType"] = err.scim_type
    return body


class ScimError(HerdError):
    """A SCIM error: HTTP status, optional scimType, and a detail an admin can act on."""

    def __init__(self, detail, *, status=None, scim_type=None, headers=None):
        super().__init__(detail, status=status, headers=headers)
        if scim_type is not None:
            self.scim_type = scim_type

    def to_dict(self):
        """Render the RFC 7644 §3.12 error body (``status`` is a string)."""
        return error_body(self)


class InvalidFilter(ScimError):
    scim_type = "invalidFilter"


class InvalidSyntax(ScimError):
    scim_type = "invalidSyntax"


class InvalidPath(ScimError):
    scim_type = "invalidPath"


class InvalidValue(ScimError):
    scim_type = "invalidValue"


class NoTarget(ScimError):
    scim_type = "noTarget"


class Mutability(ScimError):
    scim_type = "mutability"


class Uniqueness(ScimError):
    status = 409
    scim_type = "uniqueness"


class InvalidVersion(ScimError):
    status = 412
    scim_type = "invalidVers"
