"""Settings > Integrations > API, OAuth part: clients, secrets, "OAuth only", token lifetime.

The gallery-style connection (Entra's "OAuth2 client credentials grant"): a client id, a
client secret, the token endpoint and the tenant URL. A secret is shown once, in the
response to the form that created it; each such form carries a one-time value kept in the
session, so a reload that sends the form again creates nothing and is sent back to the page.
"""

from flask import abort, flash, g, redirect, url_for
from flask import render_template as render

from models import OAuthClient, OAuthSecret
from service import current, db
from service.company import settings_log
from service.dashboard.blueprint import bp
from service.dashboard.forms import (
    ConfirmForm,
    OAuthClientForm,
    OAuthModeForm,
    OAuthSecretForm,
    TokenForm,
    already_sent,
    new_once,
    spend_once,
)
from service.dashboard.settings_api import render_page
from service.oauth import clients as oauth_clients
from service.oauth.clients import ClientError

_ANCHOR = "#oauth"


def _token_endpoint():
    return f"{current.settings().public_base_url}/oauth/token"


def oauth_section(client_form=None, new_client=None, new_client_secret=None, new_secret_for=None):
    """The template values of the OAuth part of the API page."""
    company = g.company
    clients = oauth_clients.clients_of(db.session(), company.id)
    return {
        "token_endpoint": _token_endpoint(),
        "oauth_clients": clients,
        # formdata=None: on the answer to another form's POST, these show their defaults, not its fields.
        "client_form": client_form or OAuthClientForm(formdata=None, name="Entra ID gallery app", secret_days="730"),
        "secret_form": OAuthSecretForm(formdata=None, secret_days="730"),
        "mode_form": OAuthModeForm(
            formdata=None, oauth_only=company.oauth_only, token_minutes=company.access_token_minutes
        ),
        "new_client": new_client,
        "new_client_secret": new_client_secret,
        "new_secret_for": new_secret_for,
        "form_once": new_once(),
        "expiring_soon": any(s.expiring_soon() for c in clients if c.enabled for s in c.secrets),
    }


def _logged(summary, before=None, after=None):
    """Record an OAuth change in the admin trail (clients and secrets by name and prefix only)."""
    settings_log.record(db.session(), g.company.id, g.admin.email, "oauth", summary, before, after)


def _client(client_pk):
    """One of the signed-in company's clients, or 404 (another company's does not exist here)."""
    client = db.session().get(OAuthClient, client_pk)
    if client is None or client.company_id != g.company.id:
        abort(404)
    return client


def _already_sent():
    return already_sent(
        "its secret was shown once. If you did not copy it, add another secret and revoke the one you lost.",
        url_for("dashboard.settings_api") + _ANCHOR,
    )


@bp.post("/settings/integrations/api/oauth/clients")
def create_oauth_client():
    """Create a client and its first secret; the secret is in this response only."""
    form = OAuthClientForm()
    if not form.validate():
        return render_page(token_form=_blank_token_form(), client_form=form, status=400)
    if not spend_once(form.once.data):
        return _already_sent()
    try:
        client, _secret, plain = oauth_clients.create_client(
            db.session(), g.company.id, form.name.data, int(form.secret_days.data)
        )
    except ClientError as exc:
        form.name.errors = [str(exc)]
        return render_page(token_form=_blank_token_form(), client_form=form, status=400)
    _logged(f"OAuth client “{client.name}” created", None, {"client_id": client.client_id, "name": client.name})
    db.session().commit()
    return _secret_shown_once(client, plain)


def _secret_shown_once(client, plain):
    """The page with ``client``'s new secret, in this answer only (never stored, never redirected)."""
    return render_page(
        token_form=_blank_token_form(),
        new_client=client,
        new_client_secret=plain,
        new_secret_for=client.id,
        status=201,
    )


@bp.post("/settings/integrations/api/oauth/clients/<int:client_pk>/secrets")
def add_oauth_secret(client_pk):
    """Add a secret to a client (rotation: the others keep working until revoked)."""
    client = _client(client_pk)
    form = OAuthSecretForm()
    if not form.validate():
        abort(400)
    if not spend_once(form.once.data):
        return _already_sent()
    try:
        added, plain = oauth_clients.add_secret(db.session(), client, int(form.secret_days.data))
    except ClientError as exc:
        flash(str(exc), "error")
        return redirect(url_for("dashboard.settings_api") + _ANCHOR, code=303)
    _logged(f"Secret added to OAuth client “{client.name}”", None, {"prefix": added.display_prefix})
    db.session().commit()
    return _secret_shown_once(client, plain)


@bp.get("/settings/integrations/api/oauth/clients/<int:client_pk>/secrets/<int:secret_pk>/revoke")
def confirm_revoke_oauth_secret(client_pk, secret_pk):
    """Ask before revoking a secret."""
    client = _client(client_pk)
    secret = _secret(client, secret_pk)
    return render(
        "dashboard/oauth_confirm.html",
        title=f"Revoke secret {secret.display_prefix}… of “{client.name}”?",
        warning="Tokens obtained with this secret stop working on their next request, and Entra ID can no "
        "longer get new ones with it. Put the new secret into Entra ID first.",
        action=url_for("dashboard.revoke_oauth_secret", client_pk=client.id, secret_pk=secret.id),
        button="Revoke secret",
        form=ConfirmForm(),
    )


@bp.post("/settings/integrations/api/oauth/clients/<int:client_pk>/secrets/<int:secret_pk>/revoke")
def revoke_oauth_secret(client_pk, secret_pk):
    """Revoke a secret and the tokens it obtained."""
    client = _client(client_pk)
    secret = _secret(client, secret_pk)
    oauth_clients.revoke_secret(db.session(), client, secret.display_prefix)
    _logged(f"Secret of OAuth client “{client.name}” revoked", {"prefix": secret.display_prefix}, None)
    db.session().commit()
    flash(f"Secret {secret.display_prefix}… is revoked; its tokens now fail with 401.", "success")
    return redirect(url_for("dashboard.settings_api") + _ANCHOR, code=303)


@bp.get("/settings/integrations/api/oauth/clients/<int:client_pk>/disable")
def confirm_disable_oauth_client(client_pk):
    """Ask before disabling a client."""
    client = _client(client_pk)
    return render(
        "dashboard/oauth_confirm.html",
        title=f"Disable client “{client.name}”?",
        warning="All its secrets and tokens stop working at once: provisioning with this client stops. "
        "This cannot be undone.",
        action=url_for("dashboard.disable_oauth_client", client_pk=client.id),
        button="Disable client",
        form=ConfirmForm(),
    )


@bp.post("/settings/integrations/api/oauth/clients/<int:client_pk>/disable")
def disable_oauth_client(client_pk):
    """Disable a client and revoke every token it obtained."""
    client = _client(client_pk)
    oauth_clients.disable_client(db.session(), client)
    _logged(f"OAuth client “{client.name}” disabled", {"client_id": client.client_id, "enabled": True}, None)
    db.session().commit()
    flash(f"Client “{client.name}” is disabled; its tokens now fail with 401.", "success")
    return redirect(url_for("dashboard.settings_api") + _ANCHOR, code=303)


@bp.post("/settings/integrations/api/oauth/mode")
def set_oauth_mode():
    """ "OAuth only" and the access-token lifetime."""
    form = OAuthModeForm()
    if not form.validate():
        flash(" ".join(form.token_minutes.errors) or "Enter 60 to 360 minutes.", "error")
        return redirect(url_for("dashboard.settings_api") + _ANCHOR, code=303)
    company = g.company
    was = {"oauth_only": bool(company.oauth_only), "token_minutes": company.access_token_minutes}
    oauth_clients.set_oauth_only(db.session(), company, form.oauth_only.data)
    oauth_clients.set_token_minutes(db.session(), company, form.token_minutes.data)
    now = {"oauth_only": bool(company.oauth_only), "token_minutes": company.access_token_minutes}
    _logged("OAuth settings changed", was, now)
    db.session().commit()
    if company.oauth_only:
        flash("OAuth only is on: static access tokens are refused from now on.", "success")
    else:
        flash("Static access tokens are accepted again (OAuth clients keep working).", "success")
    return redirect(url_for("dashboard.settings_api") + _ANCHOR, code=303)


def _blank_token_form():
    """The static-token form with its defaults (not this POST's fields, which are the client's)."""
    return TokenForm(formdata=None, name="Entra ID provisioning")


def _secret(client, secret_pk):
    secret = db.session().get(OAuthSecret, secret_pk)
    if secret is None or secret.client_id != client.id:
        abort(404)
    return secret
