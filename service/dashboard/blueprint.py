"""The dashboard blueprint; ``routes()`` loads the page modules.

Every dashboard request runs through ``_require_admin`` (who is signed in,
which company) and, for a POST, Flask-WTF's CSRF check. The check is made
here rather than app-wide so SCIM and /api/v1, which authenticate with
bearer tokens and never use cookies, stay exempt.
"""

from datetime import timedelta

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup

from models import Admin, Company
from service import db
from service.dashboard.accounts import session_fingerprint

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
csrf = CSRFProtect()

# Pages reachable without signing in.
PUBLIC = {"dashboard.login", "dashboard.static"}
# Pages an admin with a one-time password may open before choosing a new one.
BEFORE_PASSWORD_CHANGE = {"dashboard.password", "dashboard.logout"}
SESSION_LIFETIME = timedelta(hours=12)

# Only our own files: no CDN, no inline script, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def routes():
    """The blueprint with every page registered."""
    from service.dashboard import (  # noqa: F401
        activity,
        admin_trail,
        catalog,
        doctor,
        home,
        learners,
        login,
        mapping_page,
        preview_page,
        reports,
        settings_api,
        settings_oauth,
        settings_webhooks,
        smart_assign,
    )

    return bp


@bp.record_once
def _init_app(state):
    app = state.app
    # CSRFProtect checks nothing by itself: ``_require_admin`` calls ``csrf.protect()``
    # for dashboard requests only.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", int(SESSION_LIFETIME.total_seconds()))
    # Assigned, not setdefault: Flask's own default (31 days) is always in the config already.
    app.config["PERMANENT_SESSION_LIFETIME"] = SESSION_LIFETIME
    csrf.init_app(app)


@bp.before_request
def _require_admin():
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    g.admin = g.company = None
    admin_id = session.get("admin_id")
    if admin_id is not None:
        admin = db.session().get(Admin, admin_id)
        if (
            admin is not None
            and admin.disabled_at is None
            and session.get("gen") == admin.session_generation
            and session.get("fp") == session_fingerprint(admin)
        ):
            g.admin = admin
            g.company = db.session().get(Company, admin.company_id)
        else:
            session.clear()
    if request.endpoint in PUBLIC:
        return None
    if g.admin is None:
        return redirect(url_for("dashboard.login", next=request.full_path if request.method == "GET" else None))
    if g.admin.must_change_password and request.endpoint not in BEFORE_PASSWORD_CHANGE:
        return redirect(url_for("dashboard.password"))
    return None


@bp.after_request
def _headers(resp):
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "dashboard.static":
        # Pages show token secrets and learner data: keep them out of caches and history.
        resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.errorhandler(CSRFError)
def _csrf_error(err):
    return render_template(
        "dashboard/error.html",
        title="Form expired",
        message="This form was open too long or did not come from this dashboard. "
        "Go back, reload the page and try again.",
    ), 400


@bp.errorhandler(404)
def _not_found(_err):
    return render_template(
        "dashboard/error.html", title="Not found", message="There is no such page in your company's dashboard."
    ), 404


@bp.app_template_filter("utc")
def _utc(value, seconds=False):
    """A naive UTC datetime as ``<time>`` reading '2026-01-31 14:05 UTC' (empty for None).

    dashboard.js shows every ``<time datetime>`` in the admin's own time zone and keeps
    this UTC text for the hover; without script the UTC text stays.
    """
    if value is None:
        return ""
    text = value.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")
    return Markup('<time datetime="{}Z">{}</time>').format(value.isoformat(), text)
