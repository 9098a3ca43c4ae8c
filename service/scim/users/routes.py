"""/Users routes (RFC 7644 §3): thin views over the learner store.

The caller is authenticated once for the whole SCIM blueprint
(``service.scim.blueprint``): every view finds it in ``g.caller``.
"""

from flask import Blueprint, g, request

from service import db
from service.edge import input_limits
from service.errors import HerdError
from service.scim.blueprint import row_lookup
from service.scim.errors import InvalidValue
from service.scim.filters import parse_filter
from service.scim.groups.mapping import user_groups_for
from service.scim.http import (
    etag,
    int_param,
    json_body,
    list_response,
    scim_response,
    selection,
)
from service.scim.projection import project
from service.scim.users import store
from service.scim.users.mapping import to_scim
from service.scim.views import ResourceView, create, settings

bp = Blueprint("users", __name__, url_prefix="/Users")


def _resource_response(learner, status=200):
    attributes, excluded = selection()
    base = settings().public_base_url
    # The learner's groups, read-only (one query, skipped while the company's groups are off).
    groups = user_groups_for(db.session, g.caller.company, [learner.id], base, attributes, excluded)
    body = to_scim(learner, base, groups.get(learner.id))
    headers = {"ETag": etag(learner.version)}
    if status == 201:
        headers["Location"] = body["meta"]["location"]
    body = project(body, attributes, excluded)
    return scim_response(body, status, headers)


def _list(filter_text, start_index, count, attributes, excluded, matching=None):
    config = settings()
    company = g.caller.company
    # GET's query string was checked at the edge (service.edge.boundary); POST /.search brings them in its body.
    input_limits.check_start_index(start_index)
    if filter_text:
        input_limits.check_text("filter", filter_text, input_limits.MAX_QUERY_VALUE)
    count = min(count, config.scim_max_page)
    total, page = store.search(db.session, company, filter_text, start_index, count, matching)
    # One query for the whole page's groups, never one per row.
    base = config.public_base_url
    groups = user_groups_for(db.session, company, [lr.id for lr in page], base, attributes, excluded)
    resources = [project(to_scim(lr, base, groups.get(lr.id)), attributes, excluded) for lr in page]
    return list_response(resources, total, start_index)


@bp.get("")
def list_users():
    """GET /Users with filter, paging and attribute selection (RFC 7644 §3.4.2)."""
    return _list(
        request.args.get("filter"),
        int_param("startIndex", 1, minimum=1),
        int_param("count", settings().scim_max_page, minimum=0),
        *selection(),
        # The lookup registered for this endpoint (``_filter_lookup``): when the filter is an
        # IdP's lookup, authentication already read the learners it matches.
        g.caller.rows if g.caller.lookup is not None else None,
    )


@bp.post("/.search")
def search_users():
    """POST /Users/.search (RFC 7644 §3.4.3)."""
    lowered = {k.lower(): v for k, v in json_body().items()}

    def names(key):
        value = lowered.get(key.lower()) or []
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list):
            raise InvalidValue(f"{key} must be a list of attribute names.")
        return [str(v).strip() for v in value if str(v).strip()]

    def number(key, default, minimum):
        value = lowered.get(key.lower(), default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValue(f"{key} must be an integer.")
        return max(value, minimum)

    filter_text = lowered.get("filter")
    if filter_text is not None and not isinstance(filter_text, str):
        raise InvalidValue("filter must be a string.")
    return _list(
        filter_text,
        number("startIndex", 1, 1),
        number("count", settings().scim_max_page, 0),
        names("attributes"),
        names("excludedAttributes"),
    )


@row_lookup("scim.users.user")
def _the_learner():
    """/Users/{id}: the learner, read with the token (a GET reads what it shows)."""
    columns = store.SHOWN_COLUMNS if db.is_read_only() else None
    return store.id_lookup(request.view_args["resource_id"], columns)


@row_lookup("scim.users.list_users")
def _filter_lookup():
    """``GET /Users?filter=...`` as IdPs look a user up before every write (userName,
    externalId, Entra's work email): the live learners it matches, read with the token
    (``store.filter_lookup``). Any other filter is one more statement; a filter that does
    not parse gets its error from the view."""
    text = request.args.get("filter")
    if not text:
        return None
    try:
        return store.filter_lookup(parse_filter(text))
    except (HerdError, RecursionError):
        return None


@row_lookup("scim.users.create_user")
def _learners_of_the_user_name():
    """POST /Users: the learners holding the body's userName (a live one is a 409, a
    DELETEd one is brought back), read with the token. A body that cannot be read here
    gets its error from the view."""
    try:
        body = json_body()
    except HerdError:
        return None
    user_name = next((v for k, v in body.items() if k.lower() == "username"), None)
    return store.user_name_lookup(user_name) if isinstance(user_name, str) else None


@bp.post("")
def create_user():
    """POST /Users: 201 with the learner and its Location (RFC 7644 §3.3)."""
    return _resource_response(create(store.create, json_body()), 201)


class UserView(ResourceView):
    """GET, PUT, PATCH (200 with the full resource: Microsoft's validator rejects 204), DELETE /Users/{id}.

    A DELETEd learner and its history stay in the company's records.
    """

    store = store

    def respond(self, resource, status=200):
        return _resource_response(resource, status)


bp.add_url_rule("/<resource_id>", view_func=UserView.as_view("user"))
