"""/Groups routes (RFC 7644 §3): thin views over the group store, for companies with groups on.

Groups are off for every company until an operator turns them on
(``flask --app wsgi companies groups COMPANY_ID --enable``). While off, every
/Groups call answers 501 with a detail saying so and how to fix it (entra.md:
401/403 would read as bad credentials, 404 as a broken server) and nothing is
stored.
"""

from flask import current_app, request

from service import db, enqueue
from service.auth import authenticate
from service.scim import group_store, memberships
from service.scim.blueprint import bp
from service.scim.errors import MethodNotAllowed, NotFound, NotImplementedFeature
from service.scim.group_mapping import group_location, normalize_names, to_scim, wants
from service.scim.http import int_param, json_body, list_param, patch_operations, scim_response
from service.scim.mapping import project

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def disabled_detail(company_id):
    """What a groups-off company's admin reads in Entra's provisioning log."""
    return (
        f"Group provisioning is disabled for this company (company {company_id}), so Herd stores no groups. "
        "Either turn group provisioning off in Entra (Provisioning > Mappings > "
        "'Provision Microsoft Entra ID Groups' > Enabled: No), or ask your Herd operator to enable groups "
        f"for this company: flask --app wsgi companies groups {company_id} --enable"
    )


def _caller(company_id):
    """The authenticated caller, if its company has groups on; else the explanatory 501."""
    caller = authenticate(company_id)
    if not caller.company.groups_enabled:
        raise NotImplementedFeature(disabled_detail(company_id))
    return caller


def _settings():
    return current_app.extensions["herd.settings"]


def _selection():
    """``attributes`` and ``excludedAttributes`` of the request, core URN prefixes dropped."""
    return normalize_names(list_param("attributes")), normalize_names(list_param("excludedAttributes"))


def _render(session, groups, attributes, excluded):
    """SCIM documents for ``groups``; members are loaded (in one query) only if the answer shows them."""
    members = None
    if wants("members", attributes, excluded):
        members = memberships.members_of(session, [g.id for g in groups])
    base = _settings().public_base_url
    return [project(to_scim(g, base, members.get(g.id) if members else None), attributes, excluded) for g in groups]


def _resource_response(session, group, status=200):
    attributes, excluded = _selection()
    (body,) = _render(session, [group], attributes, excluded)
    headers = {"ETag": f'W/"{group.version}"'}
    if status == 201:
        headers["Location"] = group_location(_settings().public_base_url, group.company_id, group.id)
    return scim_response(body, status, headers)


@bp.get("/Groups")
def list_groups(company_id):
    """GET /Groups with filter, paging and attribute selection (RFC 7644 §3.4.2)."""
    caller = _caller(company_id)
    session = db.session()
    settings = _settings()
    start_index = int_param("startIndex", 1, minimum=1)
    count = min(int_param("count", settings.scim_max_page, minimum=0), settings.scim_max_page)
    total, page = group_store.search(session, caller.company.id, request.args.get("filter"), start_index, count)
    attributes, excluded = _selection()
    resources = _render(session, page, attributes, excluded)
    return scim_response(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "Resources": resources,
            "startIndex": start_index,
            "itemsPerPage": len(resources),
        }
    )


@bp.post("/Groups")
def create_group(company_id):
    """POST /Groups: 201 with the group and its Location; a taken displayName (any case) is 409."""
    caller = _caller(company_id)
    session = db.session()
    group, event = group_store.create(session, caller, json_body())
    enqueue.commit(session, event)
    return _resource_response(session, group, 201)


@bp.get("/Groups/<group_id>")
def get_group(company_id, group_id):
    """GET /Groups/{id}; ``excludedAttributes=members`` never reads the membership table."""
    caller = _caller(company_id)
    session = db.session()
    return _resource_response(session, group_store.get(session, caller.company.id, group_id))


@bp.put("/Groups/<group_id>")
def replace_group(company_id, group_id):
    """PUT /Groups/{id}: displayName, externalId and the member set replaced (RFC 7644 §3.5.1)."""
    caller = _caller(company_id)
    session = db.session()
    group = group_store.get(session, caller.company.id, group_id)
    group_store.check_version(group, request.headers.get("If-Match"))
    event = group_store.replace(session, caller, group, json_body())
    enqueue.commit(session, event)
    return _resource_response(session, group)


@bp.patch("/Groups/<group_id>")
def patch_group(company_id, group_id):
    """PATCH /Groups/{id}: 204, or 200 with the group when the client asks for attributes."""
    caller = _caller(company_id)
    session = db.session()
    operations = patch_operations()
    group = group_store.get(session, caller.company.id, group_id)
    group_store.check_version(group, request.headers.get("If-Match"))
    event = group_store.patch(session, caller, group, operations)
    enqueue.commit(session, event)
    if "attributes" in request.args or "excludedAttributes" in request.args:
        return _resource_response(session, group)
    # 204 keeps a member add cheap: no member list is read back (entra.md accepts 204 for Groups).
    return "", 204, {"ETag": f'W/"{group.version}"'}


@bp.delete("/Groups/<group_id>")
def delete_group(company_id, group_id):
    """DELETE /Groups/{id}: 204; unknown or already deleted is 404."""
    caller = _caller(company_id)
    session = db.session()
    group = group_store.get(session, caller.company.id, group_id)
    group_store.check_version(group, request.headers.get("If-Match"))
    event = group_store.delete(session, caller, group)
    enqueue.commit(session, event)
    return "", 204


@bp.route("/Groups/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def groups_other(company_id, rest):
    """Anything else under /Groups: the 501 while groups are off, else 405 or 404."""
    _caller(company_id)
    if rest == ".search":
        raise NotImplementedFeature("POST /Groups/.search is not supported by Herd: use GET /Groups?filter=...")
    if "/" not in rest:
        raise MethodNotAllowed(
            f"{request.method} is not supported on /Groups/{{id}}; use GET, PUT, PATCH or DELETE.",
            headers={"Allow": "GET, PUT, PATCH, DELETE"},
        )
    raise NotFound(f"No such endpoint: /Groups/{rest}.")
