"""The SCIM error vocabulary (RFC 7644 §3.12): ``service.errors``' errors, named for the SCIM code.

The classes live in ``service.errors`` (the input limits and the error renderer,
below this package, raise and render them too); every failure under ``/scim/`` is
one of them, rendered as a SCIM Error body in one place
(``service.edge.error_handlers``). Pure: no Flask.
"""

from service.errors import (  # noqa: F401  (re-exported: the SCIM code's names for the shared errors)
    ERROR_SCHEMA,
    Conflict,
    HerdError,
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    InvalidVersion,
    MethodNotAllowed,
    Mutability,
    NoTarget,
    NotFound,
    NotImplementedFeature,
    PayloadTooLarge,
    RateLimited,
    ScimError,
    Unauthorized,
    Uniqueness,
    error_body,
)
