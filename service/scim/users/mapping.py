"""Learner rows <-> SCIM User documents: extracted columns and responses."""

import copy

from models import utcnow
from models.normalize import normalize_region, parse_tags
from service.scim.http import etag
from service.scim.paths import get_ci
from service.scim.users.attributes import CORE_USER, ENTERPRISE, extension_kind

USER_LOCATION = "Users"


def learner_extension(doc):
    """``(urn, attributes)`` of the learner extension in a stored document, or ``(None, {})``."""
    for key, value in doc.items():
        if key.lower().startswith("urn:") and extension_kind(key) == "learner":
            return key, value
    return None, {}


def work_email(doc):
    """The work email, else the primary one, else the first: what Entra matches on."""
    emails = [e for e in doc.get("emails") or [] if isinstance(e, dict) and e.get("value")]
    for pick in (
        lambda e: str(e.get("type", "")).lower() == "work",
        lambda e: e.get("primary") is True,
        lambda e: True,
    ):
        for email in emails:
            if pick(email):
                return email["value"]
    return None


def apply_document(learner, doc):
    """Store ``doc`` on ``learner`` and refresh every column extracted from it.

    ``doc`` is stored as given: an ``active`` that a PATCH removed stays absent from
    the document (and from responses); the learner then counts as active, Herd's
    meaning of an unassigned ``active`` (RFC 7643 §4.1.1 leaves it to the provider).
    """
    doc = copy.deepcopy(doc)
    learner.resource = doc
    learner.user_name = doc["userName"]
    learner.user_name_lower = doc["userName"].lower()
    ext = doc.get("externalId")
    learner.external_id_lower = ext.lower() if isinstance(ext, str) else None
    email = work_email(doc)
    learner.email_lower = email.lower() if email else None
    learner.display_name = doc.get("displayName")
    name = doc.get("name") or {}
    learner.given_name = name.get("givenName")
    learner.family_name = name.get("familyName")
    learner.active = bool(doc.get("active", True))
    _, extension = learner_extension(doc)
    enterprise = doc.get(ENTERPRISE) or {}
    state, country = get_ci(extension, "state"), get_ci(extension, "country")
    learner.region, learner.country = normalize_region(state, country)
    learner.location = get_ci(extension, "location") or get_ci(enterprise, "location")
    learner.role = get_ci(extension, "learnerRole")
    learner.training_tags = parse_tags(get_ci(extension, "training_tags"))
    learner.updated_at = utcnow()


def timestamp(value):
    """UTC ISO-8601 with a Z, as SCIM's dateTime wants (RFC 7643 §2.3.5)."""
    return value.replace(microsecond=(value.microsecond // 1000) * 1000).isoformat(timespec="milliseconds") + "Z"


def user_location(base_url, company_id, learner_id):
    """The URL of a learner's SCIM resource."""
    return f"{base_url}/scim/v2/{company_id}/{USER_LOCATION}/{learner_id}"


def to_scim(learner, base_url, groups=None):
    """The full SCIM User for a learner row (RFC 7643 §4.1)."""
    doc = copy.deepcopy(learner.resource)
    schemas = [CORE_USER]
    extensions = {}
    for key in list(doc):
        if key.lower().startswith("urn:"):
            extensions[key] = doc.pop(key)
            schemas.append(key)
    body = {"schemas": schemas, "id": learner.id}
    body.update(doc)
    if groups:
        body["groups"] = groups
    body.update(extensions)
    body["meta"] = {
        "resourceType": "User",
        "created": timestamp(learner.created_at),
        "lastModified": timestamp(learner.updated_at),
        "location": user_location(base_url, learner.company_id, learner.id),
        "version": etag(learner.version),
    }
    return body
