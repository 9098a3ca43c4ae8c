"""The names of the custom attributes a company's IdP has sent (``Company.custom_attributes``).

They keep those attributes filterable (``service.scim.users.resolver``). The list is not
read with the token: every request would pay for it, and only two things need it, a
filter on an attribute Herd does not declare and a write that carries one. Both ask
here. Names are only ever added, so what this process has read once stays true: it is
kept (for the most recently used companies) and read again only when a name is not in
it. Only names read from the database are kept, never names a write is about to add
(that write may yet roll back).

A company holds at most ``service.edge.input_limits.MAX_COMPANY_CUSTOM_ATTRIBUTES`` names: a write
that would add more is refused, and writes nothing.
"""

from collections import OrderedDict

from sqlalchemy import select

from models import Company
from service.edge import input_limits

# Companies whose names this process keeps (each at most MAX_COMPANY_CUSTOM_ATTRIBUTES names).
_KEPT_COMPANIES = 512
# (company id, created_at) -> {lower-cased name: name as sent}. created_at tells a new
# company apart from a removed one whose id it was given again (SQLite reuses ids).
_known = OrderedDict()


def _key(company):
    return company.id, company.created_at


def _read(session, company, lock=False):
    query = select(Company.custom_attributes).where(Company.id == company.id)
    if lock:
        query = query.with_for_update()
    names = session.scalar(query) or ()
    found = {name.lower(): name for name in names}
    _known[_key(company)] = found
    _known.move_to_end(_key(company))
    while len(_known) > _KEPT_COMPANIES:
        _known.popitem(last=False)
    return found


def spelling(session, company, lower):
    """The stored spelling of the custom attribute named ``lower`` (lower-cased), or None
    if this company's IdP never sent it."""
    found = _known.get(_key(company))
    if found is not None and lower in found:
        return found[lower]
    return _read(session, company).get(lower)


def record(session, company, names):
    """Remember ``names`` (spelled as sent) for ``company``; the names already known are left
    alone. Returns the company's whole new list when there are new names, else None (the
    caller writes it, ``store._record_extension``). Raises ``InvalidValue`` when the new names
    would take the company past ``MAX_COMPANY_CUSTOM_ATTRIBUTES``.
    """
    found = _known.get(_key(company))
    if found is not None and all(name.lower() in found for name in names):
        return None
    found = _read(session, company)
    if all(name.lower() in found for name in names):
        return None
    # New names (rare): read again under the company row's lock, held to the commit, so a
    # concurrent write adding other names waits instead of overwriting them.
    found = _read(session, company, lock=True)
    new = {name.lower(): name for name in names if name.lower() not in found}
    if not new:
        return None
    input_limits.check_company_custom_attributes(len(found), len(new))
    return sorted({**found, **new}.values())
