"""Every SCIM route, registered once on the SCIM blueprint (imported by ``blueprint.routes``)."""

from service.scim import bulk, discovery  # noqa: F401  (import registers the discovery and /Bulk routes)
from service.scim.blueprint import bp
from service.scim.groups.routes import bp as groups
from service.scim.users.routes import bp as users

bp.register_blueprint(users)
bp.register_blueprint(groups)
