"""SCIM HTTP helpers: the media type, JSON bodies, query parameters, ListResponse, ETag and If-Match."""

from flask import g, request

from service.edge import input_limits
from service.edge.responses import MEDIA_TYPE, scim_response  # noqa: F401  (SCIM code imports them from here)
from service.scim.errors import InvalidSyntax, InvalidValue, InvalidVersion

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def json_body():
    """The request body as a JSON object, or a SCIM invalidSyntax error saying why not.

    Decoded through ``service.edge.input_limits.load_json``: nesting depth and control
    characters are refused there, once, for every SCIM body.
    """
    if "scim_body" in g:  # decoded once per request (a refusal is decoded again: it raises again)
        return g.scim_body
    raw = request.get_data(cache=True)
    if not raw:
        raise InvalidSyntax("The request body is empty; send a JSON object.")
    body = input_limits.load_json(raw)
    if not isinstance(body, dict):
        raise InvalidSyntax("The request body must be a JSON object.")
    g.scim_body = body
    return body


def patch_operations():
    """The ``Operations`` list of a PATCH body (RFC 7644 §3.5.2), key matched case-insensitively."""
    body = json_body()
    operations = next((v for k, v in body.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list):
        raise InvalidSyntax(
            f'A PATCH body needs "Operations": a list of {{"op", "path", "value"}} objects ({PATCH_OP}).'
        )
    return input_limits.check_operations_count(operations)


def int_param(name, default, minimum=None, maximum=None):
    """An integer query parameter; a non-integer is a SCIM invalidValue error.

    Below ``minimum`` it is raised to it (RFC 7644 §3.4.2.4); above ``maximum``
    it is lowered to it (``count``), so the database never sees a huge number.
    """
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise InvalidValue(f"Query parameter {name} must be an integer, got {input_limits.show(raw)}.") from None
    if minimum is not None and value < minimum:
        value = minimum
    if maximum is not None and value > maximum:
        value = maximum
    return value


def start_index():
    """``startIndex`` (1-based, RFC 7644 §3.4.2.4): below 1 counts as 1; past the limit is a 400."""
    return input_limits.check_start_index(int_param("startIndex", 1, minimum=1))


def list_param(name):
    """A comma-separated query parameter as a list of trimmed names."""
    raw = request.args.get(name) or ""
    return [part.strip() for part in raw.split(",") if part.strip()]


def selection():
    """The request's ``attributes`` and ``excludedAttributes`` (RFC 7644 §3.4.2.5)."""
    return list_param("attributes"), list_param("excludedAttributes")


def list_response(resources, total=None, start_index=1):
    """A ListResponse (RFC 7644 §3.4.2) of ``resources``: the total, the page and where it starts."""
    return scim_response(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": len(resources) if total is None else total,
            "Resources": resources,
            "startIndex": start_index,
            "itemsPerPage": len(resources),
        }
    )


def etag(version):
    """The weak ETag of a resource version (RFC 7644 §3.14), also its ``meta.version``."""
    return f'W/"{version}"'


def check_version(version):
    """RFC 7644 §3.14: an If-Match that names another version is a 412."""
    if_match = request.headers.get("If-Match")
    if if_match and if_match.strip() != "*" and etag(version) not in if_match:
        raise InvalidVersion(f"The resource changed: its current version is {etag(version)}.")
