"""GET /api/v1/trainings: the catalog Smart Assign assigns from."""

from models.catalog import DEFAULT_CATALOG


def test_the_catalog_lists_every_training_with_its_facts(api):
    resp = api.get("trainings")
    assert resp.status_code == 200
    data = resp.get_json()["data"]
    assert [t["code"] for t in data] == [t.code for t in DEFAULT_CATALOG]
    by_code = {t["code"]: t for t in data}
    assert by_code["HP-CA-SUP"] == {
        "code": "HP-CA-SUP",
        "title": "Harassment Prevention: California Supervisor",
        "family": "HP",
        "region": "CA",
        "audience": "supervisor",
        "cadence_months": 24,
        "due_days": None,  # the company's due period
    }
    assert by_code["DEI"]["cadence_months"] is None  # taken once
    assert by_code["CYBER"]["family"] == "CYBER"
