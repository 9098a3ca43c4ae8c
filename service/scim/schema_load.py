"""marshmallow's ``Schema.load`` of a valid SCIM body without marshmallow's machinery.

A User write loads three schemas (``users/schema.py``), and on the write path
marshmallow's own bookkeeping (error stores, processor lookups, a getter closure per
field, nested ``load`` calls) cost more CPU than the values' checks. ``load`` runs the
same steps on the same objects: the schema's own ``pre_load`` and ``post_load`` hooks and
each field's own ``_deserialize``, nested schemas and lists of them alike, in the schema's
field order, unknown keys kept as marshmallow keeps them (``INCLUDE``) or dropped.

It answers only where the outcome is certain: any value a field refuses, and any schema
or field using something it does not replay (validators, other hooks, field-level
processors, ``allow_none``, other field kinds), returns ``UNSURE`` and the caller loads
through marshmallow, so every error message comes from marshmallow as before.
"""

from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields

UNSURE = object()  # "ask marshmallow": an invalid value, or a schema this module does not replay
# The hooks replayed, by kind: the schema method marshmallow registered (one object at a time).
_HOOKS = {"pre_load": "_canonical_keys", "post_load": "_drop_empty"}
_SIMPLE, _NESTED, _LIST = 0, 1, 2


def _plain(field):
    """Whether marshmallow's ``Field.deserialize`` of a present, non-null value is just the
    field's ``_deserialize``."""
    return (
        not field.validators
        and not field.allow_none
        and not field.pre_load
        and not field.post_load
        and type(field).deserialize is fields.Field.deserialize
    )


def _nested_schema(field):
    """The schema of a ``Nested`` field loaded as marshmallow would (one object, whole), else None."""
    if (
        type(field) is not fields.Nested
        or not _plain(field)
        or field.many
        or field.only is not None
        or field.exclude
        or field.unknown is not None
    ):
        return None
    schema = field.schema
    return schema if _plan(schema) is not None else None


def _field_plan(field):
    if type(field) is fields.List:
        if not _plain(field):
            return None
        inner = _nested_schema(field.inner)
        return None if inner is None else (_LIST, inner)
    if isinstance(field, fields.Nested):
        schema = _nested_schema(field)
        return None if schema is None else (_NESTED, schema)
    if isinstance(field, (fields.List, fields.Tuple, fields.Dict)) or not _plain(field):
        return None
    return (_SIMPLE, field)


def _build(schema):
    hooks = {
        kind: [(name, many, bool(kw.get("pass_original"))) for name, many, kw in entries]
        for kind, entries in schema._hooks.items()
        if entries
    }
    if set(hooks) != set(_HOOKS) or any(hooks[kind] != [(name, False, False)] for kind, name in _HOOKS.items()):
        return None
    if schema.many or schema.partial or schema.unknown not in (EXCLUDE, INCLUDE):
        return None
    plan = []
    for name, field in schema.load_fields.items():
        if field.data_key is not None or field.attribute is not None or field.required or "." in name:
            return None
        step = _field_plan(field)
        if step is None:
            return None
        plan.append((name, *step))
    return tuple(plan), frozenset(schema.load_fields) if schema.unknown == INCLUDE else None


def _plan(schema):
    """``(steps, declared names if unknown keys are kept)`` for ``schema``, or None when it
    uses anything ``load`` does not replay; worked out once per schema instance."""
    cached = schema.__dict__.get("_herd_load_plan", UNSURE)
    if cached is UNSURE:
        cached = schema.__dict__["_herd_load_plan"] = _build(schema)
    return cached


def load(schema: Schema, data):
    """``schema.load(data)``'s result, or ``UNSURE`` (then call ``schema.load`` for the
    result or the error)."""
    plan = _plan(schema)
    if plan is None or not isinstance(data, dict):
        return UNSURE
    steps, declared = plan
    try:
        data = getattr(schema, _HOOKS["pre_load"])(data)
        out = {}
        for name, kind, what in steps:
            if name not in data:
                continue
            value = data[name]
            if kind == _SIMPLE:
                value = what._deserialize(value, name, data)
            elif kind == _NESTED:
                value = load(what, value)
            else:
                if not isinstance(value, list):
                    return UNSURE
                value = [load(what, item) for item in value]
                if any(item is UNSURE for item in value):
                    return UNSURE
            if value is UNSURE:
                return UNSURE
            out[name] = value
        if declared is not None:
            # marshmallow's own expression, so unknown keys come in the order it gives them.
            for key in set(data) - declared:
                out[key] = data[key]
        return getattr(schema, _HOOKS["post_load"])(out)
    except ValidationError:
        return UNSURE
