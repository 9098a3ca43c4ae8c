"""What Herd keeps of a SCIM Group (RFC 7643 §4.2), declared once, and how a body is cleaned.

A group is ``displayName`` (unique per company, case-insensitively), an
optional ``externalId`` and its ``members``. Other attributes are ignored,
as for Users; ``schemas`` is not checked, so Entra's extra Microsoft URI
(``http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group``)
is harmless. Pure module: no Flask, no database.
"""

from service.edge import input_limits
from service.scim.errors import InvalidSyntax, InvalidValue
from service.scim.patch_ops import MEMBERS, PatchSchema
from service.scim.paths import CORE_GROUP_URN
from service.scim.users.attributes import Attr

GROUP_ATTRS = (
    Attr(
        "displayName",
        required=True,
        uniqueness="server",
        description="The group's name; unique per company, compared case-insensitively.",
    ),
    Attr(
        "members",
        "complex",
        multi=True,
        description="Learners in the group. Ids that are not learners of this company are ignored.",
        sub=(
            Attr("value", mutability="immutable", description="The learner's id."),
            Attr("$ref", "reference", mutability="immutable", reference_types=("User",)),
            Attr("type", mutability="immutable", canonical=("User",)),
        ),
    ),
)

PATCH_SCHEMA = PatchSchema(
    canonical={"displayname": "displayName", "externalid": "externalId", MEMBERS: MEMBERS},
    multi_valued=frozenset({MEMBERS}),
    complex=frozenset(),
    read_only=frozenset({"id", "meta"}),
    core_urns=frozenset({CORE_GROUP_URN.lower()}),
    sub_canonical={"value": "value", "display": "display", "type": "type", "$ref": "$ref"},
)


def _text(name, value, required):
    """A string attribute; numbers become their text (HR systems send both), blank is absent."""
    if value is None or value == "":
        if required:
            raise InvalidValue(f'\'{name}\' is required: send the group\'s name, e.g. "displayName": "Managers".')
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidValue(f"Invalid attribute value: '{name}' must be a string.")
    text = value if isinstance(value, str) else str(value)
    if required and not text.strip():
        raise InvalidValue(f"'{name}' must not be blank.")
    return text


def clean_attributes(doc):
    """``{"displayName", "externalId"}`` of a Group body or patched document, validated.

    Keys match case-insensitively; ``externalId`` is left out when absent.
    """
    if not isinstance(doc, dict):
        raise InvalidSyntax("The Group must be a JSON object.")
    lowered = {}
    for key, value in doc.items():
        if isinstance(key, str):
            name = key.lower()
            # The core URN may qualify a name: "urn:...:core:2.0:Group:displayName".
            if name.startswith(CORE_GROUP_URN.lower() + ":"):
                name = name[len(CORE_GROUP_URN) + 1 :]
            lowered[name] = value
    out = {"displayName": _text("displayName", lowered.get("displayname"), required=True)}
    external_id = _text("externalId", lowered.get("externalid"), required=False)
    if external_id is not None:
        out["externalId"] = external_id
    input_limits.check_group(out)
    return out


def member_ids(body):
    """The learner ids of a Group body's ``members`` (POST, PUT), in order, without duplicates;
    None when the body has no ``members``."""
    value = next((v for k, v in body.items() if isinstance(k, str) and k.lower() == MEMBERS), None)
    if value is None:
        return None
    if not isinstance(value, list):
        value = [value]
    ids, seen = [], set()
    for item in value:
        member_id = None
        if isinstance(item, dict):
            member_id = next((v for k, v in item.items() if isinstance(k, str) and k.lower() == "value"), None)
        if not isinstance(member_id, str) or not member_id.strip():
            raise InvalidValue(
                "Invalid attribute value: each of 'members' must be an object with the learner's id, "
                'such as {"value": "<id>"}.'
            )
        if member_id not in seen:
            seen.add(member_id)
            ids.append(member_id)
    return ids
