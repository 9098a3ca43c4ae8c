"""Loading query strings and bodies with marshmallow, failing with one readable 400."""

from flask import request
from marshmallow import Schema, ValidationError, fields, pre_load, validate

from service.api.errors import BadRequest
from service.edge import input_limits

# Deep offsets cost the database more and more; no one pages this far by hand.
MAX_PAGE = 100_000
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
# marshmallow's message for a field the schema does not know; we list the ones it does.
UNKNOWN = "Unknown field."


def no_nul(value):
    """Reject NUL characters: PostgreSQL cannot store or compare them."""
    if "\x00" in value:
        raise ValidationError("Must not contain NUL characters.")


class PageArgs(Schema):
    """``page`` (from 1) and ``per_page`` (capped at 200, not refused above it)."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=DEFAULT_PER_PAGE, validate=validate.Range(min=1))

    @pre_load
    def _strip(self, data, **_kw):
        return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}


def capped_per_page(args):
    """The page size the query will use."""
    return min(args["per_page"], MAX_PER_PAGE)


def load(schema, data, where):
    """Load ``data`` with ``schema``; raise BadRequest naming every bad field and why."""
    try:
        return schema.load(data)
    except ValidationError as err:
        accepted = ", ".join(schema.load_fields)
        messages = {
            field: [f"Unknown field; this endpoint accepts {accepted}." if p == UNKNOWN else p for p in problems]
            if isinstance(problems, list)
            else problems
            for field, problems in err.messages.items()
        }
        raise BadRequest(f"Invalid {where}: {describe(messages)}.") from None


def query_args(schema):
    """The request's query string loaded with ``schema`` (first value of each parameter)."""
    return load(schema, request.args.to_dict(), "query parameters")


def json_body(schema, example):
    """The request's JSON object body loaded with ``schema`` (decoded by ``input_limits.load_json``:
    depth and control characters are refused there)."""
    raw = request.get_data(cache=True)
    try:
        body = input_limits.load_json(raw, BadRequest) if raw else None
    except BadRequest as exc:
        raise BadRequest(f"{exc.detail} Send a JSON object as the request body, for example {example}.") from None
    if not isinstance(body, dict):
        raise BadRequest(f"Send a JSON object as the request body, for example {example}.")
    return load(schema, body, "request body")


def describe(messages):
    """Flatten marshmallow's ``{"field": ["msg.", ...]}`` into ``field: msg; other: msg``."""
    parts = []
    for field, problems in sorted(messages.items()):
        if isinstance(problems, dict):
            problems = [describe(problems)]
        text = " ".join(str(p).rstrip(".") for p in problems)
        parts.append(f"{field}: {text}")
    return "; ".join(parts)
