"""/Users routes (RFC 7644 §3): thin views over the learner store."""

from flask import current_app, g, request

from service import db, enqueue
from service.auth import authenticate
from service.scim import learners
from service.scim.blueprint import bp
from service.scim.errors import InvalidValue
from service.scim.group_mapping import user_groups_for
from service.scim.http import int_param, json_body, list_param, patch_operations, scim_response
from service.scim.mapping import project, to_scim

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def _settings():
    return current_app.extensions["herd.settings"]


def _resource_response(learner, status=200):
    attributes, excluded = list_param("attributes"), list_param("excludedAttributes")
    base = _settings().public_base_url
    # The learner's groups, read-only (one query, skipped while the company's groups are off).
    groups = user_groups_for(db.session(), g.caller.company, [learner.id], base, attributes, excluded)
    body = to_scim(learner, base, groups.get(learner.id))
    headers = {"ETag": body["meta"]["version"]}
    if status == 201:
        headers["Location"] = body["meta"]["location"]
    body = project(body, attributes, excluded)
    return scim_response(body, status, headers)


def _list(company, filter_text, start_index, count, attributes, excluded):
    settings = _settings()
    count = min(count, settings.scim_max_page)
    session = db.session()
    total, page = learners.search(session, company, filter_text, start_index, count)
    # One query for the whole page's groups, never one per row.
    groups = user_groups_for(session, company, [lr.id for lr in page], settings.public_base_url, attributes, excluded)
    resources = [project(to_scim(lr, settings.public_base_url, groups.get(lr.id)), attributes, excluded) for lr in page]
    return scim_response(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "Resources": resources,
            "startIndex": start_index,
            "itemsPerPage": len(resources),
        }
    )


@bp.get("/Users")
def list_users(company_id):
    """GET /Users with filter, paging and attribute selection (RFC 7644 §3.4.2)."""
    caller = authenticate(company_id)
    return _list(
        caller.company,
        request.args.get("filter"),
        int_param("startIndex", 1, minimum=1),
        int_param("count", _settings().scim_max_page, minimum=0),
        list_param("attributes"),
        list_param("excludedAttributes"),
    )


@bp.post("/Users/.search")
def search_users(company_id):
    """POST /Users/.search (RFC 7644 §3.4.3)."""
    caller = authenticate(company_id)
    body = json_body()
    lowered = {k.lower(): v for k, v in body.items()}

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
        caller.company,
        filter_text,
        number("startIndex", 1, 1),
        number("count", _settings().scim_max_page, 0),
        names("attributes"),
        names("excludedAttributes"),
    )


@bp.post("/Users")
def create_user(company_id):
    """POST /Users: 201 with the learner and its Location (RFC 7644 §3.3)."""
    caller = authenticate(company_id)
    session = db.session()
    learner, event = learners.create(session, caller, json_body())
    enqueue.commit(session, event)
    return _resource_response(learner, 201)


@bp.get("/Users/<learner_id>")
def get_user(company_id, learner_id):
    """GET /Users/{id}."""
    caller = authenticate(company_id)
    return _resource_response(learners.get(db.session(), caller.company.id, learner_id))


@bp.put("/Users/<learner_id>")
def replace_user(company_id, learner_id):
    """PUT /Users/{id}: replace every attribute (RFC 7644 §3.5.1)."""
    caller = authenticate(company_id)
    session = db.session()
    learner = learners.get(session, caller.company.id, learner_id)
    learners.check_version(learner, request.headers.get("If-Match"))
    event = learners.replace(session, caller, learner, json_body())
    enqueue.commit(session, event)
    return _resource_response(learner)


@bp.patch("/Users/<learner_id>")
def patch_user(company_id, learner_id):
    """PATCH /Users/{id}: 200 with the full resource (Microsoft's validator rejects 204)."""
    caller = authenticate(company_id)
    session = db.session()
    operations = patch_operations()
    learner = learners.get(session, caller.company.id, learner_id)
    learners.check_version(learner, request.headers.get("If-Match"))
    event = learners.patch(session, caller, learner, operations)
    enqueue.commit(session, event)
    return _resource_response(learner)


@bp.delete("/Users/<learner_id>")
def delete_user(company_id, learner_id):
    """DELETE /Users/{id}: 204; the learner and its history stay in the company's records."""
    caller = authenticate(company_id)
    session = db.session()
    learner = learners.get(session, caller.company.id, learner_id)
    learners.check_version(learner, request.headers.get("If-Match"))
    event = learners.delete(session, caller, learner)
    enqueue.commit(session, event)
    return "", 204
