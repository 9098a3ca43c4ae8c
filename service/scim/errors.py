"""The SCIM error vocabulary (RFC 7644 §3.12).

Every failure under ``/scim/`` is raised as one of these exceptions and turned
into a SCIM Error response in one place (``service.errors``). Pure: no Flask.
"""

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """A SCIM error: HTTP status, optional scimType, and a detail an admin can act on."""

    status = 400
    scim_type = None

    def __init__(self, detail, *, status=None, scim_type=None, headers=None):
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        if scim_type is not None:
            self.scim_type = scim_type
        self.headers = headers or {}

    def to_dict(self):
        """Render the RFC 7644 §3.12 error body (``status`` is a string)."""
        body = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


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


class Unauthorized(ScimError):
    status = 401


class NotFound(ScimError):
    status = 404


class MethodNotAllowed(ScimError):
    status = 405


class PayloadTooLarge(ScimError):
    status = 413


class NotImplementedFeature(ScimError):
    status = 501


class RateLimited(ScimError):
    status = 429
