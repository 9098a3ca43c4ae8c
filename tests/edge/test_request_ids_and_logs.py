"""Every response carries ``X-Request-ID`` and ``nosniff``; log lines carry the request id and
no personal data: no SQL parameters, no values PostgreSQL quotes, no filter values."""

import io
import logging
import re

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from models import Admin
from service.edge.middleware import LOG_FORMAT, RedactingFormatter

GENERATED = re.compile(r"[0-9a-f]{32}")
SECRET_EMAIL = "jane.secret@acme.example"


@pytest.fixture()
def app_with_failing_routes(app):
    """The app plus two routes that fail the way a bug would (added before the first request)."""

    @app.get("/scim/v2/<int:company_id>/Explode")
    def explode(company_id):
        raise RuntimeError("boom")

    @app.get("/scim/v2/<int:company_id>/DuplicateAdmin")
    def duplicate_admin(company_id):
        # The same email twice: an IntegrityError whose statement carries personal data.
        engine = app.extensions["herd.engine"]
        with engine.begin() as conn:
            for _ in range(2):
                conn.execute(insert(Admin).values(company_id=company_id, email=SECRET_EMAIL, password_hash="x"))
        return "unreachable"

    return app


def test_nosniff_and_a_request_id_on_every_kind_of_response(app_with_failing_routes, tenant, client):
    huge = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    responses = {
        "scim 200": tenant.get("ServiceProviderConfig"),
        "scim 404": tenant.get("Users/00000000-0000-0000-0000-000000000000"),
        "scim 401": client.get(f"/scim/v2/{tenant.id}/Users"),
        "scim 413": tenant.call("POST", "Users", data=huge, headers={"Content-Type": "application/scim+json"}),
        "scim 500": tenant.get("Explode"),
        "api 200": client.get("/api/v1/learners", headers=tenant.headers()),
        "api 401": client.get("/api/v1/learners"),
        "dashboard page": client.get("/dashboard/login"),
        "dashboard redirect": client.get("/dashboard/learners"),
        "dashboard 405": client.get("/dashboard/logout"),
        "static": client.get("/dashboard/static/dashboard.css"),
        "health": client.get("/healthz"),
        "404 outside every surface": client.get("/nothing/here"),
    }
    for kind, resp in responses.items():
        assert resp.headers.get("X-Content-Type-Options") == "nosniff", kind
        assert resp.headers.getlist("X-Content-Type-Options") == ["nosniff"], kind
        assert GENERATED.fullmatch(resp.headers.get("X-Request-ID", "")), kind
    assert responses["scim 500"].status_code == 500 and responses["scim 413"].status_code == 413
    ids = {resp.headers["X-Request-ID"] for resp in responses.values()}
    assert len(ids) == len(responses)
    for resp in responses.values():
        resp.close()  # the static file is streamed


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("entra-4f1c2b7e-9a8d-4e1f", True),
        ("a1b2c3d4", True),
        ("short", False),
        ("x" * 129, False),
        ("id with spaces", False),
        ("<script>alert(1)</script>", False),
        ("abc\u00e9defgh", False),
    ],
)
def test_a_sane_incoming_request_id_is_kept_anything_else_replaced(tenant, incoming, kept):
    resp = tenant.get("ServiceProviderConfig", headers={"X-Request-ID": incoming})
    if kept:
        assert resp.headers["X-Request-ID"] == incoming
    else:
        assert GENERATED.fullmatch(resp.headers["X-Request-ID"])


def test_log_lines_carry_the_request_id_and_no_filter_value(app_with_failing_routes, tenant, caplog):
    caplog.set_level(logging.INFO)
    resp = tenant.get(
        "Explode",
        query_string={"filter": 'userName eq "jane.secret@acme.example"'},
        headers={"X-Request-ID": "req-12345678"},
    )
    assert resp.status_code == 500
    records = [r for r in caplog.records if r.name == "service.edge.error_handlers"]
    assert records and all(r.request_id == "req-12345678" for r in records)
    assert "jane.secret" not in caplog.text
    # Outside any request the id is a dash, so the format always has something to show.
    logging.getLogger("service.test").info("outside")
    assert caplog.records[-1].request_id == "-"


def test_a_failing_statement_leaves_no_personal_data_in_the_logs(app_with_failing_routes, tenant):
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(RedactingFormatter(LOG_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        resp = tenant.get("DuplicateAdmin", headers={"X-Request-ID": "req-dup-0001"})
    finally:
        root.removeHandler(handler)
    assert resp.status_code == 500
    text = out.getvalue()
    # The traceback is logged (an operator needs it), with the request id, without the values.
    assert "IntegrityError" in text and "[req-dup-0001]" in text
    assert "jane.secret" not in text
    assert "SQL parameters hidden" in text


def test_sql_errors_never_carry_their_parameters(engine, sessions, tenant):
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        for _ in range(2):
            conn.execute(insert(Admin).values(company_id=tenant.id, email=SECRET_EMAIL, password_hash="x"))
    message = str(caught.value)
    assert "SQL parameters hidden" in message
    # PostgreSQL quotes the duplicate key in its own message; the log formatter drops it.
    formatted = RedactingFormatter(LOG_FORMAT).formatException((IntegrityError, caught.value, None))
    assert "jane.secret" not in formatted
