"""The validation boundary on /api/v1: hostile query strings and bodies are a JSON 400, never a 500."""

import pytest

from service.edge import input_limits


def _error(resp, status=400):
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    return resp.get_json()["error"]


@pytest.mark.parametrize(
    "path, query",
    [
        ("learners", {"search": "a\x00b"}),
        ("learners", {"page": "1\x00"}),
        ("learner_trainings", {"learner_id": "a\x00b"}),
        ("audit_events", {"learner_id": "\x00"}),
        ("learners", {"search\x00": "x"}),
        ("learners", {"search": "x" * (input_limits.MAX_QUERY_VALUE + 1)}),
    ],
)
def test_hostile_query_strings_are_a_400(api, path, query):
    assert "query parameter" in _error(api.get(path, **query))
    assert api.get("learners").status_code == 200


@pytest.mark.parametrize("depth", [input_limits.MAX_JSON_DEPTH + 1, 5_000, 100_000])
def test_deeply_nested_json_body_is_a_400(api, depth):
    resp = api.patch("learner_trainings/1", data='{"progress": ' + "[" * depth + "]" * depth + "}")
    assert f"deeper than {input_limits.MAX_JSON_DEPTH} levels" in _error(resp)
    assert api.get("learners").status_code == 200


def test_nul_in_a_json_body_is_a_400(api):
    resp = api.patch("learner_trainings/1", json={"status": "completed\x00"})
    assert "control character (U+0000)" in _error(resp)


def test_nul_in_an_api_path_id_is_a_400(api):
    assert "learner_id" in _error(api.get("learners/abc%00"))
