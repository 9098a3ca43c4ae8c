"""``POST /Bulk`` (RFC 7644 §3.7): many Users and Groups operations in one request.

Each operation is dispatched through the app exactly as its single-request twin would be
(``dispatch``): the same routes, authentication with the caller's token, rate limit,
validation, uniqueness checks, event in the outbox and failure record. Nothing about an
operation is written here. So each operation is its own transaction, all or nothing, and
every committed operation has its provisioning event; a crash half-way (a killed worker,
a lost connection) leaves the operations committed before it, each with its event, and
none of the later ones. Sending the same request again converges: a POST already made
answers 409 (``userName`` and group ``displayName`` are unique), the others are made.

What is checked here, before any operation runs:

- the body: a JSON object whose ``Operations`` is a list; more than ``MAX_OPERATIONS``
  operations or a body over ``MAX_PAYLOAD_BYTES`` is a 413 and nothing is applied;
- ``bulkId``: unique in the request (else a 400 for the whole request), required on POST.

Each operation then gets a result (``status``, ``location``, ``version``, ``bulkId``, and
the SCIM error as ``response`` on failure). ``bulkId:<id>`` references (a whole string
value, a path segment ``/Groups/bulkId:<id>``, or a quoted value in a PATCH path filter)
are replaced by the id the referenced POST created. An operation waits for the POSTs it
references (so a reference may point forward); one whose references form a cycle, or
refer to a POST that failed, gets a 409; a reference to a bulkId no operation defines, a
400. ``failOnErrors``: processing stops once that many operations have failed.

Rate limit: the /Bulk request is counted once at the door and every operation is counted
like its twin. An operation over the company's per-second burst waits for the next second
(for at most ``MAX_RATE_WAIT_SECONDS`` in all), so a 1,000-operation request is paced to
the company's budget; over the per-minute budget the operation and every later one get
a 429 result and are not applied.
"""

import re
import time

import orjson
from flask import current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.test import EnvironBuilder

from service import current, db
from service.edge import input_limits
from service.scim.blueprint import bp
from service.scim.errors import InvalidSyntax, InvalidValue, PayloadTooLarge, ScimError, error_body
from service.scim.http import MEDIA_TYPE, scim_response

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
# Published in /ServiceProviderConfig (the figures and why: service.edge.input_limits).
MAX_OPERATIONS = input_limits.MAX_BULK_OPERATIONS
MAX_PAYLOAD_BYTES = input_limits.MAX_BULK_PAYLOAD_BYTES
# Waiting for the per-second burst: at most this long in all for one /Bulk request (Entra
# gives a request 60 s).
MAX_RATE_WAIT_SECONDS = 30.0
MAX_BULK_ID = 200
METHODS = ("POST", "PUT", "PATCH", "DELETE")
REFERENCE = "bulkId:"
# A path an operation may name: a resource type, or one resource of it (its id, or a bulkId reference).
_PATH = re.compile(r"^/(Users|Groups)(?:/([^/?#\s]+))?$")
# A bulkId reference quoted inside a PATCH path: members[value eq "bulkId:qwerty"].
_QUOTED_REFERENCE = re.compile(r'"bulkId:([^"]+)"')


class Operation:
    """One operation of the request as parsed: what it asks for, its references, its result."""

    def __init__(self, index, method, path, bulk_id, version, data):
        self.index = index
        self.method = method
        self.path = path
        self.bulk_id = bulk_id
        self.version = version
        self.data = data
        self.references = set()
        self.problem = None  # the 400 it gets without being run (``problem``)
        self.result = None


def read_body():
    """The request body as a dict, within ``MAX_PAYLOAD_BYTES`` (else a 413, nothing read)."""
    too_large = PayloadTooLarge(
        f"The bulk request is larger than maxPayloadSize ({MAX_PAYLOAD_BYTES:,} bytes); nothing was applied. "
        "Split it into several requests.",
        headers={"Connection": "close"},  # the unread body stays on the socket
    )
    if (request.content_length or 0) > MAX_PAYLOAD_BYTES:
        raise too_large
    # This request only: every other request keeps the app's smaller body limit.
    request.max_content_length = MAX_PAYLOAD_BYTES
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large from None
    if not raw:
        raise InvalidSyntax(f'The request body is empty; send a BulkRequest ({BULK_REQUEST}) with "Operations".')
    body = input_limits.load_json(raw)
    if not isinstance(body, dict):
        raise InvalidSyntax("The request body must be a JSON object (a BulkRequest).")
    return body


def _field(obj, name):
    """``obj[name]`` matched case-insensitively (clients write ``Operations`` and ``operations``)."""
    lower = name.lower()
    return next((v for k, v in obj.items() if isinstance(k, str) and k.lower() == lower), None)


def parse(body):
    """``(operations, fail_on_errors)`` of a BulkRequest; a malformed request is a ScimError
    (400, or 413 over ``MAX_OPERATIONS``) and nothing is applied."""
    raw_ops = _field(body, "Operations")
    if not isinstance(raw_ops, list):
        raise InvalidSyntax(
            f'A BulkRequest needs "Operations": a list of {{"method", "path", "bulkId", "data"}} objects ({BULK_REQUEST}).'
        )
    if len(raw_ops) > MAX_OPERATIONS:
        raise PayloadTooLarge(
            f"The bulk request has {len(raw_ops):,} operations; maxOperations is {MAX_OPERATIONS:,}. "
            "Nothing was applied; split it into several requests."
        )
    fail_on_errors = _field(body, "failOnErrors")
    if fail_on_errors is not None and (
        isinstance(fail_on_errors, bool) or not isinstance(fail_on_errors, int) or fail_on_errors < 1
    ):
        raise InvalidValue("failOnErrors must be a positive integer (the number of errors after which to stop).")
    operations, bulk_ids = [], set()
    for index, raw in enumerate(raw_ops, start=1):
        if not isinstance(raw, dict):
            raise InvalidSyntax(f"Operation {index} must be an object with method, path and data.")
        bulk_id = _field(raw, "bulkId")
        if bulk_id is not None:
            if not isinstance(bulk_id, str) or not bulk_id or len(bulk_id) > MAX_BULK_ID:
                raise InvalidValue(f"Operation {index}: bulkId must be a non-empty string of at most {MAX_BULK_ID}.")
            if bulk_id in bulk_ids:
                raise InvalidValue(
                    f"Operation {index}: bulkId {input_limits.show(bulk_id)} is used twice; each must be unique."
                )
            bulk_ids.add(bulk_id)
        method, path, version = (_field(raw, name) for name in ("method", "path", "version"))
        operations.append(
            Operation(
                index,
                method.upper() if isinstance(method, str) else method,
                path,
                bulk_id,
                version,
                _field(raw, "data"),
            )
        )
    return operations, fail_on_errors


def problem(op):
    """The 400 an operation gets without being run (bad method, path, data), or None."""
    if op.method not in METHODS:
        return InvalidValue(f"method must be one of {', '.join(METHODS)}, not {input_limits.show(op.method)}.")
    if not isinstance(op.path, str):
        return InvalidSyntax('path is required: "/Users" or "/Groups" for POST, "/Users/{id}" for the others.')
    found = _PATH.match(op.path)
    if found is None:
        return InvalidValue(
            f"path {input_limits.show(op.path)} is not a path /Bulk serves: "
            '"/Users" or "/Groups" for POST, "/Users/{id}" or "/Groups/{id}" for PUT, PATCH and DELETE.'
        )
    if (op.method == "POST") == (found.group(2) is not None):
        return InvalidValue(
            f"{op.method} needs the path "
            + (
                'of a resource type, "/Users" or "/Groups".'
                if op.method == "POST"
                else 'of one resource, "/Users/{id}".'
            )
        )
    if op.method == "POST" and op.bulk_id is None:
        return InvalidSyntax("bulkId is required on POST (RFC 7644 §3.7), to name the result.")
    if op.method != "DELETE" and not isinstance(op.data, dict):
        return InvalidSyntax(f"data is required on {op.method}: the body its single request would send, an object.")
    if op.version is not None and not isinstance(op.version, str):
        return InvalidValue('version must be a string (the ETag, W/"...").')
    return None


def _path_id(path):
    """The resource id of an operation's (checked) path, or None for a resource type's path."""
    return _PATH.match(path).group(2)


def _references(value, found):
    """Add every bulkId referenced in ``value`` (any depth) to ``found``."""
    if isinstance(value, str):
        if value.startswith(REFERENCE):
            found.add(value[len(REFERENCE) :])
        else:
            found.update(_QUOTED_REFERENCE.findall(value))
    elif isinstance(value, dict):
        for item in value.values():
            _references(item, found)
    elif isinstance(value, list):
        for item in value:
            _references(item, found)


def _resolved(value, ids):
    """``value`` with every bulkId reference replaced by the id its POST created."""
    if isinstance(value, str):
        if value.startswith(REFERENCE):
            return ids[value[len(REFERENCE) :]]
        if '"bulkId:' in value:
            return _QUOTED_REFERENCE.sub(lambda m: f'"{ids[m.group(1)]}"', value)
        return value
    if isinstance(value, dict):
        return {key: _resolved(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolved(item, ids) for item in value]
    return value


def _result(op, status, location=None, version=None, error=None):
    result = {"method": op.method if isinstance(op.method, str) else str(op.method)}
    if op.bulk_id is not None:
        result["bulkId"] = op.bulk_id
    if location:
        result["location"] = location
    if version:
        result["version"] = version
    result["status"] = str(status)
    if error is not None:
        result["response"] = error
    return result


def _failure(op, err):
    return _result(op, err.status, error=error_body(err))


def dispatch(method, path, data, version):
    """Run one operation as its single request: a request of its own through the whole app
    (before-request hooks, the route, after-request hooks, teardown), in a fresh app context
    so that it has its own ``g``, caller and database session. Returns the Response."""
    app = current_app._get_current_object()
    headers = {"Content-Type": MEDIA_TYPE}
    authorization = request.headers.get("Authorization")
    if authorization is not None:
        headers["Authorization"] = authorization
    if version:
        headers["If-Match"] = version
    builder = EnvironBuilder(
        path=f"{request.script_root}/scim/v2/{g.company_id}{path}",
        method=method,
        headers=headers,
        data=orjson.dumps(data) if data is not None else None,
        environ_base={
            "REMOTE_ADDR": request.remote_addr or "",
            "wsgi.url_scheme": request.scheme,
            "herd.request_id": request.environ.get("herd.request_id", ""),
        },
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    with app.app_context(), app.request_context(environ):
        return app.full_dispatch_request()


def _retry_after(response):
    try:
        return max(1, int(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1


class Runner:
    """Runs the operations of one request in order, each when its references are known."""

    def __init__(self, operations, fail_on_errors, base):
        self.operations = operations
        self.fail_on_errors = fail_on_errors
        self.base = base  # the tenant URL: locations are built on it
        # Only a POST makes an id to refer to.
        self.by_bulk_id = {op.bulk_id: op for op in operations if op.bulk_id is not None and op.method == "POST"}
        self.ids = {}  # bulkId -> id its POST created
        self.errors = 0
        self.waited = 0.0
        self.out_of_budget = None  # the 429 error body once the per-minute budget is spent

    def stopped(self):
        """Whether ``failOnErrors`` errors have been reached."""
        return self.fail_on_errors is not None and self.errors >= self.fail_on_errors

    def finish(self, op, result):
        op.result = result
        if int(result["status"]) >= 400:
            self.errors += 1

    def run_all(self):
        """Give every operation its result, unless ``failOnErrors`` stops the run first."""
        pending = []
        for op in self.operations:
            err = problem(op)
            if err is None:
                _references(_path_id(op.path), op.references)
                _references(op.data, op.references)
                unknown = sorted(ref for ref in op.references if ref not in self.by_bulk_id)
                if unknown:
                    err = InvalidValue(
                        f"bulkId {input_limits.show(unknown[0])} is referenced but no POST of this request has it."
                    )
            if err is not None:
                op.references = set()
                op.problem = err
            pending.append(op)
        # In order; an operation whose references are not all made yet waits for a later pass.
        while pending and not self.stopped():
            waiting = []
            for op in pending:
                if self.stopped():
                    return
                if op.problem is not None:
                    self.finish(op, _failure(op, op.problem))
                    continue
                blocked = self.blocked_by(op)
                if blocked is None:
                    self.finish(op, self.run(op))
                elif blocked:
                    waiting.append(op)
                else:  # a referenced POST failed
                    self.finish(op, _failure(op, self.conflict(op, "failed, so its id is not known")))
            if len(waiting) == len(pending):
                # No progress: what is left waits on itself (a cycle) or on a cycle.
                for op in waiting:
                    if self.stopped():
                        return
                    self.finish(op, _failure(op, self.conflict(op, "is part of a circular reference")))
                return
            pending = waiting

    def blocked_by(self, op):
        """None when every reference is made; True while one is still to run; False if one failed."""
        for ref in op.references:
            if ref not in self.ids:
                # Run without an id to show for it: it failed.
                return self.by_bulk_id[ref].result is None
        return None

    def conflict(self, op, why):
        refs = sorted(ref for ref in op.references if ref not in self.ids)
        return ScimError(
            f"The operation with bulkId {input_limits.show(refs[0] if refs else '')} {why}; this operation was not applied.",
            status=409,
        )

    def run(self, op):
        """Run one operation whose references are all made; its result."""
        if self.out_of_budget is not None:
            return _result(op, 429, error=self.out_of_budget)
        resource_id = _path_id(op.path)
        path = op.path if resource_id is None else f"{op.path.rsplit('/', 1)[0]}/{_resolved(resource_id, self.ids)}"
        data = _resolved(op.data, self.ids) if op.method != "DELETE" else None
        while True:
            response = dispatch(op.method, path, data, op.version)
            if response.status_code != 429:
                break
            seconds = _retry_after(response)
            if seconds > 1 or self.waited + seconds > MAX_RATE_WAIT_SECONDS:
                # The per-minute budget (or the wait allowed): this and every later operation get 429.
                self.out_of_budget = response.get_json(silent=True) or {}
                return _result(op, 429, error=self.out_of_budget)
            # The per-second burst: the next second has room.
            time.sleep(seconds)
            self.waited += seconds
        status = response.status_code
        location = response.headers.get("Location")
        if location is None and op.method != "POST":
            location = f"{self.base}{path}"
        version = response.headers.get("ETag")
        if status >= 400:
            return _result(op, status, location, error=response.get_json(silent=True))
        if op.method == "POST" and location:
            self.ids[op.bulk_id] = location.rsplit("/", 1)[-1]
        return _result(op, status, location, version)


def bulk_response(operations, fail_on_errors, base):
    """Run ``operations`` and build the BulkResponse (200; each operation's own status inside)."""
    # The caller's read (authentication) ends its transaction here: each operation has its own.
    db.session().close()
    runner = Runner(operations, fail_on_errors, base)
    runner.run_all()
    results = [op.result for op in operations if op.result is not None]
    return scim_response({"schemas": [BULK_RESPONSE], "Operations": results})


@bp.post("/Bulk")
def bulk():
    """POST /Bulk (RFC 7644 §3.7): 200 with a BulkResponse; each operation's status inside it."""
    operations, fail_on_errors = parse(read_body())
    base = f"{current.settings().public_base_url}/scim/v2/{g.company_id}"
    return bulk_response(operations, fail_on_errors, base)
