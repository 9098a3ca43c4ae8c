"""The filter whitelist for Users: which SCIM attributes map to which columns or JSON keys."""

from sqlalchemy import and_

from models import Learner
from service.scim.errors import InvalidFilter
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


def scope_key(scope):
    """The prefix of an extension attribute's name in ``Company.custom_attributes``."""
    return "extension" if scope == "learner" else scope


# Extracted, indexed columns: Entra's lookups never touch the JSON document.
_COLUMNS = {
    (None, "username", None): (Learner.user_name_key, "key_string"),
    (None, "externalid", None): (Learner.external_id_lower, "lower_string"),
    (None, "id", None): (Learner.id, "string"),
    (None, "active", None): (Learner.active, "bool"),
    (None, "displayname", None): (Learner.display_name, "ci_string"),
    (None, "meta", "created"): (Learner.created_at, "datetime"),
    (None, "meta", "lastmodified"): (Learner.updated_at, "datetime"),
}


class UserResolver:
    """Resolves filter attribute paths for one company's learners (see filter_sql)."""

    def __init__(self, dialect_name, extension_urn=None, custom_spelling=None):
        self.dialect_name = dialect_name
        self.document = Learner.resource
        self.extension_urn = extension_urn or LEARNER_PLACEHOLDER
        # Undeclared attributes the company's IdP has sent (see users/mapping.custom_attribute_names):
        # ``custom_spelling(lower_name)`` gives one's stored spelling, or None. Asked only for
        # an attribute Herd does not declare (``users.custom_names`` reads the company's list then).
        self.custom_spelling = custom_spelling or (lambda _lower: None)
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

    def _custom(self, scope, path):
        """The stored spelling of an undeclared attribute the company's IdP has sent, else None."""
        name = path.attr.lower()
        if scope == "core":
            if name in ("id", "externalid", "meta", "schemas"):
                return path.attr
            key = name
        elif scope in ("enterprise", "learner"):
            key = f"{scope_key(scope)}:{name}"
        else:
            key = f"{path.urn.lower()}:{name}"
        spelled = self.custom_spelling(key)
        return spelled.rsplit(":", 1)[-1] if spelled else None

    def json_key(self, path):
        """The key chain of the path in the stored document (canonical names).

        A filter on an attribute Herd does not declare and the company's IdP never
        sent is a 400 naming it: matching nothing would make an IdP create a duplicate.
        """
        scope, defs = self._scope(path)
        attr = defs.get(path.attr.lower())
        custom = None if attr else self._custom(scope, path)
        if attr is None and custom is None:
            raise InvalidFilter(
                f"Unknown attribute '{path}' in filter: Herd has no such User attribute and this company's "
                "identity provider has never sent it. Check the attribute's spelling in the IdP's mapping."
            )
        name = attr.name if attr else custom
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
