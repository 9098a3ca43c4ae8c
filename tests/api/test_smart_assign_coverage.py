"""GET /api/v1/reports/smart_assign_coverage: the Smart Assign doctor over a company of 2,000
learners sent through SCIM in Entra's and Okta's shapes, with the usual first-sync mistakes."""

from sqlalchemy import select

from models import Company, Learner, value_aliases
from tests.doctor_fixture import CUSTOM, learners

GENERIC = "HP-US-EMP (the generic US course)"


def _send(tenant, sessions):
    """The whole first sync, as fast as the IdP sends it: the company's rate limit is lifted
    (``./herd companies rate-limit 7 --per-second 0 --per-minute 0``)."""
    with sessions() as s:
        company = s.get(Company, tenant.id)
        company.rate_limit_per_second = company.rate_limit_per_minute = 0
        s.commit()
    ids = {}
    for body in learners():
        resp = tenant.post("Users", json=body)
        assert resp.status_code == 201, resp.get_data(as_text=True)
        ids[body["userName"]] = resp.get_json()["id"]
    return ids


def _values(report):
    return {
        (v["input"], v["value"], v["source"]): (v["count"], [g["got"] for g in v["got_instead"]])
        for v in report["unrecognised_values"]
    }


def test_the_doctor_counts_every_unrecognised_value_and_proposes_each_idps_fix(api, tenant, sessions):
    _send(tenant, sessions)
    resp = api.get("reports/smart_assign_coverage")
    assert resp.status_code == 200
    report = resp.get_json()
    assert report["active_learners"] == 2000
    figures = {
        name: (f["resolved"], f["missing"], f["unrecognised"], f["share_resolved"])
        for name, f in report["inputs"].items()
    }
    assert figures == {
        "state": (1647, 312, 41, 0.8235),
        "country": (1950, 0, 50, 0.975),
        "role": (1895, 0, 105, 0.9475),
        "training_tags": (1960, 0, 40, 0.98),
    }
    assert report["inputs"]["state"]["missing_got_instead"] == [{"got": GENERIC, "count": 312}]
    assert _values(report) == {
        ("state", "Calif.", f"{CUSTOM}:state"): (41, [GENERIC]),
        ("country", "Untied States", f"{CUSTOM}:country"): (30, ["US from the state"]),
        ("country", "Amercia", "country"): (20, ["US from the state"]),
        ("role", "Mgr", f"{CUSTOM}:learnerRole"): (60, ["the non-supervisor version"]),
        ("role", "Team Lead", "easyllamaRole"): (45, ["the non-supervisor version"]),
        ("training_tags", "CYBR", f"{CUSTOM}:training_tags"): (25, ["nothing for this tag"]),
        ("training_tags", "SAFETY", "training_tags"): (15, ["nothing for this tag"]),
    }
    # Largest first: the admin starts with what helps most.
    assert [v["count"] for v in report["unrecognised_values"]] == [60, 45, 41, 30, 25, 20, 15]
    fixes = report["fixes"]
    assert fixes["state"] == {
        "entra": "Provisioning › Attribute mapping › Add new mapping: source attribute state, "
        f"target attribute {CUSTOM}:state",
        "okta": 'Provisioning › To App: map user.state to addresses[type eq "work"].region (Primary state)',
        "onelogin": 'SCIM JSON template: "addresses": [{"type": "work", "region": "{$user.state}"}]',
        "jumpcloud": 'Fill each user\'s work address State: sent as addresses[type eq "work"].region',
        "rippling": 'Supported attributes: add addresses[type eq "work"].region',
    }
    assert fixes["role"]["entra"] == (
        "Provisioning › Attribute mapping › Add new mapping: source attribute extension_<appId>_learnerRole, "
        f"target attribute {CUSTOM}:learnerRole"
    )
    assert fixes["role"]["okta"] == (
        "Profile Editor › Add attribute: external name easyllamaRole, external namespace "
        "urn:ietf:params:scim:schemas:core:2.0:User; map user.learnerRole to it"
    )
    assert (
        fixes["role"]["onelogin"] == f'SCIM JSON template: "{CUSTOM}": {{"learnerRole": "{{$parameters.learnerRole}}"}}'
    )
    assert set(fixes) == {"state", "country", "role", "training_tags"}

    # The fix for a missing state is the IdP's: once it sends one, and aliases map the
    # unrecognised values to known ones, Smart Assign reads every input of every learner.
    with sessions() as s:
        stateless = s.execute(
            select(Learner.id, Learner.user_name).where(Learner.company_id == tenant.id, Learner.region.is_(None))
        ).all()
    for learner_id, user_name in stateless:
        path = f"{CUSTOM}:state" if user_name.startswith("entra") else "state"
        patch = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": path, "value": "Illinois"}],
        }
        assert tenant.patch(f"Users/{learner_id}", json=patch).status_code == 200
    # Aliases are set from the doctor's page or the CLI (tests/dashboard, tests/cli).
    with sessions() as s:
        company = s.get(Company, tenant.id)
        for args in (
            ("state", "Calif.", "US-CA"),
            ("country", "Untied States", "US"),
            ("country", "Amercia", "US"),
            ("role", "Mgr", "supervisor"),
            ("role", "Team Lead", "supervisor"),
            ("training_tags", "CYBR", "CYBER"),
            ("training_tags", "SAFETY", "COC"),
        ):
            company.attribute_mapping = value_aliases.add(company.attribute_mapping, *args)
        s.commit()
    report = api.get("reports/smart_assign_coverage").get_json()
    assert {name: f["share_resolved"] for name, f in report["inputs"].items()} == dict.fromkeys(
        ("state", "country", "role", "training_tags"), 1.0
    )
    assert report["unrecognised_values"] == [] and report["fixes"] == {} and report["complete"] is True


def test_an_alias_applies_to_the_next_event(api, tenant, sessions):
    body = learners()[0]
    body[CUSTOM]["state"] = "Calif."
    learner_id = tenant.post("Users", json=body).get_json()["id"]
    with sessions() as s:
        assert s.get(Learner, learner_id).region is None
        company = s.get(Company, tenant.id)
        company.attribute_mapping = value_aliases.add(company.attribute_mapping, "state", "calif", "California")
        s.commit()
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Renamed"}],
    }
    assert tenant.patch(f"Users/{learner_id}", json=patch).status_code == 200
    with sessions() as s:
        assert s.get(Learner, learner_id).region == "US-CA"


def test_the_doctor_of_an_empty_company_is_complete_and_other_companies_are_not_counted(api, other_api, tenant):
    tenant.post("Users", json=learners()[1])  # Okta's shape, in company 7
    report = other_api.get("reports/smart_assign_coverage").get_json()
    assert report["active_learners"] == 0 and report["complete"] is True and report["unrecognised_values"] == []
