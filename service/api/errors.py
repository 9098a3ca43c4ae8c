"""API errors: the shared ``service.errors`` classes the /api/v1 routes raise.

``service.edge.error_handlers`` renders them as ``{"error": detail}`` with their status.
"""

from service.errors import BadRequest, Conflict, NotFound  # noqa: F401  (the API's vocabulary)
