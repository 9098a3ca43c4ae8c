"""The dashboard's forms (validation only: templates write their own accessible markup)."""

import secrets

from flask import flash, redirect, session
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional

from models.catalog import DEFAULT_CATALOG

# The session key of the one-time value that the forms creating a secret carry
# (tokens, OAuth clients and secrets, webhook endpoints); the name predates its other users.
_ONCE = "oauth_form_once"


def new_once():
    """The one-time value of a page's secret-creating forms (one per page view; ``spend_once`` checks it)."""
    value = secrets.token_urlsafe(16)
    session[_ONCE] = value
    return value


def spend_once(sent):
    """True the first time the page's one-time value comes back; a resubmitted form gets False,
    so a reload creates nothing twice (post/redirect/get)."""
    expected = session.pop(_ONCE, None)
    return bool(sent) and expected is not None and secrets.compare_digest(expected, sent)


def already_sent(what, page):
    """The answer to a secret-creating form sent again (``spend_once`` said so): a note that
    the form was already sent and ``what`` (its secret was shown once, and what to do if it
    was lost), back to ``page`` (post/redirect/get)."""
    flash(f"That form was already sent, and {what}", "info")
    return redirect(page, code=303)


TOKEN_EXPIRY_CHOICES = [("", "Never"), ("30", "30 days"), ("90", "90 days"), ("180", "180 days"), ("365", "1 year")]
INDUSTRIES = [
    ("", "Not set"),
    ("hospitality", "Hospitality (restaurants, bars, hotels)"),
    ("healthcare", "Healthcare"),
    ("finance", "Finance and insurance"),
    ("retail", "Retail"),
    ("manufacturing", "Manufacturing"),
    ("technology", "Technology"),
    ("education", "Education"),
    ("public", "Public sector"),
    ("other", "Other"),
]


def choices(pairs):
    """WTForms 3.3 options from ``(value, label)`` pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class LoginForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=1000)])
    new = PasswordField("New password", validators=[DataRequired(), Length(max=1000)])
    confirm = PasswordField(
        "Repeat the new password", validators=[DataRequired(), EqualTo("new", "The two new passwords differ.")]
    )


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired("Give the token a name."), Length(max=200)])
    expires = SelectField("Expires", choices=choices(TOKEN_EXPIRY_CHOICES), validate_choice=True)
    # The page's one-time value: a reload that sends the form again creates nothing.
    once = StringField(validators=[Optional(), Length(max=64)])


class ConfirmForm(FlaskForm):
    """A form whose only field is the CSRF token (revoke, delete, re-run)."""


class WebhookForm(FlaskForm):
    """A new webhook endpoint; ``once`` makes a resubmitted form (a reload) create nothing."""

    url = StringField("Endpoint URL", validators=[DataRequired(), Length(max=2000)])
    events = StringField("Event types", validators=[Optional(), Length(max=1000)])
    once = StringField(validators=[Optional(), Length(max=64)])


class ReplayRangeForm(FlaskForm):
    since = StringField("From (UTC)", validators=[DataRequired(), Length(max=40)])
    until = StringField("Until (UTC)", validators=[DataRequired(), Length(max=40)])


class DueSoonForm(FlaskForm):
    days = IntegerField("Days before the due date", validators=[DataRequired(), NumberRange(min=1, max=90)])


class GroupsForm(FlaskForm):
    enabled = BooleanField("Provision groups from Entra ID")


class SmartAssignForm(FlaskForm):
    due_days = IntegerField(
        "Due period (days after assignment)",
        validators=[DataRequired("Enter a number of days."), NumberRange(1, 3650, "Enter 1 to 3650 days.")],
    )
    industry = SelectField("Industry", choices=choices(INDUSTRIES), validate_choice=True, validators=[Optional()])


class GroupRuleForm(FlaskForm):
    group_name = StringField("Group name (as in Entra ID)", validators=[DataRequired(), Length(max=300)])
    training_code = SelectField(
        "Training", choices=choices((t.code, f"{t.code}: {t.title}") for t in DEFAULT_CATALOG), validate_choice=True
    )


SECRET_DAYS_CHOICES = [("365", "1 year"), ("730", "2 years"), ("1095", "3 years")]


class OAuthClientForm(FlaskForm):
    """A new OAuth client; ``once`` makes a resubmitted form (a reload) create nothing."""

    name = StringField("Client name", validators=[DataRequired("Give the client a name."), Length(max=200)])
    secret_days = SelectField("Secret expires after", choices=choices(SECRET_DAYS_CHOICES), validate_choice=True)
    once = StringField(validators=[Optional(), Length(max=64)])


class OAuthSecretForm(FlaskForm):
    secret_days = SelectField("Secret expires after", choices=choices(SECRET_DAYS_CHOICES), validate_choice=True)
    once = StringField(validators=[Optional(), Length(max=64)])


class OAuthModeForm(FlaskForm):
    oauth_only = BooleanField("OAuth only: refuse static access tokens")
    token_minutes = IntegerField(
        "Access-token lifetime (minutes)",
        validators=[DataRequired("Enter 60 to 360 minutes."), NumberRange(60, 360, "Enter 60 to 360 minutes.")],
    )


class AliasForm(FlaskForm):
    """A value aliased to a known one: ``Calif.`` -> ``US-CA`` for the state."""

    input = SelectField(
        "Input",
        choices=choices(
            [("state", "State"), ("country", "Country"), ("role", "Role"), ("training_tags", "Training tag")]
        ),
        validate_choice=True,
    )
    value = StringField(
        "Value as sent", validators=[DataRequired("Enter the value as the IdP sends it."), Length(max=300)]
    )
    to = StringField("Reads as", validators=[DataRequired("Enter a known value, such as US-CA."), Length(max=100)])


INPUT_CHOICES = [("state", "State"), ("country", "Country"), ("role", "Role"), ("training_tags", "Training tag")]
MAPPED_INPUTS = [("state", "State"), ("country", "Country"), ("location", "Location (city)"), ("role", "Role")]


class PreviewForm(FlaskForm):
    """A Smart Assign change to preview: any of its parts, each optional (blank: no change)."""

    industry = SelectField(
        "Industry", choices=choices([("", "No change"), *INDUSTRIES[1:]]), validate_choice=True, validators=[Optional()]
    )
    lead_days = IntegerField(
        "Recertification lead time (days)", validators=[Optional(), NumberRange(0, 365, "Enter 0 to 365 days.")]
    )
    due_days = IntegerField("Due period (days)", validators=[Optional(), NumberRange(1, 3650, "Enter 1 to 3650 days.")])
    alias_input = SelectField("Alias: input", choices=choices(INPUT_CHOICES), validate_choice=True)
    alias_value = StringField("Value as sent", validators=[Optional(), Length(max=300)])
    alias_to = StringField("Reads as", validators=[Optional(), Length(max=100)])
    source_input = SelectField("Mapping: input", choices=choices(MAPPED_INPUTS), validate_choice=True)
    sources = StringField("Read from (comma-separated)", validators=[Optional(), Length(max=2000)])
    rule_group = StringField("Group rule: group", validators=[Optional(), Length(max=300)])
    rule_code = StringField("Training code", validators=[Optional(), Length(max=40)])
    training_code = StringField("New training: code", validators=[Optional(), Length(max=40)])
    training_title = StringField("Title", validators=[Optional(), Length(max=200)])
    cadence_code = StringField("Cadence: training code", validators=[Optional(), Length(max=40)])
    cadence_months = IntegerField("Months (0: once)", validators=[Optional(), NumberRange(0, 120, "Enter 0 to 120.")])

    def spec(self):
        """The change as a spec (``workers/preview_spec.py``'s keys): only the parts filled in."""
        spec = {}
        for name in ("industry", "lead_days", "due_days"):
            value = getattr(self, name).data
            if value not in (None, ""):
                spec[name] = value
        text = {name: (value or "").strip() if isinstance(value, str) else "" for name, value in self.data.items()}
        if text["alias_value"] and text["alias_to"]:
            spec["alias"] = [[self.alias_input.data, text["alias_value"], text["alias_to"]]]
        if text["sources"]:
            spec["source"] = [f"{self.source_input.data}={text['sources']}"]
        if text["rule_group"] and text["rule_code"]:
            spec["rule"] = [f"{text['rule_group']}={text['rule_code']}"]
        if text["training_code"] and text["training_title"]:
            spec["add_training"] = [f"{text['training_code']}={text['training_title']}"]
        if text["cadence_code"] and self.cadence_months.data is not None:
            spec["cadence"] = [f"{text['cadence_code']}={self.cadence_months.data}"]
        return spec
