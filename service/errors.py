"""Herd's one error vocabulary: exceptions carrying an HTTP status, a detail and headers.

Every surface raises these (SCIM's typed errors in ``service.scim.errors`` are
subclasses that add a ``scimType``); ``service.edge.error_handlers`` is the one
place that turns them into a response for the surface the request is on.
Pure: no Flask.
"""


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
