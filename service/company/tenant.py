"""A company as a tenant: its SCIM tenant URL and its creation (operator CLI, dashboard, tests)."""

from sqlalchemy import text

from models import Company
from service import current


def tenant_url(company_id):
    """The SCIM tenant URL an admin pastes into the identity provider."""
    return f"{current.settings().public_base_url}/scim/v2/{company_id}"


def create_company(session, name, company_id=None):
    """Insert a company (with an explicit id if given) and keep PostgreSQL's sequence ahead of it."""
    company = Company(name=name, id=company_id)
    session.add(company)
    session.flush()
    if company_id is not None and session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT setval(pg_get_serial_sequence('companies', 'id'), (SELECT MAX(id) FROM companies))")
        )
    return company
