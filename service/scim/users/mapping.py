"""Learner rows <-> SCIM User documents: extracted columns and responses."""

from models import utcnow
from models.attribute_mapping import apply_to
from models.normalize import name_key
from service.scim.documents import copy_document
from service.scim.http import etag
from service.scim.users.attributes import (
    COMMON,
    CORE_USER,
    ENTERPRISE_BY_LOWER,
    LEARNER_BY_LOWER,
    USER_BY_LOWER,
    extension_kind,
)

_DECLARED_TOP = frozenset(USER_BY_LOWER) | {c.lower() for c in COMMON}

USER_LOCATION = "Users"


def learner_extension(doc):
    """``(urn, attributes)`` of the learner extension in a stored document, or ``(None, {})``."""
    for key, value in doc.items():
        if key.lower().startswith("urn:") and extension_kind(key) == "learner":
            return key, value
    return None, {}


def custom_attribute_names(doc):
    """The attributes in ``doc`` that Herd does not declare, spelled as sent.

    Top-level ones by name (``easyllamaRole``), extension ones prefixed by
    ``extension:``, ``enterprise:`` or, for any other URN, the URN itself
    (``extension:costCode``). The spelling lets a filter in any case find the
    stored key (JSON keys are case-sensitive, SCIM names are not).
    """
    names = set()
    for key, value in doc.items():
        lower = key.lower()
        if not lower.startswith("urn:"):
            if lower not in _DECLARED_TOP:
                names.add(key)
            continue
        if not isinstance(value, dict):
            continue
        kind = extension_kind(key)
        declared = {"enterprise": ENTERPRISE_BY_LOWER, "learner": LEARNER_BY_LOWER}.get(kind, {})
        prefix = {"enterprise": "enterprise", "learner": "extension"}.get(kind, key)
        names.update(f"{prefix}:{sub}" for sub in value if sub.lower() not in declared)
    return names


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


def apply_document(learner, doc, mapping=None):
    """Store ``doc`` on ``learner`` and refresh every column extracted from it.

    Smart Assign's inputs (state, country, location, role, training tags,
    department) are read through the company's attribute ``mapping``
    (``models/attribute_mapping.py``; None means the defaults).

    ``doc`` is stored as given: an ``active`` that a PATCH removed stays absent from
    the document (and from responses); the learner then counts as active, Herd's
    meaning of an unassigned ``active`` (RFC 7643 §4.1.1 leaves it to the provider).
    """
    doc = copy_document(doc)
    learner.resource = doc
    learner.user_name = doc["userName"]
    learner.user_name_lower = doc["userName"].lower()
    learner.user_name_key = name_key(doc["userName"])
    ext = doc.get("externalId")
    learner.external_id_lower = ext.lower() if isinstance(ext, str) else None
    email = work_email(doc)
    learner.email_lower = email.lower() if email else None
    learner.display_name = doc.get("displayName")
    name = doc.get("name") or {}
    learner.given_name = name.get("givenName")
    learner.family_name = name.get("familyName")
    learner.active = bool(doc.get("active", True))
    title = doc.get("title")
    learner.title = title[:300] if isinstance(title, str) and title else None
    apply_to(learner, mapping)
    learner.updated_at = utcnow()


def timestamp(value):
    """UTC ISO-8601 with a Z, as SCIM's dateTime wants (RFC 7643 §2.3.5)."""
    # isoformat cuts the microseconds to milliseconds (it does not round them up).
    return value.isoformat(timespec="milliseconds") + "Z"


def user_location(base_url, company_id, learner_id):
    """The URL of a learner's SCIM resource."""
    return f"{base_url}/scim/v2/{company_id}/{USER_LOCATION}/{learner_id}"


def to_scim(learner, base_url, groups=None):
    """The full SCIM User for a learner row (RFC 7643 §4.1).

    The body shares the stored document's nested values (no deep copy per response):
    nothing edits a body in place (``projection.project`` copies before it drops).
    """
    doc = dict(learner.resource)
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
