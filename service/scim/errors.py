"""The SCIM error vocabulary (RFC 7644 §3.12): ``service.errors`` plus a ``scimType``.

Every failure under ``/scim/`` is raised as a ``HerdError`` (these subclasses
when the spec names a scimType) and rendered as a SCIM Error body in one place
(``service.edge.error_handlers``). Pure: no Flask.
"""

from service.errors import (  # noqa: F401  (the status-only errors are part of the SCIM vocabulary)
    Conflict,
    HerdError,
    MethodNotAllowed,
    NotFound,
    NotImplementedFeature,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
)

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


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


class TooMany(ScimError):
    scim_type = "tooMany"


class InvalidVersion(ScimError):
    status = 412
    scim_type = "invalidVers"
