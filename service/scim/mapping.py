"""Learner rows <-> SCIM User documents: extracted columns, responses and projection."""

import copy

from models import utcnow
from models.normalize import normalize_region, parse_tags
from service.scim.attributes import CORE_USER, ENTERPRISE, extension_kind

USER_LOCATION = "Users"


def _ci(d, name):
    """Case-insensitive key lookup in a dict (stored keys are canonical, URNs as sent)."""
    if not isinstance(d, dict):
        return None
    for key, value in d.items():
        if key.lower() == name.lower():
            return value
    return None


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
    state, country = _ci(extension, "state"), _ci(extension, "country")
    learner.region, learner.country = normalize_region(state, country)
    learner.location = _ci(extension, "location") or _ci(enterprise, "location")
    learner.role = _ci(extension, "learnerRole")
    learner.training_tags = parse_tags(_ci(extension, "training_tags"))
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
        "version": f'W/"{learner.version}"',
    }
    return body


ALWAYS = {"id", "schemas"}


def project(resource, attributes=(), excluded=()):
    """Apply ``attributes`` / ``excludedAttributes`` (RFC 7644 §3.4.2.5); id and schemas always stay."""
    if not attributes and not excluded:
        return resource
    if attributes:
        wanted = [_split(a) for a in attributes]
        out = {}
        for key, value in resource.items():
            if key in ALWAYS:
                out[key] = value
                continue
            picked = _pick(key, value, wanted)
            if picked is not None:
                out[key] = picked
        return out
    out = copy.deepcopy(resource)
    for urn, attr, sub in (_split(a) for a in excluded):
        _drop(out, urn, attr, sub)
    return out


def _split(path):
    """'urn:...:User:attr.sub' / 'attr.sub' / 'urn:...:User' -> (urn, attr, sub), lower-cased."""
    path = path.strip()
    lower = path.lower()
    urn = None
    if lower.startswith("urn:"):
        if extension_kind(path) or lower == CORE_USER.lower():
            return lower, None, None
        urn, _, rest = path.rpartition(":")
        urn = urn.lower()
        if urn == CORE_USER.lower():
            urn = None
        lower = rest.lower()
    attr, _, sub = lower.partition(".")
    return urn, attr, sub or None


def _pick(key, value, wanted):
    lkey = key.lower()
    if lkey.startswith("urn:"):
        if any(u == lkey and a is None for u, a, _ in wanted):
            return value
        subs = {a: s for u, a, s in wanted if u == lkey and a}
        if not isinstance(value, dict) or not subs:
            return None
        picked = {k: v for k, v in value.items() if k.lower() in subs}
        return picked or None
    matches = [s for u, a, s in wanted if u is None and a == lkey]
    if not matches:
        return None
    if None in matches or not isinstance(value, (dict, list)):
        return value
    subs = set(matches)
    if isinstance(value, list):
        items = [{k: v for k, v in item.items() if k.lower() in subs} for item in value if isinstance(item, dict)]
        return [i for i in items if i] or None
    return {k: v for k, v in value.items() if k.lower() in subs} or None


def _drop(resource, urn, attr, sub):
    if urn is not None and attr is None:
        for key in [k for k in resource if k.lower() == urn]:
            del resource[key]
        return
    target = resource
    if urn is not None:
        target = next((v for k, v in resource.items() if k.lower() == urn), None)
        if not isinstance(target, dict):
            return
    for key in [k for k in target if k.lower() == attr and k not in ALWAYS]:
        if sub is None:
            del target[key]
        elif isinstance(target[key], dict):
            target[key] = {k: v for k, v in target[key].items() if k.lower() != sub}
        elif isinstance(target[key], list):
            target[key] = [{k: v for k, v in i.items() if k.lower() != sub} for i in target[key] if isinstance(i, dict)]
