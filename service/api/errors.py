"""API errors. They are ScimErrors so that ``service.errors`` renders them, as
``{"error": detail}`` with their status under ``/api/``."""

from service.scim.errors import ScimError


class BadRequest(ScimError):
    """Bad input: a query parameter or body field the API cannot accept."""

    status = 400


class NotFound(ScimError):
    """Nothing with that id in the caller's company (another company's ids included)."""

    status = 404


class Conflict(ScimError):
    """The change is well formed but the resource's state does not allow it."""

    status = 409
