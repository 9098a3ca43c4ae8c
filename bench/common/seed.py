"""Seeding a bench database straight in SQL: a company with its token, learners with their pending provisioning events."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select

from models import AccessToken, Company, Learner, ProvisioningEvent, utcnow

# Learner profiles for seeded learners: (region, country, location, role, tags). Every one
# needs a harassment-prevention version plus tagged trainings: real Smart Assign work.
EXTENSION = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"


PROFILES = [
    ("US-CA", "US", "Los Angeles, CA", "supervisor", ["CYBER", "HIPAA"]),
    ("US-NY", "US", "New York, NY", "employee", ["CYBER"]),
    ("US-IL", "US", "Chicago, IL", "supervisor", ["PRIVACY"]),
    ("US-TX", "US", "Austin, TX", "employee", ["CYBER", "COC"]),
    ("US-WA", "US", "Seattle, WA", "employee", []),
    ("CA-ON", "CA", "Toronto", "supervisor", ["ABAC"]),
    ("GB-ENG", "GB", "London", "employee", ["PRIVACY", "CYBER"]),
    ("DE-BY", "DE", "Munich", "supervisor", ["DEI"]),
]


def make_company(sessions, name="Bench Company"):
    """A company and an access token, straight in the database; returns (company id, secret)."""
    with sessions() as s:
        company = Company(name=name)
        s.add(company)
        s.flush()
        row, secret = AccessToken.issue(company.id, f"{name} token")
        s.add(row)
        s.commit()
        return company.id, secret


def seed_learners(sessions, company_id, count, prefix, with_events=True, batch=2000):
    """Insert ``count`` learners (varied PROFILES, no assignments yet), each with a pending
    "create" provisioning event as a POST would leave it; returns the event ids (or learner ids)."""

    out = []
    for start in range(0, count, batch):
        now = utcnow()
        learners, events = [], []
        for n in range(start, min(count, start + batch)):
            region, country, location, role, tags = PROFILES[n % len(PROFILES)]
            lid = str(uuid.uuid4())
            user = f"{prefix}{n}@bench.example"
            learners.append(
                dict(
                    id=lid, company_id=company_id, user_name=user, user_name_lower=user,
                    external_id_lower=f"{prefix}{n}", email_lower=user, display_name=f"Bench {n}",
                    given_name="Bench", family_name=str(n), active=True, region=region, country=country,
                    location=location, role=role, training_tags=tags, version=1, created_at=now, updated_at=now,
                    # The document agrees with the columns: a re-run re-extracts them from it.
                    resource={"userName": user, "externalId": f"{prefix}{n}", "active": True, EXTENSION: {
                        "state": region, "country": country, "location": location, "learnerRole": role,
                        "training_tags": ",".join(tags)}},
                )
            )  # fmt: skip
            events.append(
                dict(
                    company_id=company_id, resource_type="User", resource_id=lid, action="create",
                    changes={"userName": {"before": None, "after": user}}, token_name="bench seed",
                    created_at=now, attempts=0,
                )
            )  # fmt: skip
        with sessions() as s:
            s.execute(insert(Learner), learners)
            if with_events:
                s.execute(insert(ProvisioningEvent), events)
            s.commit()
        if not with_events:
            out += [row["id"] for row in learners]
    if with_events:
        with sessions() as s:
            out = s.scalars(
                select(ProvisioningEvent.id)
                .where(ProvisioningEvent.company_id == company_id, ProvisioningEvent.token_name == "bench seed",
                       ProvisioningEvent.processed_at.is_(None))
                .order_by(ProvisioningEvent.id)
            ).all()  # fmt: skip
    return out
