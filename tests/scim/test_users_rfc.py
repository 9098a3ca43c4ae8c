"""RFC 7643/7644 behaviours the compliance suite (tests/e2e) found, pinned on the Flask client."""

from models import Learner

CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _user(tenant, **extra):
    resp = tenant.post("Users", json={"userName": "kim@acme.example", **extra})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_a_user_created_without_active_is_active(tenant):
    user = _user(tenant)
    assert user["active"] is True
    assert tenant.get(f"Users/{user['id']}").get_json()["active"] is True


def test_put_without_active_makes_the_user_active_again(tenant):
    user = _user(tenant, active=False)
    resp = tenant.put(f"Users/{user['id']}", json={"userName": "kim@acme.example"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["active"] is True


def test_removed_active_is_absent_and_the_learner_counts_as_active(tenant, sessions):
    # RFC 7644 §3.5.2.2: the attribute is removed; docs/entra.md: never invent a value.
    user = _user(tenant, active=False)
    resp = tenant.patch(f"Users/{user['id']}", json={"Operations": [{"op": "remove", "path": "active"}]})
    assert resp.status_code == 200, resp.get_json()
    assert "active" not in resp.get_json()
    assert "active" not in tenant.get(f"Users/{user['id']}").get_json()
    with sessions() as s:
        assert s.get(Learner, user["id"]).active is True
    # Setting it again brings it back as sent.
    again = tenant.patch(f"Users/{user['id']}", json={"Operations": [{"op": "add", "path": "active", "value": False}]})
    assert again.get_json()["active"] is False


def test_extension_value_carrying_its_own_schemas_is_accepted_and_not_stored(tenant):
    # SCIM libraries serialize an extension object with "schemas"; it is not an extension attribute.
    user = _user(tenant)
    for op in ("add", "replace"):
        resp = tenant.patch(
            f"Users/{user['id']}",
            json={
                "Operations": [
                    {"op": op, "path": CUSTOM, "value": {"schemas": [CUSTOM], "learnerRole": op, "meta": {"x": 1}}},
                    {"op": op, "path": ENTERPRISE, "value": {"schemas": [ENTERPRISE], "department": op}},
                ]
            },
        )
        assert resp.status_code == 200, resp.get_json()
        got = tenant.get(f"Users/{user['id']}").get_json()
        assert got[CUSTOM] == {"learnerRole": op}
        assert got[ENTERPRISE] == {"department": op}
        assert resp.get_json()[CUSTOM] == got[CUSTOM]


def test_custom_extension_attributes_of_any_shape_are_kept_as_sent(tenant):
    # "Any attribute, kept": a multi-valued custom attribute reads back as it was written.
    user = _user(tenant)
    resp = tenant.patch(
        f"Users/{user['id']}", json={"Operations": [{"op": "add", "path": CUSTOM, "value": {"tags": ["a", "b"]}}]}
    )
    assert resp.status_code == 200, resp.get_json()
    assert tenant.get(f"Users/{user['id']}").get_json()[CUSTOM]["tags"] == ["a", "b"]
