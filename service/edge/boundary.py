"""The request-wide edge of the validation boundary (``service.edge.input_limits`` holds the limits).

Before any view runs, on every surface (SCIM, ``/api/v1``, the dashboard):
the values taken from the URL path, every query parameter and, on the
dashboard, every form field are checked once. A refusal is a 400 naming the
parameter and the limit, rendered for the surface by ``service.edge.error_handlers``.
JSON bodies are checked where they are read (``load_json``), so they are
decoded once. Integer ids in the path are range-checked even earlier
(``check_path_ids``), before a blueprint takes its own out of the view arguments
(the SCIM blueprint's ``company_id``).
"""

from flask import request

from service.edge import input_limits


def check_request() -> None:
    """Refuse control characters and oversized values in the path, the query string and forms."""
    for name, value in (request.view_args or {}).items():
        input_limits.check_path_value(name, value)
    for name, values in request.args.lists():
        for value in values:
            input_limits.check_query(name, value)
    if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        # Forms are the dashboard's (SCIM and /api/v1 read JSON only).
        for name, values in request.form.lists():
            for value in values:
                input_limits.check_text(f"form field {name[:40]}", value)


def check_path_ids(_endpoint, values) -> None:
    """Refuse (404) an integer id in the path that no row can have, whatever the token."""
    for name, value in (values or {}).items():
        if isinstance(value, int):
            input_limits.check_path_value(name, value)


def init_app(app) -> None:
    """Run ``check_path_ids`` and ``check_request`` before every request, ahead of
    authentication and every view."""
    # The app's own URL value preprocessors run before any blueprint's.
    app.url_value_preprocessor(check_path_ids)
    app.before_request(check_request)
