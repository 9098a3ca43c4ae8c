"""What the views of every SCIM resource type share: settings, creation, the write path, one-resource views.

The caller is authenticated once for the whole SCIM blueprint
(``service.scim.blueprint``) and found here in ``g.caller``.
"""

from flask import g
from flask.views import MethodView

from service import current, db
from service.scim.errors import Conflict
from service.scim.http import check_version, json_body, patch_operations
from service.scim.writes import Stale

# A write that lost a race is made again on the resource as it now is (``Stale``). A store
# reads it again under a lock, so the second attempt cannot lose: the bound is a safeguard.
WRITE_ATTEMPTS = 5


def settings():
    """The app's Settings."""
    return current.settings()


def create(create_in_store, body):
    """POST: the store creates the resource and its event; commit. Returns the resource."""
    session = db.lazy_session()
    resource = create_in_store(session, g.caller, body)
    db.commit(session)
    return resource


def write(get, resource_id, change, read_body=None):
    """PUT, PATCH and DELETE: load, check If-Match, read the body, change in the store, commit.
    Returns the resource as written.

    The order is the client's: 404 before 412 before a bad body. When another request
    wrote the resource between its read and this write, the store raises ``Stale`` having
    written nothing, and the write is checked and made again on the resource as it now is:
    a PATCH applies its operations to the other request's result, and an If-Match that
    named the version read is now a 412.
    """
    session = db.lazy_session()
    resource = get(db.session, g.caller, resource_id)
    check_version(resource.version)
    args = () if read_body is None else (read_body(),)
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            written = change(session, g.caller, resource, *args)
            break
        except Stale as stale:
            if attempt == WRITE_ATTEMPTS:
                raise Conflict(
                    f"Other requests changed this resource {WRITE_ATTEMPTS} times while this one was "
                    "being applied; nothing was changed by it. Send it again."
                ) from None
            resource = stale.current
            check_version(resource.version)
    db.commit(session)
    return written


class ResourceView(MethodView):
    """GET, PUT, PATCH and DELETE of one resource (``/<Type>/<id>``), written once for every type.

    A resource type sets ``store`` (its module of ``get``, ``replace``,
    ``patch``, ``delete``) and ``respond`` (its response for one resource). Reads take
    ``lazy_session`` (the request's session getter, ``db.session``): a store's
    ``get(lazy_session, caller, id)`` calls ``lazy_session()`` only if it needs a query (Users
    answer from the row authentication read). Writes take the session itself: they always
    run a statement.
    """

    store = None

    def respond(self, resource, status=200):
        """The response showing ``resource``."""
        raise NotImplementedError

    def patched(self, resource):
        """The response to a PATCH (the resource, unless the type says otherwise)."""
        return self.respond(resource)

    def get(self, resource_id):
        """GET /<Type>/{id}."""
        return self.respond(self.store.get(db.session, g.caller, resource_id))

    def put(self, resource_id):
        """PUT /<Type>/{id}: the body replaces the resource (RFC 7644 §3.5.1)."""
        return self.respond(write(self.store.get, resource_id, self.store.replace, json_body))

    def patch(self, resource_id):
        """PATCH /<Type>/{id} (RFC 7644 §3.5.2)."""
        operations = patch_operations()  # a malformed body is a 400 before the lookup
        return self.patched(write(self.store.get, resource_id, self.store.patch, lambda: operations))

    def delete(self, resource_id):
        """DELETE /<Type>/{id}: 204."""
        write(self.store.get, resource_id, self.store.delete)
        return "", 204
