"""Clean an incoming SCIM User into the document Herd stores (marshmallow, RFC 7643).

Attribute names match case-insensitively and are stored under their canonical
spelling; extension attributes stay under the URN the IdP used; ``null`` values
are dropped; values are otherwise kept as sent. Attributes Herd does not declare
are kept too, as sent: Okta sends its custom attributes as top-level keys
(``"easyllamaRole": "supervisor"``) and reads them back, and any
``urn:...`` extension object is kept whole, so an IdP's read-back always matches
what it wrote. ``password`` (Okta's placeholder on every create) is accepted and
never stored; ``id``, ``meta``, ``groups`` and ``schemas`` are Herd's to write.
"""

from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, post_load, pre_load

from models.normalize import parse_bool
from service.edge import input_limits
from service.scim import schema_load
from service.scim.errors import InvalidSyntax, InvalidValue
from service.scim.patch_ops import PatchSchema
from service.scim.users.attributes import (
    ENTERPRISE,
    ENTERPRISE_ATTRS,
    ENTERPRISE_BY_LOWER,
    LEARNER_ATTRS,
    LEARNER_BY_LOWER,
    READ_ONLY,
    USER_ATTRS,
    USER_BY_LOWER,
    extension_kind,
)
from service.scim.users.mapping import custom_attribute_names


class ScimString(fields.Field):
    """A string; numbers are accepted and kept as their text (HR systems send both)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValidationError("must be a string")
        return value if isinstance(value, str) else str(value)


class ScimBoolean(fields.Field):
    """A boolean; Entra's default dialect sends the strings "True"/"False"."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_bool(value)
        except ValueError:
            raise ValidationError('must be true or false (JSON booleans or the strings "True"/"False")') from None


class Manager(fields.Field):
    """enterprise ``manager``: ``"id"``, ``{"value": "id"}`` or ``[{"value": "id"}]``; empty clears it."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, dict):
            value = {k.lower(): v for k, v in value.items()}.get("value")
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            raise ValidationError("must be the manager's id")
        return {"value": value}


def _empty(value):
    """``null`` and ``""`` mean "unassigned" (RFC 7643 §2.5); so do an empty list or object."""
    return value is None or value == "" or value == [] or value == {}


def _without_empty(value):
    """``value`` with every unassigned value removed, at any depth (``_empty``)."""
    if isinstance(value, dict):
        cleaned = {key: _without_empty(item) for key, item in value.items()}
        return {key: item for key, item in cleaned.items() if not _empty(item)}
    if isinstance(value, list):
        return [item for item in (_without_empty(v) for v in value) if not _empty(item)]
    return value


class CanonicalSchema(Schema):
    """Matches keys case-insensitively to declared fields and drops nulls and empty values.

    A PUT or PATCH that sets an attribute to ``""`` or ``null`` removes it, so reads omit it
    (``userName``, which is required, is then refused by ``clean_user``).
    """

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _canonical_keys(self, data, **kwargs):
        if not isinstance(data, dict):
            raise ValidationError("must be a JSON object")
        names = self.__dict__.get("_names_by_lower")
        if names is None:
            # Once per instance (the instances are shared and their fields never change).
            names = self.__dict__["_names_by_lower"] = {name.lower(): name for name in self.fields}
        return {names.get(k.lower(), k): v for k, v in data.items() if not _empty(v)}

    @post_load
    def _drop_empty(self, data, **kwargs):
        # An attribute with no value is absent (RFC 7643 §2.5): never return "" or [].
        return {k: v for k, v in data.items() if not _empty(v)}


def _field_for(attr):
    if attr.name == "manager":
        return Manager()
    if attr.type == "boolean":
        return ScimBoolean()
    if attr.type != "complex":
        return ScimString()
    nested = _schema_for(attr.sub, f"{attr.name}Schema")
    if attr.multi:
        return fields.List(fields.Nested(nested))
    return fields.Nested(nested)


def _schema_for(attrs, name, base=CanonicalSchema):
    return base.from_dict({a.name: _field_for(a) for a in attrs if a.name not in READ_ONLY}, name=name)


class _ExtensionBase(CanonicalSchema):
    """The learner and enterprise extensions also keep attributes they do not know, as sent.

    ``schemas`` and ``meta`` are common attributes (RFC 7643 §3), never attributes of
    an extension: a client that sends the extension object with its own ``schemas``
    (as SCIM libraries do in PATCH values) gets them ignored, not stored.
    """

    class Meta:
        unknown = INCLUDE

    @pre_load
    def _canonical_keys(self, data, **kwargs):
        data = super()._canonical_keys(data, **kwargs)
        return {k: v for k, v in data.items() if k.lower() not in ("schemas", "meta")}


# One instance each, built at import: a marshmallow Schema copies every declared field (and,
# on first use, builds its nested schemas) when instantiated, which cost a third of a PATCH's
# CPU when done per call. Loading keeps no state on the instance, so they are shared.
UserSchema = _schema_for(USER_ATTRS, "UserSchema")()
EnterpriseSchema = _schema_for(ENTERPRISE_ATTRS, "EnterpriseSchema", base=_ExtensionBase)()
LearnerSchema = _schema_for(LEARNER_ATTRS, "LearnerSchema", base=_ExtensionBase)()


def _roles(value):
    """``roles`` values may arrive as JSON inside a string (Entra's app-role mapping)."""
    if isinstance(value, str):
        try:
            value = input_limits.loads(value)
        except ValueError:
            return [{"value": value}]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return value
    out = []
    for item in value:
        if isinstance(item, str):
            try:
                item = input_limits.loads(item)
            except ValueError:
                item = {"value": item}
            if not isinstance(item, dict):
                item = {"value": str(item)}
        out.append(item)
    return out


def _format_errors(messages, prefix=""):
    parts = []
    for key, value in messages.items():
        # marshmallow reports whole-object errors under "_schema": name the object itself.
        name = prefix.rstrip(".") if key == "_schema" else f"{prefix}{key}"
        if isinstance(value, dict):
            parts.extend(_format_errors(value, f"{name}."))
        else:
            parts.append(f"'{name}' {'; '.join(str(v) for v in value)}")
    return parts


def _load(schema, data, prefix=""):
    # A valid body is loaded without marshmallow's machinery (same hooks, same fields);
    # anything it refuses, with its message, is marshmallow's.
    loaded = schema_load.load(schema, data)
    if loaded is not schema_load.UNSURE:
        return loaded
    try:
        return schema.load(data)
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"value": err.messages}
        raise InvalidValue("Invalid attribute value: " + ", ".join(_format_errors(messages, prefix)) + ".") from None


# Never stored: the password is a write-only credential Herd has no use for, the
# rest are common or read-only attributes Herd writes itself (RFC 7643 §3.1).
_NOT_STORED = frozenset({"password", "id", "meta", "schemas", "groups"})


def _one_or_list(value):
    """``emails`` and the like sent as one object (a OneLogin template) count as a list of one."""
    return [value] if isinstance(value, dict) else value


_CORE_URNS = frozenset({"urn:ietf:params:scim:schemas:core:2.0:user", "urn:scim:schemas:core:1.0"})


def _core_flattened(body):
    """Core attributes some clients nest under the core schema URN are core attributes."""
    nested = [k for k, v in body.items() if k.lower() in _CORE_URNS and isinstance(v, dict)]
    if not nested:
        return body
    flat = {k: v for k, v in body.items() if k not in nested}
    for key in nested:
        for sub, value in body[key].items():
            flat.setdefault(sub, value)
    return flat


def clean_user(body):
    """Validate a User body; return ``(document, learner_extension_urn_or_None)``.

    The document has no id/meta/schemas/password; ``userName`` is required and non-empty.
    """
    if not isinstance(body, dict):
        raise InvalidSyntax("The User must be a JSON object.")
    core, extra, enterprise, learner, learner_urn = {}, {}, None, None, None
    for key, value in _core_flattened(body).items():
        lower = key.lower()
        kind = extension_kind(key) if lower.startswith("urn:") else None
        if kind == "enterprise":
            enterprise = value
        elif kind == "learner":
            learner, learner_urn = value, key
        elif value is None or lower in _NOT_STORED:
            continue
        elif lower == "roles":
            core[key] = _roles(value)
        elif lower == "externalid":
            core["externalId"] = value
        elif lower in USER_BY_LOWER:
            core[key] = _one_or_list(value) if USER_BY_LOWER[lower].multi else value
        else:
            # Not declared (an IdP's custom attribute, another extension): kept as sent.
            extra[key] = value
    external_id = core.pop("externalId", None)
    doc = _load(UserSchema, core)
    if external_id not in (None, ""):
        if not isinstance(external_id, (str, int)) or isinstance(external_id, bool):
            raise InvalidValue("Invalid attribute value: 'externalId' must be a string.")
        doc = {"externalId": str(external_id), **doc}
    if not isinstance(doc.get("userName"), str) or not doc["userName"].strip():
        raise InvalidValue("'userName' is required: send the user's unique sign-in name (UPN or email).")
    if enterprise is not None:
        cleaned = _load(EnterpriseSchema, enterprise, f"{ENTERPRISE}:")
        if cleaned:
            doc[ENTERPRISE] = cleaned
    if learner is not None:
        cleaned = _load(LearnerSchema, learner, f"{learner_urn}:")
        if cleaned:
            doc[learner_urn] = cleaned
    for key, value in extra.items():
        value = _without_empty(value)
        if not _empty(value):
            doc[key] = value
    # Values copied to columns fit them; the limits are published in /Schemas.
    input_limits.check_user(doc, ENTERPRISE, learner_urn)
    # The whole document as it would be stored: its custom attributes and its size.
    input_limits.check_user_document(doc, len(custom_attribute_names(doc)))
    return doc, learner_urn


# What PATCH (service.scim.patch) needs to know about the User schema.
PATCH_SCHEMA = PatchSchema(
    canonical={k: a.name for k, a in USER_BY_LOWER.items()} | {"externalid": "externalId"},
    multi_valued=frozenset(k for k, a in USER_BY_LOWER.items() if a.multi),
    complex=frozenset(
        k for k, a in {**USER_BY_LOWER, **ENTERPRISE_BY_LOWER}.items() if a.type == "complex" and not a.multi
    ),
    read_only=frozenset(READ_ONLY),
    core_urns=frozenset({"urn:ietf:params:scim:schemas:core:2.0:user"}),
    sub_canonical={
        s.name.lower(): s.name
        for a in (*USER_BY_LOWER.values(), *ENTERPRISE_BY_LOWER.values(), *LEARNER_BY_LOWER.values())
        for s in (a, *a.sub)
    },
    # A multi-valued attribute holds at most this many values (service.edge.input_limits).
    max_values=input_limits.MAX_MULTI_VALUES,
)
