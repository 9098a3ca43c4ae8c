"""GET /api/v1/learners (paged, filtered, searched in SQL) and GET /api/v1/learners/{id}."""

from flask import jsonify
from marshmallow import fields, pre_load, validate
from sqlalchemy import func, or_, select

from models import Learner
from service import db
from service.api import scope, serialize
from service.api.auth import caller
from service.api.blueprint import bp
from service.api.pagination import page_of, paged_body
from service.api.params import PageArgs, capped_per_page, no_nul, query_args

MAX_SEARCH = 200


class LearnerListArgs(PageArgs):
    """Query string of the learner list."""

    active = fields.Boolean(truthy={"true"}, falsy={"false"}, error_messages={"invalid": "Must be true or false."})
    search = fields.String(validate=[validate.Length(max=MAX_SEARCH), no_nul])

    @pre_load
    def _lower_active(self, data, **_kw):
        # true/false in any case; anything else is refused rather than guessed.
        if isinstance(data.get("active"), str):
            data = {**data, "active": data["active"].strip().lower()}
        return data


@bp.get("/learners")
def list_learners():
    """One page of the company's learners, oldest first, DELETEd ones included and flagged."""
    args = query_args(LearnerListArgs())
    company_id = caller().company.id
    # (company_id, created_at, id) is indexed: the order is stable across pages.
    query = select(Learner).where(Learner.company_id == company_id).order_by(Learner.created_at, Learner.id)
    if "active" in args:
        query = query.where(Learner.active == args["active"])
    term = args.get("search", "").strip()
    if term:
        query = query.where(search_clause(term))
    per_page = capped_per_page(args)
    rows, total = page_of(db.session(), query, args["page"], per_page)
    return jsonify(paged_body([serialize.learner(r) for r in rows], args["page"], per_page, total))


@bp.get("/learners/<learner_id>")
def get_learner(learner_id):
    """One learner of the company by its SCIM id; 404 for ids of other companies."""
    row = scope.learner(db.session(), caller().company.id, learner_id)
    return jsonify(serialize.learner(row))


def search_clause(term):
    """Case-insensitive substring match on userName, work email, display, given, family or full name."""
    pattern = "%" + _escape_like(term.lower()) + "%"
    full_name = func.coalesce(Learner.given_name, "") + " " + func.coalesce(Learner.family_name, "")
    columns = [
        Learner.user_name_lower,  # already lower-cased on write
        Learner.email_lower,
        func.lower(Learner.display_name),
        func.lower(Learner.given_name),
        func.lower(Learner.family_name),
        func.lower(full_name),
    ]
    return or_(*(column.like(pattern, escape="\\") for column in columns))


def _escape_like(text):
    """Make % and _ in the search term match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
