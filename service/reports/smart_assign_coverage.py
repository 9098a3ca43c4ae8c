"""The Smart Assign doctor: how many of a company's active learners Smart Assign can read,
what it cannot, where that came from, and what to change in the IdP (SQL, no Flask).

Every active learner's stored document goes through ``models.diagnosis.diagnose``
(the learner page's own diagnosis), read in id order a batch at a time, so memory
stays flat for any company size. Figures are exact: nothing is sampled.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import select

from models import Company, Learner, batches
from models.company_training import company_catalog
from models.diagnosis import INPUTS, MISSING, RESOLVED, diagnose
from service.reports.idp_fixes import IDPS, fixes

BATCH = 1000
# The banner: a new connection whose first learners lack an input.
BANNER_FIRST = 50


def active_learners(company_id):
    """Active learners not deleted, the doctor's population."""
    return Learner.company_id == company_id, Learner.active.is_(True), Learner.deleted_at.is_(None)


def _documents(session, company_id, batch=BATCH):
    """Each active learner's document, in id order, a batch at a time."""
    statement = select(Learner.id, Learner.resource).where(*active_learners(company_id))
    for rows in batches.by_id(session, statement, Learner.id, batch):
        for _id, doc in rows:
            yield doc


def coverage(session, company_id):
    """The doctor's document for a company (see docs/features.md, "Smart Assign doctor")."""
    return _report(session, session.get(Company, company_id), _documents(session, company_id))


def _report(session, company, documents):
    mapping = company.attribute_mapping
    known = {t.code for t in company_catalog(session, company.id)}
    total = 0
    counts = {name: Counter() for name in INPUTS}
    values = defaultdict(Counter)  # (input, value, source) -> instead -> learners
    missing = defaultdict(Counter)  # input -> instead -> learners
    for doc in documents:
        total += 1
        found = diagnose(doc or {}, mapping, known)
        for name in INPUTS:
            counts[name][found.status[name]] += 1
        for f in found.findings:
            if f.status == MISSING:
                missing[f.input][f.instead] += 1
            else:
                values[(f.input, f.value, f.source)][f.instead] += 1
    inputs = {}
    for name in INPUTS:
        resolved = counts[name][RESOLVED]
        inputs[name] = {
            "resolved": resolved,
            "missing": counts[name][MISSING],
            "unrecognised": total - resolved - counts[name][MISSING],
            "share_resolved": round(resolved / total, 4) if total else 1.0,
            "missing_got_instead": _instead(missing[name]),
        }
    unrecognised = sorted(
        (
            {
                "input": name,
                "value": value,
                "source": source,
                "count": sum(instead.values()),
                "got_instead": _instead(instead),
            }
            for (name, value, source), instead in values.items()
        ),
        key=lambda v: (-v["count"], v["input"], str(v["value"])),
    )
    to_fix = [name for name in INPUTS if inputs[name]["resolved"] < total]
    return {
        "company_id": company.id,
        "active_learners": total,
        "complete": all(inputs[name]["resolved"] == total for name in INPUTS),
        "inputs": inputs,
        "unrecognised_values": unrecognised,
        "fixes": {name: fixes(name, mapping, company.extension_urn) for name in to_fix},
        "idps": list(IDPS),
    }


def _instead(counter):
    return [{"got": got, "count": n} for got, n in counter.most_common()]


def banner(session, company):
    """``({input: learners lacking it}, learners looked at)`` while the company's first learners
    arrived without what Smart Assign needs, else None.

    Looks at the first ``BANNER_FIRST`` learners provisioned only, so it costs the same for any size.
    """
    first = session.scalars(
        select(Learner.resource)
        .where(*active_learners(company.id))
        .order_by(Learner.created_at, Learner.id)
        .limit(BANNER_FIRST)
    ).all()
    report = _report(session, company, first)
    lacking = {name: f for name, f in report["inputs"].items() if f["resolved"] < report["active_learners"]}
    if not lacking:
        return None
    return {name: f["missing"] + f["unrecognised"] for name, f in lacking.items()}, report["active_learners"]
