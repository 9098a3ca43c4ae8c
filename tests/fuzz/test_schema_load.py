"""The User schemas' fast load (service/scim/schema_load.py) stores what marshmallow stores.

Bodies shaped like an IdP's (declared names in any case, unknown names, every JSON value
type, nulls and empty values at every level): the document, its key order and every
refusal's message are the same with the fast load as through marshmallow alone.
"""

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from service.scim import schema_load
from service.scim.errors import ScimError
from service.scim.users import schema as user_schema
from service.scim.users.attributes import ENTERPRISE_ATTRS, LEARNER_ATTRS, USER_ATTRS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SCHEMAS = {
    "user": (user_schema.UserSchema, USER_ATTRS),
    "enterprise": (user_schema.EnterpriseSchema, ENTERPRISE_ATTRS),
    "learner": (user_schema.LearnerSchema, LEARNER_ATTRS),
}
_scalars = st.one_of(
    st.none(),
    st.just(""),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["True", "false", "yes", "x", "0"]),
    st.text(max_size=8),
)


def _names(attrs):
    names = [a.name for a in attrs] + ["schemas", "meta", "extra", "Extra"]
    return st.sampled_from(names).flatmap(
        lambda n: st.sampled_from([n, n.lower(), n.upper()]) if n else st.just(n)
    ) | st.text(max_size=6)


def _values(attrs, depth):
    if depth == 0:
        return _scalars
    inner = _objects(tuple(s for a in attrs for s in a.sub) or attrs, depth - 1)
    return st.one_of(
        _scalars,
        inner,
        st.lists(st.one_of(inner, _scalars), max_size=3),
        st.just([]),
        st.just({}),
    )


def _objects(attrs, depth=2):
    return st.dictionaries(_names(attrs), _values(attrs, depth), max_size=6)


def _outcome(schema, data, fast):
    if fast:
        loaded = schema_load.load(schema, data)
        if loaded is not schema_load.UNSURE:
            return "loaded", json.dumps(loaded)
    try:
        return "loaded", json.dumps(schema.load(data))
    except ValidationError as err:
        return "refused", json.dumps(err.messages, default=str)


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
@given(data=st.data())
def test_the_fast_load_gives_what_marshmallow_gives(kind, data):
    schema, attrs = SCHEMAS[kind]
    body = data.draw(_objects(attrs))
    assert _outcome(schema, body, fast=True) == _outcome(schema, body, fast=False)


def _clean(body):
    try:
        doc, urn = user_schema.clean_user(body)
    except ScimError as err:
        return "refused", err.status, err.scim_type, err.detail
    return "stored", json.dumps(doc), urn


@given(
    core=_objects(USER_ATTRS),
    enterprise=_objects(ENTERPRISE_ATTRS),
    learner=_objects(LEARNER_ATTRS),
)
def test_a_user_body_is_stored_or_refused_as_before(core, enterprise, learner, monkeypatch):
    body = {
        "userName": "kim@acme.example",
        **core,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": enterprise,
        "urn:ietf:params:scim:schemas:extension:Acme:2.0:User": learner,
    }
    fast = _clean(body)
    with monkeypatch.context() as m:
        m.setattr(schema_load, "load", lambda schema, data: schema_load.UNSURE)
        assert _clean(body) == fast


def test_entra_and_okta_bodies_take_the_fast_load():
    """The IdPs' usual bodies never reach marshmallow's load (the CPU the fast load saves)."""
    bodies = [json.loads((FIXTURES / "entra" / "create_user.json").read_text())]
    bodies += [json.loads(p.read_text()) for p in sorted((FIXTURES / "okta").glob("*user*.json"))][:3]
    for body in bodies:
        for schema, _ in SCHEMAS.values():
            if schema is user_schema.UserSchema:
                part = {k: v for k, v in body.items() if not k.lower().startswith("urn:") and k != "externalId"}
            else:
                part = next((v for k, v in body.items() if k.lower().startswith("urn:") and isinstance(v, dict)), {})
            loaded = schema_load.load(schema, part)
            assert loaded is not schema_load.UNSURE, part
            assert json.dumps(loaded) == json.dumps(schema.load(part))
