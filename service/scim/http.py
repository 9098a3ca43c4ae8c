"""SCIM HTTP helpers: the media type, JSON bodies, and query parameters."""

import json

from flask import Response, request

from service.scim.errors import InvalidSyntax, InvalidValue

MEDIA_TYPE = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def scim_response(body, status=200, headers=None):
    """A response with the SCIM media type (every SCIM answer, errors included)."""
    resp = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE)
    resp.headers["Content-Type"] = f"{MEDIA_TYPE}; charset=utf-8"
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def json_body():
    """The request body as a JSON object, or a SCIM invalidSyntax error saying why not."""
    raw = request.get_data(cache=True)
    if not raw:
        raise InvalidSyntax("The request body is empty; send a JSON object.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidSyntax(f"The request body is not valid JSON: {_json_reason(exc)}.") from None
    if not isinstance(body, dict):
        raise InvalidSyntax("The request body must be a JSON object.")
    return body


def patch_operations():
    """The ``Operations`` list of a PATCH body (RFC 7644 §3.5.2), key matched case-insensitively."""
    body = json_body()
    operations = next((v for k, v in body.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list):
        raise InvalidSyntax(
            f'A PATCH body needs "Operations": a list of {{"op", "path", "value"}} objects ({PATCH_OP}).'
        )
    return operations


def _json_reason(exc):
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return "it is not UTF-8 text"


def int_param(name, default, minimum=None):
    """An integer query parameter; a non-integer is a SCIM invalidValue error."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidValue(f"Query parameter {name} must be an integer, got {raw!r}.") from None
    if minimum is not None and value < minimum:
        value = minimum
    return value


def list_param(name):
    """A comma-separated query parameter as a list of trimmed names."""
    raw = request.args.get(name) or ""
    return [part.strip() for part in raw.split(",") if part.strip()]
