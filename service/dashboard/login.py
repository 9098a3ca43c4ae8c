"""Sign in, sign out, and choosing a password after the one-time one."""

import re

from flask import flash, g, redirect, render_template, request, session, url_for

from service import db
from service.dashboard import accounts
from service.dashboard.blueprint import bp
from service.dashboard.forms import LoginForm, PasswordForm

# A path inside the dashboard with an optional query: printable ASCII only (no CR/LF, NUL,
# spaces or other characters that could split a header), no backslash, no "//" authority.
_SAME_SITE_DASHBOARD = re.compile(r"/dashboard/[!-~]*")


def _safe_next(target):
    """Only redirect back inside the dashboard (no open redirect, no header injection)."""
    if (
        target
        and len(target) <= 2000
        and _SAME_SITE_DASHBOARD.fullmatch(target)
        and "\\" not in target
        and not _climbs_out(target.split("?", 1)[0])
    ):
        return target.rstrip("?")
    return url_for("dashboard.home")


def _climbs_out(path):
    # Browsers resolve "..", also written "%2e%2e", before following a redirect.
    lowered = path.lower()
    return ".." in lowered or "%2e" in lowered


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Email and password; failed attempts are throttled per source and account (``service.ratelimit.limiter``)."""
    if request.method == "GET" and g.admin is not None:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        result = accounts.sign_in(db.session(), form.email.data, form.password.data)
        if result.admin is not None:
            # A fresh session: nothing from before signing in carries over.
            session.clear()
            session.permanent = True
            session["admin_id"] = result.admin.id
            session["fp"] = accounts.session_fingerprint(result.admin)
            session["gen"] = result.admin.session_generation
            if result.admin.must_change_password:
                return redirect(url_for("dashboard.password"))
            return redirect(_safe_next(request.args.get("next")))
        error = result.message
    elif request.method == "POST":
        error = "Enter your email and password."
    # A refused sign-in re-renders the form (200: a 401 would need an HTTP auth challenge).
    return render_template("dashboard/login.html", form=form, error=error)


@bp.post("/logout")
def logout():
    """End the session on the server too: the old cookie stops working even if replayed.

    This ends every session of this admin (all browsers): the session generation moves on.
    """
    accounts.end_sessions(db.session(), g.admin.id)
    db.session().commit()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("dashboard.login"))


@bp.route("/password", methods=["GET", "POST"])
def password():
    """Choose a new password (required after signing in with a one-time password)."""
    form = PasswordForm()
    error = None
    if form.validate_on_submit():
        error = accounts.change_password(db.session(), g.admin, form.current.data, form.new.data)
        if error is None:
            # The password changed, so did the fingerprint: keep this session, drop the others.
            session["fp"] = accounts.session_fingerprint(g.admin)
            flash("Your new password is saved.", "success")
            return redirect(url_for("dashboard.home"))
    elif request.method == "POST":
        error = next(iter(e for errs in form.errors.values() for e in errs), "Fill in every field.")
    return render_template("dashboard/password.html", form=form, error=error), (400 if error else 200)
