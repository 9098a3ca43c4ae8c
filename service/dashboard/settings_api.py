"""Settings > Integrations > API: Company ID, tenant URL, access tokens, the groups switch."""

from datetime import timedelta

from flask import abort, flash, g, redirect, render_template, url_for
from sqlalchemy import select

from models import AccessToken, utcnow
from service import db
from service.company import settings_log
from service.company.tenant import tenant_url
from service.dashboard.blueprint import bp
from service.dashboard.forms import ConfirmForm, GroupsForm, TokenForm, already_sent, spend_once


def _tokens():
    return (
        db.session()
        .scalars(
            # Static tokens only: the ones /oauth/token issues are listed with their client.
            select(AccessToken)
            .where(AccessToken.company_id == g.company.id, AccessToken.oauth_client_id.is_(None))
            .order_by(AccessToken.id.desc())
        )
        .all()
    )


def _token(token_id):
    """One of the signed-in company's tokens, or 404 (another company's token does not exist here)."""
    token = db.session().scalar(
        select(AccessToken).where(AccessToken.id == token_id, AccessToken.company_id == g.company.id)
    )
    if token is None:
        abort(404)
    return token


def render_page(token_form=None, new_secret=None, new_token=None, status=200, **oauth):
    """Settings › Integrations › API: tokens, groups and the OAuth part (``settings_oauth``) on one page."""
    from service.dashboard.settings_oauth import oauth_section

    groups_form = GroupsForm(enabled=g.company.groups_enabled)
    return render_template(
        "dashboard/settings_api.html",
        tenant_url=tenant_url(g.company.id),
        tokens=_tokens(),
        token_form=token_form or TokenForm(name="Entra ID provisioning"),
        groups_form=groups_form,
        new_secret=new_secret,
        new_token=new_token,
        now=utcnow(),
        **oauth_section(**oauth),
    ), status


@bp.get("/settings/integrations/api")
def settings_api():
    """The page the Entra setup guide sends admins to."""
    return render_page()


@bp.post("/settings/integrations/api/tokens")
def create_token():
    """Create a token and show its secret in this response only (never stored, never redirected).

    The form carries the page's one-time value: a reload that sends it again creates
    no second token and is sent back to the page (post/redirect/get).
    """
    form = TokenForm()
    if not form.validate():
        return render_page(token_form=form, status=400)
    if not spend_once(form.once.data):
        return already_sent(
            "its token was shown once. If you did not copy it, create another token and revoke the one you lost.",
            url_for("dashboard.settings_api"),
        )
    expires = utcnow() + timedelta(days=int(form.expires.data)) if form.expires.data else None
    row, secret = AccessToken.issue(g.company.id, form.name.data.strip(), expires)
    session = db.session()
    session.add(row)
    session.flush()
    settings_log.record(
        session,
        g.company.id,
        g.admin.email,
        "token",
        f"Access token “{row.name}” created",
        None,
        settings_log.token_values(row),
    )
    session.commit()
    return render_page(new_secret=secret, new_token=row, status=201)


@bp.get("/settings/integrations/api/tokens/<int:token_id>/revoke")
def confirm_revoke(token_id):
    """Ask before revoking: Entra's next call with this token fails."""
    token = _token(token_id)
    if token.revoked_at is not None:
        flash(f"Token “{token.name}” is already revoked.", "info")
        return redirect(url_for("dashboard.settings_api"))
    return render_template("dashboard/token_revoke.html", token=token, form=ConfirmForm())


@bp.post("/settings/integrations/api/tokens/<int:token_id>/revoke")
def revoke_token(token_id):
    """Revoke now; authentication reads the row on every request, so it takes effect at once."""
    token = _token(token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        summary = f"Access token “{token.name}” revoked"
        settings_log.record(
            db.session(), g.company.id, g.admin.email, "token", summary, settings_log.token_values(token), None
        )
        db.session().commit()
    flash(f"Token “{token.name}” ({token.display_prefix}…) is revoked. Requests using it now fail with 401.", "success")
    return redirect(url_for("dashboard.settings_api"))


@bp.post("/settings/integrations/api/groups")
def set_groups():
    """Turn group provisioning on or off for the company."""
    form = GroupsForm()
    form.validate()
    was, g.company.groups_enabled = g.company.groups_enabled, bool(form.enabled.data)
    settings_log.record(
        db.session(),
        g.company.id,
        g.admin.email,
        "groups",
        "Group provisioning turned " + ("on" if g.company.groups_enabled else "off"),
        {"enabled": bool(was)},
        {"enabled": g.company.groups_enabled},
    )
    db.session().commit()
    if g.company.groups_enabled:
        flash(
            "Group provisioning is on. In Entra ID, enable “Provision Microsoft Entra ID Groups” under Mappings.",
            "success",
        )
    else:
        flash(
            "Group provisioning is off. Entra ID's group calls now get an error saying groups are disabled.", "success"
        )
    return redirect(url_for("dashboard.settings_api") + "#groups")
