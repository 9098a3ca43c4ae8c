"""The filter whitelist for Users: which SCIM attributes map to which columns or JSON keys."""

from sqlalchemy import and_

from models import Learner
from service.scim.filter_sql import to_clause
from service.scim.filters import ValuePath, eq_defaults
from service.scim.users.attributes import (
    ENTERPRISE,
    ENTERPRISE_BY_LOWER,
    LEARNER_BY_LOWER,
    LEARNER_PLACEHOLDER,
    USER_BY_LOWER,
    extension_kind,
)

# Extracted, indexed columns: Entra's lookups never touch the JSON document.
_COLUMNS = {
    (None, "username", None): (Learner.user_name_lower, "lower_string"),
    (None, "externalid", None): (Learner.external_id_lower, "lower_string"),
    (None, "id", None): (Learner.id, "string"),
    (None, "active", None): (Learner.active, "bool"),
    (None, "displayname", None): (Learner.display_name, "ci_string"),
    (None, "meta", "created"): (Learner.created_at, "datetime"),
    (None, "meta", "lastmodified"): (Learner.updated_at, "datetime"),
}


class UserResolver:
    """Resolves filter attribute paths for one company's learners (see filter_sql)."""

    def __init__(self, dialect_name, extension_urn=None):
        self.dialect_name = dialect_name
        self.document = Learner.resource
        self.extension_urn = extension_urn or LEARNER_PLACEHOLDER
        self._exact = False

    def own_clause(self, expr):
        """Entra's ``emails[type eq "work"].value eq "x"`` narrowed by the indexed work-email column.

        The JSON condition still decides; the column only lets the database use
        an index instead of scanning every learner's emails.
        """
        if self._exact or not isinstance(expr, ValuePath) or expr.path.attr.lower() != "emails":
            return None
        wanted = {k.lower(): v for k, v in eq_defaults(expr.filter).items()}
        if str(wanted.get("type", "")).lower() != "work" or not isinstance(wanted.get("value"), str):
            return None
        self._exact = True
        try:
            exact = to_clause(expr, self)
        finally:
            self._exact = False
        return and_(Learner.email_lower == wanted["value"].lower(), exact)

    def _scope(self, path):
        """('core'|'enterprise'|'learner', definitions) for a path's schema."""
        if path.urn is None or path.urn.lower() == "urn:ietf:params:scim:schemas:core:2.0:user":
            return "core", USER_BY_LOWER
        kind = extension_kind(path.urn)
        if kind == "enterprise":
            return kind, ENTERPRISE_BY_LOWER
        if kind == "learner":
            return kind, LEARNER_BY_LOWER
        return None, {}

    def column(self, path):
        """An extracted column for the path, or None to use the JSON document."""
        scope, _ = self._scope(path)
        if scope != "core":
            return None
        attr, sub = path.attr.lower(), (path.sub or "").lower() or None
        return _COLUMNS.get((None, attr, sub))

    def multi_valued(self, path):
        """True for emails, phoneNumbers, addresses, roles."""
        _, defs = self._scope(path)
        attr = defs.get(path.attr.lower())
        return bool(attr and attr.multi)

    def json_key(self, path):
        """The key chain of the path in the stored document (canonical names)."""
        scope, defs = self._scope(path)
        attr = defs.get(path.attr.lower())
        name = attr.name if attr else path.attr
        keys = [name]
        if path.sub:
            sub = next((s.name for s in (attr.sub if attr else ()) if s.name.lower() == path.sub.lower()), path.sub)
            keys.append(sub)
        if scope == "enterprise":
            keys.insert(0, ENTERPRISE)
        elif scope == "learner":
            keys.insert(0, self.extension_urn)
        elif scope is None:
            keys.insert(0, path.urn)
        return keys
