"""Discovery endpoints (RFC 7644 §4) and the answers for what Herd does not offer."""

from flask import g

from service import current
from service.company.tenant import tenant_url
from service.edge import input_limits
from service.scim.blueprint import bp
from service.scim.bulk import MAX_OPERATIONS, MAX_PAYLOAD_BYTES
from service.scim.errors import NotFound, NotImplementedFeature
from service.scim.groups.schema import GROUP_ATTRS
from service.scim.http import list_response, scim_response
from service.scim.paths import CORE_GROUP_URN
from service.scim.users.attributes import (
    CORE_USER,
    ENTERPRISE,
    ENTERPRISE_ATTRS,
    LEARNER_ATTRS,
    LEARNER_PLACEHOLDER,
    USER_ATTRS,
    Attr,
    schema_document,
)

DOCS = "https://github.com/herd/herd#readme"
# A common attribute (RFC 7643 §3.1), which no schema must list; listed in User and Group all
# the same, because Microsoft's gallery validation looks every mapped attribute up in
# /Schemas, and Entra maps externalId by default.
EXTERNAL_ID = Attr("externalId", description="The IdP's own identifier of the resource (RFC 7643 §3.1).")
# In the order of the documents schemas() lists: User, enterprise, learner, Group.
_COLUMN_LIMITS = (
    input_limits.USER_COLUMNS,
    input_limits.ENTERPRISE_COLUMNS,
    input_limits.LEARNER_COLUMNS,
    input_limits.GROUP_COLUMNS,
)


def _base(company_id):
    return tenant_url(company_id)


def _list(resources):
    return list_response(resources)


def service_provider_config(company_id):
    """What Herd supports (RFC 7643 §5)."""
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": DOCS,
        "patch": {"supported": True},
        "bulk": {"supported": True, "maxOperations": MAX_OPERATIONS, "maxPayloadSize": MAX_PAYLOAD_BYTES},
        "filter": {"supported": True, "maxResults": current.settings().scim_max_page},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "An access token created in Settings > Integrations > API.",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{_base(company_id)}/ServiceProviderConfig"},
    }


def schemas(company):
    """The schemas Herd stores; the learner extension under the URN this company's IdP uses."""
    learner_urn = company.extension_urn or LEARNER_PLACEHOLDER
    base = _base(company.id)
    docs = [
        schema_document(
            CORE_USER, "User", f"A learner account. {input_limits.limits_text()}", (*USER_ATTRS, EXTERNAL_ID)
        ),
        schema_document(ENTERPRISE, "EnterpriseUser", "Enterprise User extension.", ENTERPRISE_ATTRS),
        schema_document(
            learner_urn, "Learner", "What Smart Assign reads: location, role, tags, state, country.", LEARNER_ATTRS
        ),
    ]
    if company.groups_enabled:
        # Published only while the company's groups are on, like the /Groups endpoint itself.
        docs.append(schema_document(CORE_GROUP_URN, "Group", "A group of learners.", (*GROUP_ATTRS, EXTERNAL_ID)))
    # Each string attribute copied to a column says its length limit (service.edge.input_limits).
    for doc, columns in zip(docs, _COLUMN_LIMITS, strict=False):
        input_limits.annotate_schema(doc, columns)
    for doc in docs:
        doc["meta"]["location"] = f"{base}/Schemas/{doc['id']}"
    return docs


def resource_types(company):
    """The resource types Herd serves for this company (RFC 7643 §6)."""
    base = _base(company.id)
    types = [
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "Learners",
            "schema": CORE_USER,
            "schemaExtensions": [
                {"schema": ENTERPRISE, "required": False},
                {"schema": company.extension_urn or LEARNER_PLACEHOLDER, "required": False},
            ],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"},
        }
    ]
    if company.groups_enabled:
        types.append(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "id": "Group",
                "name": "Group",
                "endpoint": "/Groups",
                "description": "Groups of learners",
                "schema": CORE_GROUP_URN,
                "schemaExtensions": [],
                "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/Group"},
            }
        )
    return types


@bp.get("/ServiceProviderConfig")
def get_service_provider_config():
    """GET /ServiceProviderConfig."""
    return scim_response(service_provider_config(g.caller.company.id))


@bp.get("/ResourceTypes")
def list_resource_types():
    """GET /ResourceTypes as a ListResponse."""
    return _list(resource_types(g.caller.company))


@bp.get("/ResourceTypes/<name>")
def get_resource_type(name):
    """GET /ResourceTypes/{name}."""
    for rt in resource_types(g.caller.company):
        if rt["id"].lower() == name.lower():
            return scim_response(rt)
    raise NotFound(f"ResourceType {name} not found.")


@bp.get("/Schemas")
def list_schemas():
    """GET /Schemas as a ListResponse."""
    return _list(schemas(g.caller.company))


@bp.get("/Schemas/<path:schema_id>")
def get_schema(schema_id):
    """GET /Schemas/{urn}."""
    for doc in schemas(g.caller.company):
        if doc["id"].lower() == schema_id.lower():
            return scim_response(doc)
    raise NotFound(f"Schema {schema_id} not found.")


@bp.route("/Me", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/.search", methods=["POST"])
def not_offered():
    """Features Herd does not offer answer 501, as RFC 7644 does for unsupported features."""
    raise NotImplementedFeature("This SCIM feature is not supported by Herd: use /Users.")
