"""No tenant can make its documents, its list of attribute names or its events unbounded: a User
holds at most MAX_LEARNER_CUSTOM_ATTRIBUTES custom attributes and MAX_USER_DOCUMENT_BYTES bytes,
a company at most MAX_COMPANY_CUSTOM_ATTRIBUTES custom attribute names; over a limit the write is
a 400 invalidValue naming it and nothing is stored. /Schemas publishes the limits. An event (and
its audit entry) stores a bounded diff. Authentication never reads the company's list of names."""

import json

import pytest
from sqlalchemy import func, select, update

from models import AuditEvent, Company, Learner, ProvisioningEvent
from service.edge import input_limits as limits
from service.scim.users import custom_names
from service.scim.users.schema import clean_user
from service.scim.writes import MAX_CHANGE_VALUE_CHARS, MAX_CHANGED_PATHS, OMITTED
from tests.helpers import app_statements, run_events

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PER_LEARNER = limits.MAX_LEARNER_CUSTOM_ATTRIBUTES
PER_COMPANY = limits.MAX_COMPANY_CUSTOM_ATTRIBUTES


def user(name="kit@acme.example", custom=0, prefix="attr", **extra):
    """A User body with ``custom`` undeclared top-level attributes ``<prefix>0``, ``<prefix>1``..."""
    body = {"schemas": [CORE], "userName": name, "active": True, **extra}
    body.update({f"{prefix}{i}": f"value {i}" for i in range(custom)})
    return body


def counts(sessions):
    """(learners, events, company custom names) as stored."""
    with sessions() as s:
        names = s.scalar(select(Company.custom_attributes)) or []
        return (
            s.scalar(select(func.count()).select_from(Learner)),
            s.scalar(select(func.count()).select_from(ProvisioningEvent)),
            len(names),
        )


def refused(resp, words):
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    err = resp.get_json()
    assert err["scimType"] == "invalidValue"
    assert words in err["detail"], err["detail"]


# -- custom attributes per learner ------------------------------------------------------------


def test_a_user_at_the_custom_attribute_limit_is_stored_one_more_is_refused(tenant, sessions):
    assert tenant.post("Users", json=user(custom=PER_LEARNER)).status_code == 201
    before = counts(sessions)
    resp = tenant.post("Users", json=user("al@acme.example", custom=PER_LEARNER + 1))
    refused(resp, f"the limit is {PER_LEARNER} per user")
    assert counts(sessions) == before


def test_extension_custom_attributes_count_too(tenant, sessions):
    urn = "urn:example:acme:hr:1.0:User"
    body = user(custom=PER_LEARNER - 10, **{urn: {f"x{i}": i for i in range(11)}})
    refused(tenant.post("Users", json=body), f"{PER_LEARNER + 1} custom attributes")
    assert counts(sessions) == (0, 0, 0)


def test_a_patch_past_the_custom_attribute_limit_changes_nothing(tenant, sessions):
    created = tenant.post("Users", json=user(custom=PER_LEARNER)).get_json()
    before = counts(sessions)
    op = {"op": "add", "value": {"oneMore": "x"}}
    resp = tenant.patch(f"Users/{created['id']}", json={"schemas": [PATCH_OP], "Operations": [op]})
    refused(resp, f"the limit is {PER_LEARNER} per user")
    assert counts(sessions) == before
    assert "oneMore" not in tenant.get(f"Users/{created['id']}").get_json()


# -- distinct names per company --------------------------------------------------------------


def test_a_company_takes_names_up_to_its_limit_and_refuses_a_new_one_past_it(tenant, sessions):
    per_user = PER_LEARNER
    for n in range(PER_COMPANY // per_user):
        resp = tenant.post("Users", json=user(f"u{n}@acme.example", custom=per_user, prefix=f"c{n}x"))
        assert resp.status_code == 201, resp.get_data(as_text=True)
    assert counts(sessions)[2] == PER_COMPANY
    before = counts(sessions)
    resp = tenant.post("Users", json=user("late@acme.example", brandNew="x"))
    refused(resp, f"the limit is {PER_COMPANY} distinct custom attribute names per company")
    assert counts(sessions) == before
    # Names the company already has are still welcome.
    resp = tenant.post("Users", json=user("known@acme.example", custom=3, prefix="c0x"))
    assert resp.status_code == 201, resp.get_data(as_text=True)


# -- the size of one document ----------------------------------------------------------------


def _padded(size, name="kit@acme.example"):
    """A User body whose stored document is exactly ``size`` bytes."""
    body = user(name, bio="b")
    missing = size - limits.document_bytes(clean_user(body)[0])
    body["bio"] = "b" * (1 + missing)
    return body


def test_a_document_at_the_size_limit_is_stored_one_byte_more_is_refused(tenant, sessions):
    at_limit = _padded(limits.MAX_USER_DOCUMENT_BYTES)
    created = tenant.post("Users", json=at_limit)
    assert created.status_code == 201, created.get_data(as_text=True)
    with sessions() as s:
        assert limits.document_bytes(s.scalars(select(Learner.resource)).one()) == limits.MAX_USER_DOCUMENT_BYTES
    before = counts(sessions)
    over = _padded(limits.MAX_USER_DOCUMENT_BYTES + 1, "al@acme.example")
    refused(tenant.post("Users", json=over), f"the limit is {limits.MAX_USER_DOCUMENT_BYTES} bytes")
    # A PATCH that grows the stored document past the limit is refused as well.
    op = {"op": "replace", "path": "bio", "value": at_limit["bio"] + "b"}
    resp = tenant.patch(f"Users/{created.get_json()['id']}", json={"schemas": [PATCH_OP], "Operations": [op]})
    refused(resp, f"the limit is {limits.MAX_USER_DOCUMENT_BYTES} bytes")
    assert counts(sessions) == before


# -- /Schemas --------------------------------------------------------------------------------


def test_schemas_name_the_limits(tenant):
    resp = tenant.get(f"Schemas/{CORE}")
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"] and doc["attributes"]
    for figure in (PER_LEARNER, PER_COMPANY, limits.MAX_USER_DOCUMENT_BYTES):
        assert str(figure) in doc["description"], doc["description"]
    listed = next(d for d in tenant.get("Schemas").get_json()["Resources"] if d["id"] == CORE)
    assert listed["description"] == doc["description"]


# -- events and audit entries ----------------------------------------------------------------


def test_a_huge_put_stores_a_bounded_diff_in_its_event_and_audit_entry(tenant, sessions):
    created = tenant.post("Users", json=user(custom=PER_LEARNER)).get_json()
    # Every custom attribute changed, one of them to 20,000 characters: a document near its size limit.
    replaced = user(custom=0, **{f"attr{i}": f"{'y' * 200}{i}" for i in range(PER_LEARNER)})
    replaced["attr0"] = "z" * 20_000
    resp = tenant.put(f"Users/{created['id']}", json=replaced)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    run_events(sessions)
    with sessions() as s:
        event = s.scalars(select(ProvisioningEvent).where(ProvisioningEvent.action == "replace")).one()
        audit = s.scalars(select(AuditEvent).where(AuditEvent.event_id == event.id)).one()
        stored = [event.changes, audit.changes]
    for changes in stored:
        assert changes[OMITTED] == {"paths": PER_LEARNER - MAX_CHANGED_PATHS}
        assert len(changes) == MAX_CHANGED_PATHS + 1
        assert changes["attr0"] == {"before": "value 0", "after": "z" * MAX_CHANGE_VALUE_CHARS + "…"}
        assert changes["attr1"] == {"before": "value 1", "after": "y" * 200 + "1"}
        assert len(json.dumps(changes)) <= MAX_CHANGED_PATHS * 2 * (MAX_CHANGE_VALUE_CHARS + 64)


def test_a_small_change_is_stored_whole(tenant, sessions):
    created = tenant.post("Users", json=user(displayName="Kit")).get_json()
    op = {"op": "replace", "path": "displayName", "value": "Kit Doe"}
    tenant.patch(f"Users/{created['id']}", json={"schemas": [PATCH_OP], "Operations": [op]})
    with sessions() as s:
        event = s.scalars(select(ProvisioningEvent).where(ProvisioningEvent.action == "update")).one()
    assert event.changes == {"displayName": {"before": "Kit", "after": "Kit Doe"}}


# -- authentication does not read the names --------------------------------------------------


def test_authentication_does_not_read_the_company_custom_attribute_names(app, tenant, sessions):
    created = tenant.post("Users", json=user(custom=3)).get_json()
    with app_statements(app, normalize=True) as statements:
        assert tenant.get(f"Users/{created['id']}").status_code == 200
        assert tenant.get("ServiceProviderConfig").status_code == 200
        assert tenant.get("Users?filter=" + 'userName eq "kit@acme.example"').status_code == 200
    assert statements and not [s for s in statements if "custom_attributes" in s], statements


@pytest.mark.parametrize("fresh_process", [False, True])
def test_a_filter_on_a_custom_attribute_finds_names_added_elsewhere(tenant, sessions, fresh_process):
    tenant.post("Users", json=user(custom=1))
    assert tenant.get('Users?filter=attr0 eq "value 0"').get_json()["totalResults"] == 1
    # Another process recorded a name this one never saw.
    with sessions() as s:
        s.execute(update(Company).values(custom_attributes=["attr0", "hireDate"]))
        s.commit()
    if fresh_process:
        custom_names._known.clear()
    resp = tenant.get('Users?filter=hireDate eq "2024"')
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["totalResults"] == 0
    assert tenant.get('Users?filter=neverSent eq "x"').status_code == 400
