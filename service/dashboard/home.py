"""The dashboard's home page: what needs the admin's attention, each item a link to the list behind it.

- learners without a state or country Herd recognises, and learners whose role is
  neither supervisor nor non-supervisor (both get a fallback version);
- SCIM calls Herd refused in the last 24 hours;
- people with overdue trainings;
- access tokens and OAuth secrets that expire within 30 days.

A handful of counting queries, each capped or served by an index, whatever the
company's size.
"""

from datetime import timedelta

from flask import g, render_template
from sqlalchemy import func, select

from models import AccessToken, Learner, LearnerTraining, OAuthClient, OAuthSecret, ScimFailure, utcnow
from models.oauth import EXPIRY_WARNING_DAYS
from service import db
from service.dashboard.blueprint import bp
from service.dashboard.learners import learner_count

FAILURE_WINDOW = timedelta(hours=24)


def _failures_since(session, company_id, since):
    # Calls without a valid token are a stranger's text: the activity page never shows them either.
    return session.scalar(
        select(func.count())
        .select_from(ScimFailure)
        .where(
            ScimFailure.company_id == company_id,
            ScimFailure.token_name.is_not(None),
            ScimFailure.occurred_at >= since,
        )
    )


def _overdue_people(session, company_id):
    """Active learners with an overdue assignment. Overdue is a stored status of open work, so this
    counts rows directly instead of ranking cycles as the report does (the same people)."""
    return session.scalar(
        select(func.count(func.distinct(LearnerTraining.learner_id)))
        .join(Learner, Learner.id == LearnerTraining.learner_id)
        .where(
            LearnerTraining.company_id == company_id,
            LearnerTraining.status == "overdue",
            Learner.active.is_(True),
            Learner.deleted_at.is_(None),
        )
    )


def _expiring(session, company_id, now):
    """Usable tokens and OAuth secrets that expire within the warning period."""
    soon = now + timedelta(days=EXPIRY_WARNING_DAYS)
    tokens = session.scalar(
        select(func.count())
        .select_from(AccessToken)
        .where(
            AccessToken.company_id == company_id,
            AccessToken.oauth_client_id.is_(None),
            AccessToken.revoked_at.is_(None),
            AccessToken.expires_at > now,
            AccessToken.expires_at <= soon,
        )
    )
    secrets = session.scalar(
        select(func.count())
        .select_from(OAuthSecret)
        .join(OAuthClient, OAuthClient.id == OAuthSecret.client_id)
        .where(
            OAuthClient.company_id == company_id,
            OAuthClient.disabled_at.is_(None),
            OAuthSecret.revoked_at.is_(None),
            OAuthSecret.expires_at > now,
            OAuthSecret.expires_at <= soon,
        )
    )
    return (tokens or 0) + (secrets or 0)


def attention(session, company_id, now):
    """``[(key, count, capped)]`` of what needs attention, in the order the page lists it."""
    no_place = learner_count(session, company_id, {"status": "active", "location": "none"})
    other_role = learner_count(session, company_id, {"status": "active", "role": "other"})
    return [
        ("no_place", *no_place),
        ("other_role", *other_role),
        ("failures", _failures_since(session, company_id, now - FAILURE_WINDOW) or 0, False),
        ("overdue", _overdue_people(session, company_id), False),
        ("expiring", _expiring(session, company_id, now), False),
    ]


@bp.get("/")
def home():
    """What needs attention today."""
    now = utcnow()
    items = attention(db.session(), g.company.id, now)
    return render_template("dashboard/home.html", items=items, quiet=not any(n for _, n, _ in items), now=now)
