"""Group rows -> SCIM Group documents, and the read-only ``groups`` of a User (RFC 7643 §4.1.2, §4.2)."""

from service.scim.groups import memberships
from service.scim.http import etag
from service.scim.paths import CORE_GROUP_URN
from service.scim.projection import wants
from service.scim.users.mapping import timestamp, user_location

GROUP_LOCATION = "Groups"


def group_location(base_url, company_id, group_id):
    """The URL of a group's SCIM resource."""
    return f"{base_url}/scim/v2/{company_id}/{GROUP_LOCATION}/{group_id}"


def to_scim(group, base_url, members=None):
    """The SCIM Group for a row; ``members`` is a list of learner ids, or None (not loaded).

    A group without members has no ``members`` attribute (RFC 7643 §2.5: empty is unassigned).
    Members carry ``value``, ``$ref`` and ``type``, the sub-attributes of RFC 7643 §8.7.1, so
    they read back as clients wrote them (compliance suites compare them field by field).
    """
    body = {"schemas": [CORE_GROUP_URN], "id": group.id}
    if group.external_id is not None:
        body["externalId"] = group.external_id
    body["displayName"] = group.display_name
    if members:
        body["members"] = [
            {"value": learner_id, "$ref": user_location(base_url, group.company_id, learner_id), "type": "User"}
            for learner_id in members
        ]
    body["meta"] = {
        "resourceType": "Group",
        "created": timestamp(group.created_at),
        "lastModified": timestamp(group.updated_at),
        "location": group_location(base_url, group.company_id, group.id),
        "version": etag(group.version),
    }
    return body


def user_groups(pairs, base_url, company_id):
    """The ``groups`` attribute of a User from ``[(group_id, displayName), ...]`` (direct memberships)."""
    return [
        {
            "value": group_id,
            "display": display_name,
            "type": "direct",
            "$ref": group_location(base_url, company_id, group_id),
        }
        for group_id, display_name in pairs
    ]


def user_groups_for(lazy_session, company, learner_ids, base_url, attributes=(), excluded=()):
    """``{learner_id: groups attribute}`` for User responses, in one query for the whole page.

    ``lazy_session()`` is called only when there is a query to run. Empty (and no query)
    when the company's groups are off or the response leaves ``groups`` out.
    """
    if not company.groups_enabled or not learner_ids or not wants("groups", attributes, excluded):
        return {}
    found = memberships.groups_of(lazy_session(), list(learner_ids))
    return {learner_id: user_groups(pairs, base_url, company.id) for learner_id, pairs in found.items() if pairs}
