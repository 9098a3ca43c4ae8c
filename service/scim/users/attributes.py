"""What Herd stores of a SCIM User, declared once (RFC 7643 §4.1, §4.3).

These definitions drive input cleaning, PATCH, filters and the ``/Schemas``
documents, so what Herd publishes is exactly what it keeps and returns.
"""

import re
from dataclasses import dataclass, field

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LEARNER_PLACEHOLDER = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
# Any admin-chosen extension name: urn:ietf:params:scim:schemas:extension:{Name}:2.0:User
EXTENSION_URN = re.compile(r"^urn:ietf:params:scim:schemas:extension:([^:]+):2\.0:User$", re.IGNORECASE)


@dataclass(frozen=True)
class Attr:
    """One attribute definition, in the vocabulary of RFC 7643 §7."""

    name: str
    type: str = "string"
    multi: bool = False
    sub: tuple = field(default_factory=tuple)
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    required: bool = False
    case_exact: bool = False
    description: str = ""
    canonical: tuple = field(default_factory=tuple)
    reference_types: tuple = ("external",)

    def to_schema(self):
        """The attribute as it appears in a ``/Schemas`` document."""
        doc = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi,
            "description": self.description or self.name,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.canonical:
            doc["canonicalValues"] = list(self.canonical)
        if self.type == "reference":
            doc["referenceTypes"] = list(self.reference_types)
        if self.sub:
            doc["subAttributes"] = [s.to_schema() for s in self.sub]
        return doc


def _s(name, **kw):
    return Attr(name, **kw)


def _multi(name, extra=(), types=("work", "home", "other")):
    """A multi-valued complex attribute of the emails/phoneNumbers shape."""
    return Attr(
        name,
        "complex",
        multi=True,
        sub=(
            _s("value"),
            _s("display"),
            _s("type", canonical=types),
            Attr("primary", "boolean"),
            *extra,
        ),
    )


USER_ATTRS = (
    _s("userName", required=True, uniqueness="server", description="Unique identifier, usually the UPN or email."),
    Attr(
        "name",
        "complex",
        sub=tuple(
            _s(n) for n in ("formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix")
        ),
    ),
    _s("displayName"),
    _s("nickName"),
    _s("title"),
    _s("userType"),
    _s("preferredLanguage"),
    _s("locale"),
    _s("timezone"),
    Attr(
        "active", "boolean", description="Administrative status. A learner whose active was removed counts as active."
    ),
    _s("mobilePhone", description="Mobile phone as a plain attribute (Entra's custom mapping)."),
    _multi("emails"),
    _multi("phoneNumbers", types=("work", "home", "mobile", "fax", "pager", "other")),
    Attr(
        "addresses",
        "complex",
        multi=True,
        sub=(
            *tuple(_s(n) for n in ("formatted", "streetAddress", "locality", "region", "postalCode", "country")),
            _s("type", canonical=("work", "home", "other")),
            Attr("primary", "boolean"),
        ),
    ),
    Attr("roles", "complex", multi=True, sub=(_s("value"), _s("display"), _s("type"), Attr("primary", "boolean"))),
    Attr(
        "groups",
        "complex",
        multi=True,
        mutability="readOnly",
        sub=(
            _s("value", mutability="readOnly"),
            Attr("$ref", "reference", mutability="readOnly", reference_types=("Group",)),
            _s("display", mutability="readOnly"),
            _s("type", mutability="readOnly", canonical=("direct",)),
        ),
        description="Groups the learner belongs to (read-only).",
    ),
)

ENTERPRISE_ATTRS = (
    _s("employeeNumber"),
    _s("costCenter"),
    _s("organization"),
    _s("division"),
    _s("department"),
    _s("location", description="Work location (accepted here too, as the setup guide allows)."),
    Attr("manager", "complex", sub=(_s("value"), _s("displayName", mutability="readOnly"))),
)

LEARNER_ATTRS = (
    _s("location", description="Work location; a city such as Chicago adds a local course."),
    _s("learnerRole", description="supervisor or non-supervisor."),
    _s("training_tags", description="Comma-separated training codes."),
    _s("state", description="State or province, as free text (California, CA)."),
    _s("country", description="Country, as free text (United States, USA, US)."),
    _s("department"),
)

# Common attributes (RFC 7643 §3.1): not in any schema's attribute list.
COMMON = ("id", "externalId", "meta", "schemas")
READ_ONLY = frozenset({"id", "meta", "groups"})


def by_lower(attrs):
    """Map lower-cased names to definitions, for case-insensitive matching."""
    return {a.name.lower(): a for a in attrs}


USER_BY_LOWER = by_lower(USER_ATTRS)
ENTERPRISE_BY_LOWER = by_lower(ENTERPRISE_ATTRS)
LEARNER_BY_LOWER = by_lower(LEARNER_ATTRS)


def extension_kind(urn):
    """'enterprise', 'learner' or None for a schema URN key in a request."""
    lower = urn.lower()
    if lower == ENTERPRISE.lower():
        return "enterprise"
    if EXTENSION_URN.match(urn):
        return "learner"
    return None


def schema_document(urn, name, description, attrs):
    """A ``/Schemas`` resource for one schema (RFC 7643 §7)."""
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": urn,
        "name": name,
        "description": description,
        "attributes": [a.to_schema() for a in attrs],
        "meta": {"resourceType": "Schema"},
    }
