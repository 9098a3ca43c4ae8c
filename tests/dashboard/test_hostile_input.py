"""The validation boundary on the dashboard: hostile forms and query strings are a 400 page, never a 500."""

import pytest

from service.edge import input_limits


def _refused(resp):
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    text = resp.get_data(as_text=True)
    assert "control character" in text or "the limit is" in text
    return text


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/learners?q=a%00b",
        "/dashboard/learners?after=2026-01-01T00:00:00~a%00b",
        "/dashboard/learners?before=%00",
        "/dashboard/learners?status=%00",
        "/dashboard/activity?learner=a%00b",
        "/dashboard/activity?after=2026-01-01T00:00:00~%00",
        "/dashboard/learners/abc%00def",
        f"/dashboard/learners?q={'x' * (input_limits.MAX_QUERY_VALUE + 1)}",
    ],
)
def test_hostile_query_strings_and_ids_are_a_400(dash, path):
    _refused(dash.get(path))
    assert dash.get("/dashboard/learners").status_code == 200


def test_nul_in_the_sign_in_email_is_a_400(anon):
    token = anon.csrf()
    resp = anon.client.post(
        "/dashboard/login", data={"csrf_token": token, "email": "alice\x00@acme.example", "password": "x"}
    )
    assert "form field email" in _refused(resp)
    assert anon.get("/dashboard/login").status_code == 200


def test_nul_in_a_dashboard_form_is_a_400(dash):
    resp = dash.post("/dashboard/settings/integrations/api/tokens", data={"name": "ci\x00", "expires": ""})
    assert "form field name" in _refused(resp)


def test_the_refusal_page_escapes_what_the_client_sent(dash):
    resp = dash.get("/dashboard/learners?%3Cscript%3E=%00")
    text = _refused(resp)
    assert "<script>" not in text and "&lt;script&gt;" in text


@pytest.mark.parametrize("number", ["0", str(2**31), str(2**63), str(2**64), "9" * 60])
def test_ids_out_of_range_in_dashboard_urls_are_a_404(dash, anon, number):
    """No row has such an id: a 404 page, signed in or not (PostgreSQL refused them with a 500)."""
    for who in (dash, anon):
        assert who.get(f"/dashboard/smart-assign/jobs/{number}").status_code == 404
        assert who.get(f"/dashboard/smart-assign/preview/{number}").status_code == 404
    for path in (
        f"/dashboard/smart-assign/preview/{number}/cancel",
        f"/dashboard/smart-assign/preview/{number}/apply",
        f"/dashboard/settings/integrations/api/tokens/{number}/revoke",
        f"/dashboard/smart-assign/group-rules/{number}/delete",
    ):
        resp = dash.post(path)
        assert resp.status_code == 404, resp.get_data(as_text=True)[:300]
        assert "between 1 and 2147483647" in resp.get_data(as_text=True)
    assert dash.get("/dashboard/learners").status_code == 200
