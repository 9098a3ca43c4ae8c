"""/Groups routes (RFC 7644 §3): thin views over the group store, for companies with groups on.

Groups are off for every company until an admin (dashboard switch) or an operator turns them on
(``./herd companies groups COMPANY_ID --enable``). While off, every
/Groups call answers 501 with a detail saying so and how to fix it (entra.md:
401/403 would read as bad credentials, 404 as a broken server) and nothing is
stored: the blueprint checks it once, after the SCIM blueprint authenticated.
The one exception is a plain ``GET /Groups`` list: it answers 200 with an empty
ListResponse (with no filter), because Okta's "Test API Credentials" (and other
IdPs' credential tests) call it and read any error as a broken connection; an empty list is also
the truth, since no groups are stored.
"""

from flask import Blueprint, g, request

from service import db
from service.scim.errors import MethodNotAllowed, NotFound, NotImplementedFeature
from service.scim.groups import memberships, store
from service.scim.groups.mapping import group_location, to_scim
from service.scim.http import etag, int_param, json_body, list_response, scim_response, selection, start_index
from service.scim.projection import normalize_names, project, wants
from service.scim.views import ResourceView, create, settings

bp = Blueprint("groups", __name__, url_prefix="/Groups")


def disabled_detail(company_id):
    """What a groups-off company's admin reads in Entra's provisioning log."""
    return (
        f"Group provisioning is disabled for this company (company {company_id}), so Herd stores no groups. "
        "Either turn group provisioning off in Entra (Provisioning > Mappings > "
        "'Provision Microsoft Entra ID Groups' > Enabled: No), or turn groups on in Herd's dashboard "
        "(Settings > Integrations > API > Group provisioning; an operator can also run "
        f"./herd companies groups {company_id} --enable)"
    )


@bp.before_request
def _groups_enabled():
    # Every /Groups route, known or not: the explanatory 501 while the company's groups are off.
    company = g.caller.company
    if not company.groups_enabled:
        # Only the unfiltered list: a filtered lookup (Entra's or Okta's group push looking
        # a group up before creating it) still gets the explanation, on its first call.
        if request.method == "GET" and request.endpoint == "scim.groups.list_groups" and "filter" not in request.args:
            return list_response([], 0, int_param("startIndex", 1, minimum=1))
        raise NotImplementedFeature(disabled_detail(company.id))


def _selection():
    """``attributes`` and ``excludedAttributes`` of the request, core URN prefixes dropped."""
    attributes, excluded = selection()
    return normalize_names(attributes), normalize_names(excluded)


def _render(session, groups, attributes, excluded):
    """SCIM documents for ``groups``; members are loaded (in one query) only if the answer shows them."""
    members = None
    if wants("members", attributes, excluded):
        members = memberships.members_of(session, [g.id for g in groups])
    base = settings().public_base_url
    return [project(to_scim(g, base, members.get(g.id) if members else None), attributes, excluded) for g in groups]


def _resource_response(group, status=200):
    session = db.session()
    attributes, excluded = _selection()
    (body,) = _render(session, [group], attributes, excluded)
    headers = {"ETag": etag(group.version)}
    if status == 201:
        headers["Location"] = group_location(settings().public_base_url, group.company_id, group.id)
    return scim_response(body, status, headers)


@bp.get("")
def list_groups():
    """GET /Groups with filter, paging and attribute selection (RFC 7644 §3.4.2)."""
    session = db.session()
    config = settings()
    first = start_index()
    count = min(int_param("count", config.scim_max_page, minimum=0), config.scim_max_page)
    total, page = store.search(db.session, g.caller.company.id, request.args.get("filter"), first, count)
    return list_response(_render(session, page, *_selection()), total, first)


@bp.post("")
def create_group():
    """POST /Groups: 201 with the group and its Location; a taken displayName (any case) is 409."""
    return _resource_response(create(store.create, json_body()), 201)


class GroupView(ResourceView):
    """GET, PUT, PATCH, DELETE /Groups/{id}; ``excludedAttributes=members`` never reads the membership table."""

    store = store

    def respond(self, resource, status=200):
        return _resource_response(resource, status)

    def patched(self, resource):
        """204, or 200 with the group when the client asks for attributes."""
        if "attributes" in request.args or "excludedAttributes" in request.args:
            return _resource_response(resource)
        # 204 keeps a member add cheap: no member list is read back (entra.md accepts 204 for Groups).
        return "", 204, {"ETag": etag(resource.version)}


bp.add_url_rule("/<resource_id>", view_func=GroupView.as_view("group"))


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def groups_other(rest):
    """Anything else under /Groups (groups on): 501 for .search, else 405 or 404."""
    if rest == ".search":
        raise NotImplementedFeature("POST /Groups/.search is not supported by Herd: use GET /Groups?filter=...")
    if "/" not in rest:
        raise MethodNotAllowed(
            f"{request.method} is not supported on /Groups/{{id}}; use GET, PUT, PATCH or DELETE.",
            headers={"Allow": "GET, PUT, PATCH, DELETE"},
        )
    raise NotFound(f"No such endpoint: /Groups/{rest}.")
