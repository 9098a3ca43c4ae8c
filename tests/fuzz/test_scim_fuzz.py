"""Fuzzing the SCIM surface: no generated input gets a 5xx, and the next normal request is answered."""

from hypothesis import given, settings
from hypothesis import strategies as st

from service.edge import input_limits
from tests.fuzz import strategies as fs


def _answered(resp):
    """Not a server error; and a SCIM error body when it is an error."""
    assert resp.status_code < 500, resp.get_data(as_text=True)[:500]
    if resp.status_code >= 400:
        body = resp.get_json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert body["status"] == str(resp.status_code)
        assert body["detail"]


def _normal_request_works(tenant):
    resp = tenant.get('Users?filter=userName eq "nobody@acme.example"')
    assert resp.status_code == 200 and resp.get_json()["totalResults"] == 0


@given(body=fs.user_bodies())
def test_post_users(tenant, body):
    _answered(tenant.post("Users", json=body))
    _normal_request_works(tenant)


@given(body=fs.user_bodies())
def test_put_users(tenant, body):
    user = tenant.post("Users", json={"userName": "fuzz.put@acme.example"})
    user_id = user.get_json()["id"] if user.status_code == 201 else _existing(tenant, "fuzz.put@acme.example")
    _answered(tenant.put(f"Users/{user_id}", json=body))
    _normal_request_works(tenant)


def _existing(tenant, name):
    return tenant.get(f'Users?filter=userName eq "{name}"').get_json()["Resources"][0]["id"]


@given(ops=fs.patch_operations(), many=st.sampled_from([1, 1, 1, 300]))
def test_patch_users(tenant, ops, many):
    resp = tenant.post(
        "Users", json={"userName": "fuzz.patch@acme.example", "emails": [{"value": "a@x", "type": "work"}]}
    )
    user_id = resp.get_json()["id"] if resp.status_code == 201 else _existing(tenant, "fuzz.patch@acme.example")
    _answered(tenant.patch(f"Users/{user_id}", json={"Operations": ops * many}))
    _normal_request_works(tenant)


@given(ops=fs.patch_operations(), members=st.lists(fs.hostile_text(60), max_size=5))
def test_patch_and_post_groups(groups_on, ops, members):
    tenant = groups_on
    _answered(
        tenant.post(
            "Groups", json={"displayName": members[0] if members else "g", "members": [{"value": m} for m in members]}
        )
    )
    resp = tenant.post("Groups", json={"displayName": "Fuzz group"})
    group_id = resp.get_json()["id"] if resp.status_code == 201 else None
    if group_id is None:
        group_id = tenant.get('Groups?filter=displayName eq "Fuzz group"').get_json()["Resources"][0]["id"]
    _answered(tenant.patch(f"Groups/{group_id}", json={"Operations": ops}))
    _normal_request_works(tenant)


@given(
    filter_text=fs.filters(),
    start=fs.huge_int(),
    count=fs.huge_int(),
    attributes=fs.hostile_text(60),
    resource=st.sampled_from(["Users", "Groups"]),
)
def test_list_query_strings(groups_on, filter_text, start, count, attributes, resource):
    tenant = groups_on
    query = "&".join(
        f"{k}={fs.url_quote(v)}"
        for k, v in (("filter", filter_text), ("startIndex", start), ("count", count), ("attributes", attributes))
    )
    _answered(tenant.get(f"{resource}?{query}"))
    _normal_request_works(tenant)


@given(
    resource_id=fs.hostile_text(),
    resource=st.sampled_from(["Users", "Groups"]),
    method=st.sampled_from(["GET", "DELETE", "PATCH", "PUT"]),
)
def test_path_ids(groups_on, resource_id, resource, method):
    tenant = groups_on
    body = {"Operations": []} if method == "PATCH" else ({"userName": "x"} if method == "PUT" else None)
    _answered(tenant.call(method, f"{resource}/{fs.url_quote(resource_id)}", json=body))
    _normal_request_works(tenant)


@settings(max_examples=25)
@given(raw=fs.deep_json())
def test_deep_json_bodies(tenant, raw):
    resp = tenant.client.post(
        f"{tenant.base}/Users", data=raw, headers=tenant.headers(), content_type="application/scim+json"
    )
    _answered(resp)
    _normal_request_works(tenant)


@settings(max_examples=40)
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_raw_bodies(tenant, raw):
    resp = tenant.client.post(
        f"{tenant.base}/Users", data=raw, headers=tenant.headers(), content_type="application/scim+json"
    )
    _answered(resp)
    _normal_request_works(tenant)


def _bulk_operations():
    """/Bulk operations whose every field may be hostile: methods, paths (bulkId references
    included), bulkIds, versions and data (PATCH operations, user bodies, any JSON)."""
    path = st.one_of(
        st.sampled_from(["/Users", "/Groups", "/Users/bulkId:a", "/Groups/bulkId:b", "/Bulk", "/Users/.search"]),
        fs.hostile_text(80).map(lambda t: f"/Users/{t}"),
        fs.json_scalars(),
    )
    data = st.one_of(
        fs.user_bodies(),
        fs.patch_operations(5).map(lambda ops: {"Operations": ops}),
        st.fixed_dictionaries({"displayName": fs.hostile_text(40), "members": st.just([{"value": "bulkId:a"}])}),
        fs.json_values(),
    )
    return st.lists(
        st.fixed_dictionaries(
            {
                "method": st.one_of(
                    st.sampled_from(["POST", "PUT", "PATCH", "DELETE", "post", "GET"]), fs.json_scalars()
                ),
                "path": path,
                "bulkId": st.one_of(st.sampled_from(["a", "b", "c"]), fs.json_scalars()),
                "data": data,
            },
            optional={"version": st.one_of(st.just('W/"1"'), fs.json_scalars())},
        ),
        max_size=8,
    )


@given(operations=_bulk_operations(), fail_on_errors=st.one_of(st.none(), st.integers(-1, 3), fs.json_scalars()))
def test_bulk(groups_on, operations, fail_on_errors):
    body = {"Operations": operations}
    if fail_on_errors is not None:
        body["failOnErrors"] = fail_on_errors
    resp = groups_on.post("Bulk", json=body)
    _answered(resp)
    if resp.status_code == 200:
        for result in resp.get_json()["Operations"]:
            assert int(result["status"]) < 500, result
    _normal_request_works(groups_on)


def _learners(sessions):
    from sqlalchemy import func, select

    from models import Learner

    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Learner).where(Learner.deleted_at.is_(None)))


@settings(max_examples=30)
@given(drawn=fs.bounded_documents(), method=st.sampled_from(["POST", "PUT"]))
def test_documents_at_and_over_the_limits(tenant, sessions, drawn, method):
    """At a limit a document is stored; past one it is a 400 invalidValue naming the limit, and
    nothing is stored."""
    body, over = drawn
    name = body["userName"]
    if method == "POST":
        existing = tenant.get(f'Users?filter=userName eq "{name}"').get_json()["Resources"]
        if existing:
            tenant.delete(f"Users/{existing[0]['id']}")
        before = _learners(sessions)
        resp = tenant.post("Users", json=body)
    else:
        created = tenant.post("Users", json={"userName": name})
        target = created.get_json()["id"] if created.status_code == 201 else _existing(tenant, name)
        tenant.put(f"Users/{target}", json={"userName": name})
        before = _learners(sessions)
        resp = tenant.put(f"Users/{target}", json=body)
    _answered(resp)
    if over:
        assert resp.status_code == 400 and resp.get_json()["scimType"] == "invalidValue"
        assert "the limit is" in resp.get_json()["detail"]
        assert _learners(sessions) == before
        if method == "PUT":
            assert tenant.get(f"Users/{target}").get_json()["userName"] == name
            assert "bio" not in tenant.get(f"Users/{target}").get_json()
    else:
        assert resp.status_code == (201 if method == "POST" else 200), resp.get_data(as_text=True)[:300]
    _normal_request_works(tenant)


@settings(max_examples=20)
@given(room=fs.limit_offsets(), new=st.integers(1, 5))
def test_company_names_at_and_over_the_limit(tenant, sessions, room, new):
    """A company with ``room`` names left before its limit takes ``new`` more only if they fit."""
    from models import Company

    known = max(0, min(input_limits.MAX_COMPANY_CUSTOM_ATTRIBUTES, input_limits.MAX_COMPANY_CUSTOM_ATTRIBUTES - room))
    with sessions() as s:
        s.get(Company, tenant.id).custom_attributes = [f"k{i}" for i in range(known)]
        s.commit()
    name = f"n{known}-{new}@acme.example"
    existing = tenant.get(f'Users?filter=userName eq "{name}"').get_json()["Resources"]
    if existing:
        tenant.delete(f"Users/{existing[0]['id']}")
    resp = tenant.post("Users", json={"userName": name, **{f"new{i}": i for i in range(new)}})
    _answered(resp)
    with sessions() as s:
        stored = s.get(Company, tenant.id).custom_attributes
    if known + new > input_limits.MAX_COMPANY_CUSTOM_ATTRIBUTES:
        assert resp.status_code == 400 and "per company" in resp.get_json()["detail"]
        assert len(stored) == known
    else:
        assert resp.status_code == 201, resp.get_data(as_text=True)[:300]
        assert len(stored) == known + new
