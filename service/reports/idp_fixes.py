"""The attribute mapping line an admin adds in their IdP so Smart Assign gets an input (pure).

The line names the attribute the company's Herd mapping reads (its first source an
IdP of that kind can send) and, for Entra, the learner extension URN the company's
Entra already sends (``companies.extension_urn``), so it can be pasted as written.
"""

from models.attribute_mapping import effective, parse_source

IDPS = ("entra", "okta", "onelogin", "jumpcloud", "rippling")
ENTRA_URN = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
WORK = 'addresses[type eq "work"]'

# What each IdP's user profile calls the value, to map from.
_ENTRA_SOURCE = {
    "state": "state",
    "country": "country",
    "role": "extension_<appId>_learnerRole",
    "training_tags": "extension_<appId>_training_tags",
}
_OKTA_SOURCE = {
    "state": "user.state",
    "country": "user.countryCode",
    "role": "user.learnerRole",
    "training_tags": "user.training_tags",
}
_ONELOGIN_SOURCE = {
    "state": "{$user.state}",
    "country": "{$user.country}",
    "role": "{$parameters.learnerRole}",
    "training_tags": "{$parameters.training_tags}",
}
_ADDRESS = {"state": "region", "country": "country"}
_DEFAULT_NAME = {"state": "state", "country": "country", "role": "learnerRole", "training_tags": "training_tags"}


def _name(mapping, name, kinds):
    """The attribute name of the first source of one of ``kinds`` the mapping reads for ``name``."""
    for source in effective(mapping)[name]:
        parsed = parse_source(source)
        if parsed[0] in kinds:
            return source.split(":", 1)[1] if parsed[0] == "extension" else source
    return None


def fixes(name: str, mapping=None, extension_urn: str | None = None) -> dict[str, str]:
    """``{idp: the mapping line to add}`` for one Smart Assign input (state, country, role, training_tags)."""
    ext = _name(mapping, name, {"extension"}) or _DEFAULT_NAME[name]
    top = _name(mapping, name, {"top"})
    urn = extension_urn or ENTRA_URN
    out = {
        "entra": f"Provisioning › Attribute mapping › Add new mapping: source attribute "
        f"{_ENTRA_SOURCE[name]}, target attribute {urn}:{ext}",
    }
    if name in _ADDRESS:
        sub = _ADDRESS[name]
        out["okta"] = f"Provisioning › To App: map {_OKTA_SOURCE[name]} to {WORK}.{sub} (Primary {name})"
        out["onelogin"] = f'SCIM JSON template: "addresses": [{{"type": "work", "{sub}": "{_ONELOGIN_SOURCE[name]}"}}]'
        out["jumpcloud"] = (
            f"Fill each user's work address {'State' if name == 'state' else 'Country'}: sent as {WORK}.{sub}"
        )
        out["rippling"] = f"Supported attributes: add {WORK}.{sub}"
        return out
    okta_name = top or ext
    out["okta"] = (
        f"Profile Editor › Add attribute: external name {okta_name}, external namespace "
        f"urn:ietf:params:scim:schemas:core:2.0:User; map {_OKTA_SOURCE[name]} to it"
    )
    out["onelogin"] = f'SCIM JSON template: "{urn}": {{"{ext}": "{_ONELOGIN_SOURCE[name]}"}}'
    out["jumpcloud"] = "JumpCloud sends no custom attributes: put these learners in a group and add a group rule"
    out["rippling"] = f"Supported attributes: add the custom attribute {ext}"
    return out
