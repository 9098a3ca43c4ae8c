"""SCIM's media type and its JSON responses.

Built below the SCIM package because the edge answers in SCIM too: every error on
``/scim/`` (``error_handlers``) and the rate limiter's 429 are SCIM Error bodies.
"""

import json

import orjson
from flask import Response

MEDIA_TYPE = "application/scim+json"
CONTENT_TYPE = f"{MEDIA_TYPE}; charset=utf-8"


def scim_response(body, status=200, headers=None):
    """A response with the SCIM media type (every SCIM answer, errors included)."""
    resp = Response(_dumps(body), status=status, content_type=CONTENT_TYPE)
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def _dumps(body):
    """UTF-8 JSON: orjson (several times faster than json), json for what orjson refuses.

    orjson refuses integers beyond 64 bits, which a client may have stored in an
    extension attribute; ``json`` writes them as they came.
    """
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, ensure_ascii=False).encode()
