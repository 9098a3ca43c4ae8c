"""Properties of the pure parts of the boundary: the limits module and PATCH."""

import json
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from models.normalize import name_key
from service.edge import input_limits
from service.scim.errors import ScimError
from service.scim.patch import apply_patch
from service.scim.users.schema import PATCH_SCHEMA, clean_user
from tests.fuzz import strategies as fs


@given(st.text())
def test_name_key_is_blind_to_normalization_and_case(text):
    for form in ("NFC", "NFD", "NFKC"):
        variant = unicodedata.normalize(form, text)
        if form != "NFKC":
            assert name_key(variant) == name_key(text)
    assert name_key(text.upper()) == name_key(name_key(text.upper()))
    assert name_key(name_key(text)) == name_key(text)


@given(fs.json_values(20))
def test_load_json_accepts_or_refuses_cleanly(value):
    raw = json.dumps(value).encode()
    try:
        loaded = input_limits.load_json(raw)
    except ScimError as err:
        assert err.status == 400 and err.detail
    else:
        assert loaded == value


@given(fs.user_bodies())
def test_a_cleaned_user_fits_its_columns(body):
    try:
        doc, urn = clean_user(body)
    except ScimError:
        return
    assert len(doc["userName"]) <= 300 and "\x00" not in doc["userName"]
    assert len(name_key(doc["userName"])) <= input_limits.MAX_KEY_CHARS
    for value in (doc.get("displayName"), doc.get("externalId")):
        assert value is None or (len(value) <= 300 and input_limits.bad_character(value, strict=True) is None)
    assert urn is None or len(urn) <= input_limits.EXTENSION_URN_MAX


@given(fs.patch_operations())
def test_patch_fails_only_with_scim_errors_and_never_touches_its_input(ops):
    resource = {"userName": "kim@acme.example", "emails": [{"value": "k@x", "type": "work"}]}
    snapshot = json.dumps(resource)
    try:
        apply_patch(resource, ops, PATCH_SCHEMA)
    except ScimError as err:
        assert err.status in (400, 409)
    assert json.dumps(resource) == snapshot
