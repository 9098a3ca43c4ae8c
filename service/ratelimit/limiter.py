"""Rate limits, counters in the same Redis as the broker.

- SCIM and /api/v1: one budget per company for both surfaces, a per-second burst and a
  per-minute budget (the company's own setting, else the installation's default). A call
  is the company's only once authentication accepted its bearer token (under
  /scim/v2/{company_id}, only when it is that company's): a stranger who knows a tenant URL,
  or holds a revoked token, cannot spend that company's budget. Before any query, a call is
  counted in its source address's budget (20/s, 300/min), unless its token was accepted in
  this process within ``CACHE_SECONDS`` (then in its company's, so a company over its budget
  costs no query either); once accepted, the call moves from the address to the company.
  A refused call stays the address's; a call the database could not answer (503) is given
  back to the address, so a valid token is never limited as a stranger during an outage.
  Counted by ``service.ratelimit.window_counter``: both limits in one Redis round trip (this is the
  hot path of every SCIM call).
- Dashboard sign-in (Flask-Limiter, rare calls): every attempt per source address; failed
  attempts per source address and account (5 in 15 minutes: the "lock" holds only where
  the failures come from) and per account from all sources (a throttle, not a lock: a
  stranger cannot keep an admin out for longer than the window).

Over a limit the answer is 429 with an integer ``Retry-After``, rendered per surface by
``render_rate_limited``. If Redis is unreachable the limits fail open to per-process
in-memory counters and never turn into a 5xx; the enqueuer is told (``mark_down``), so the
same request does not wait for the dead Redis a second time.
"""

import functools
import hashlib
import math
import time
from typing import NamedTuple

from flask import current_app, g, render_template, request
from flask.globals import request_ctx
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from limits import RateLimitItemPerMinute, RateLimitItemPerSecond, parse_many

from service import current
from service.auth import presented_token
from service.auth_cache import ExpiringMap
from service.edge import error_handlers
from service.errors import RateLimited
from service.ratelimit.window_counter import WindowCounter

# Callers without a valid token (a wrong tenant URL, a revoked token, a scanner), per address.
ANONYMOUS_LIMITS = "20/second;300/minute"
_ANONYMOUS_ITEMS = tuple(sorted(parse_many(ANONYMOUS_LIMITS), key=lambda item: item.get_expiry()))
SIGN_IN_PER_ADDRESS = "20/minute;200/hour"
SIGN_IN_FAILURES_PER_SOURCE = "5 per 15 minutes"
SIGN_IN_FAILURES_PER_ACCOUNT = "10/minute"
# Tokens authentication accepted, kept at most this many per process.
CACHE_SIZE = 10_000
# ... and for this long: a new per-company limit applies within these seconds.
CACHE_SECONDS = 5.0
# Callables ``hook(surface)`` in ``app.extensions[ON_RATE_LIMITED]`` run for every 429
# ("scim", "api" or "dashboard"): the place for a metrics counter.
ON_RATE_LIMITED = "herd.on_rate_limited"


def _address():
    return request.remote_addr or "unknown"


@functools.lru_cache(maxsize=256)
def _company_items(per_second, per_minute):
    """The limits of a company budget, shortest window first (0: that limit is off)."""
    items = []
    if per_second:
        items.append(RateLimitItemPerSecond(per_second))
    if per_minute:
        items.append(RateLimitItemPerMinute(per_minute))
    return tuple(items)


class BudgetSpent(Exception):
    """A SCIM or API call over its company's (or its address's) budget: rendered as a 429.
    ``per_address``: the budget is the source address's (no token accepted yet)."""

    def __init__(self, breach, per_address=False):
        super().__init__(breach.item)
        self.breach = breach
        self.per_address = per_address


class _Charge(NamedTuple):
    """Where this request's call is counted so far: ``company`` or ``address``, and the receipt."""

    kind: str
    receipt: object
    token_hash: str | None


def _company_bucket(company_id, per_second, per_minute):
    """``(company id, bucket, limits)`` of a company's budget: its own settings, else the
    installation's. Worked out when authentication accepts a token, and kept with it."""
    settings = current.settings()
    items = _company_items(
        settings.rate_limit_per_second if per_second is None else per_second,
        settings.rate_limit_per_minute if per_minute is None else per_minute,
    )
    return company_id, f"company:{company_id}", items


def _charge(bucket, items, budget=None):
    budget = budget or current_app.extensions["herd.company_budget"]
    breach, receipt = budget.charge(bucket, items)
    if breach is not None:
        raise BudgetSpent(breach, per_address=bucket.startswith("address:"))
    return receipt


def _check_company_budget():
    """before_request, before any query: count a SCIM or API call; over a limit, BudgetSpent.

    A token authentication accepted here within ``CACHE_SECONDS`` (for this tenant URL's
    company) is counted in its company's budget at once, so a company over its budget costs
    no query. Any other call is counted in its address's budget first, so a flood of bogus
    tokens costs Redis and never the database; once authentication accepts the token the
    call moves to the company (``_after_authentication``).
    """
    if not _in_company_blueprint():
        return
    # The same reading of the header as authentication (a bare token counts too: Okta), and
    # the same hash: worked out once for both.
    token_hash = presented_token()[1]
    extensions = current_app.extensions
    known = extensions["herd.rate_limit_tokens"].get(token_hash) if token_hash else None
    # The tenant URL's company: SCIM's url_value_preprocessor (which runs before this) took it
    # out of view_args into g. /api/v1 names none: the token's own company is the one.
    url_company = g.get("company_id")
    budget = extensions["herd.company_budget"]
    if known is not None and (url_company is None or known[0] == url_company):
        g.rate_charge = _Charge("company", _charge(known[1], known[2], budget), token_hash)
    else:
        g.rate_charge = _Charge("address", _charge(f"address:{_address()}", _ANONYMOUS_ITEMS, budget), token_hash)


def _after_authentication():
    """before_request of the limited blueprints, right after their authentication (which
    raised if it refused the token): the call is the company's. A call counted in its
    address's budget moves to the company's (remembering the token for the next calls)."""
    charge = g.pop("rate_charge", None)
    caller = g.get("caller")
    if charge is None or caller is None or charge.kind == "company":
        return
    company = caller.company
    known = _company_bucket(company.id, company.rate_limit_per_second, company.rate_limit_per_minute)
    if charge.token_hash is not None:
        current_app.extensions["herd.rate_limit_tokens"].put(charge.token_hash, known)
    budget = current_app.extensions["herd.company_budget"]
    budget.refund(charge.receipt)
    _charge(known[1], known[2], budget)


def _settle(response):
    """after_request: a call authentication never accepted. Refused (401): it is the
    address's, never the company's, even for a token accepted a moment before its
    revocation. The database away (503): the address's deposit goes back, so a valid token
    is never limited as a stranger because its company could not be read."""
    charge = g.pop("rate_charge", None)
    if charge is None:
        return response
    budget = current_app.extensions["herd.company_budget"]
    if response.status_code == 401 and charge.kind == "company":
        current_app.extensions["herd.rate_limit_tokens"].forget(charge.token_hash)
        budget.refund(charge.receipt)
        # Counted, not refused: the answer is already given.
        budget.charge(f"address:{_address()}", _ANONYMOUS_ITEMS)
    elif response.status_code == 503 and charge.kind == "address":
        budget.refund(charge.receipt)
    return response


def account_hash(email):
    """The account part of a sign-in bucket: a hash, so no email address is stored in Redis."""
    normalized = (email or "").strip().lower()
    return hashlib.sha256(normalized.encode()).hexdigest()[:24] if normalized else ""


def _sign_in_account():
    return account_hash(request.form.get("email"))


def _sign_in_source():
    account = _sign_in_account()
    return f"{_address()}|{account}" if account else ""


def _refused(response):
    # A refused sign-in shows the form again (200); a success redirects.
    return response.status_code == 200


def init_app(app, settings):
    """Create this app's counters on the broker's Redis: the company budget's and the
    sign-in limiter's (Flask-Limiter); attach the 429 rendering."""
    limiter = Limiter(
        key_func=_address,
        storage_uri=settings.broker_url,
        # A dead Redis must fail fast (then fall back), never hold a request.
        storage_options={"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        strategy="fixed-window",
        key_prefix="herd",
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        headers_enabled=False,
    )
    limiter.init_app(app)
    # Flask-Limiter's only limits here are the sign-in view's decorators, which check when
    # that view runs. Its before_request pass (for default and blueprint limits, of which
    # there are none) would find nothing to count on every other request: it is dropped.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    _flask_limiter_hooks_when_used(app, limiter)
    app.extensions["herd.limiter"] = limiter
    app.extensions["herd.company_budget"] = WindowCounter(settings.broker_url, on_down=_tell_enqueuer)
    app.extensions["herd.company_blueprints"] = set()  # filled by limit_company_blueprints
    # Token hash -> (company id, its bucket, its limits) of tokens authentication
    # accepted in this process lately. Filled only by authentication: the limiter itself
    # never queries the database.
    app.extensions["herd.rate_limit_tokens"] = ExpiringMap(CACHE_SIZE, CACHE_SECONDS)
    # Registered here, before the later app hooks: a flood of hostile calls is throttled first.
    app.before_request(_check_company_budget)
    app.after_request(_settle)
    app.register_error_handler(RateLimitExceeded, render_rate_limited)
    app.register_error_handler(BudgetSpent, render_rate_limited)
    return limiter


def _flask_limiter_hooks_when_used(app, limiter):
    """Flask-Limiter's after_request (conditional deductions, headers) and teardown (its
    per-request state reset) run only on a request where one of its limits ran.

    Its only limits are on the sign-in and token views (``limit_sign_in``,
    ``service.oauth.token_endpoint``); on any other request both hooks would make its
    per-request state just to find it empty, on every SCIM call. Its state lives on the
    request context (``_limiter_request_context``) from the moment a limit touches it,
    so a request without it has nothing for either hook to do."""
    inject = app.after_request_funcs[None]
    for i, hook in enumerate(inject):
        if getattr(hook, "func", None) is getattr(Limiter, "_Limiter__inject_headers", None):
            inject[i] = functools.wraps(hook.func)(
                lambda response, hook=hook: hook(response) if _limiter_state_made() else response
            )
    teardown = app.teardown_request_funcs[None]
    for i, hook in enumerate(teardown):
        if hook == getattr(limiter, "_Limiter__release_context", None):
            teardown[i] = functools.wraps(hook)(
                lambda exc=None, hook=hook: hook(exc) if _limiter_state_made() else None
            )


def _limiter_state_made():
    return hasattr(request_ctx._get_current_object(), "_limiter_request_context")


def limit_company_blueprints(app, *blueprints):
    """One shared per-company budget over the given blueprints (SCIM and /api/v1), each
    already registered with its authentication as its own before_request."""
    app.extensions["herd.company_blueprints"].update(bp.name for bp in blueprints)
    for bp in blueprints:
        # After the blueprint's authentication: it runs only for an accepted token.
        app.before_request_funcs.setdefault(bp.name, []).append(_after_authentication)


def _in_company_blueprint():
    # "scim.users" is nested in "scim": the budget covers a blueprint and all it nests.
    name = request.blueprint
    return name is not None and name.partition(".")[0] in current_app.extensions["herd.company_blueprints"]


def limit_sign_in(app, endpoint="dashboard.login"):
    """Wrap the sign-in view with the per-address, per-source and per-account limits."""
    limiter = app.extensions["herd.limiter"]
    view = app.view_functions[endpoint]
    view = limiter.shared_limit(SIGN_IN_PER_ADDRESS, scope="sign-in", methods=["POST"])(view)
    view = limiter.shared_limit(
        SIGN_IN_FAILURES_PER_SOURCE,
        scope="sign-in-source",
        key_func=_sign_in_source,
        methods=["POST"],
        deduct_when=_refused,
    )(view)
    view = limiter.shared_limit(
        SIGN_IN_FAILURES_PER_ACCOUNT,
        scope="sign-in-account",
        key_func=_sign_in_account,
        methods=["POST"],
        deduct_when=_refused,
    )(view)
    app.view_functions[endpoint] = _sharing_outage(limiter, view)


def _sharing_outage(limiter, view):
    """Around the limited sign-in view: when Flask-Limiter finds its Redis (the broker)
    dead during this request, tell the enqueuer too. ``_storage_dead`` is Flask-Limiter's
    own flag for "fell back to memory"."""

    @functools.wraps(view)
    def sign_in(*args, **kwargs):
        was_dead = limiter._storage_dead
        try:
            return view(*args, **kwargs)
        finally:
            if limiter._storage_dead and not was_dead:
                _tell_enqueuer()

    return sign_in


def _tell_enqueuer():
    mark_down = getattr(current_app.extensions.get("herd.enqueuer"), "mark_down", None)
    if mark_down is not None:
        mark_down()


def forget_sign_in_failures(app, email):
    """Clear an account's failed sign-in counters (all sources); returns how many were cleared.

    Used by ``flask admins unlock``. Best effort: if Redis is down there is nothing to clear.
    """
    limiter = app.extensions["herd.limiter"]
    marker = account_hash(email)
    cleared = 0
    for storage in (limiter.storage, getattr(limiter, "_fallback_storage", None)):
        client = getattr(storage, "storage", None)
        try:
            if hasattr(client, "scan_iter"):  # Redis
                for key in client.scan_iter(match=f"*{marker}*", count=500):
                    if b"sign-in-" in key:
                        cleared += client.delete(key)
            elif isinstance(client, dict):  # the in-memory fallback
                for key in [k for k in client if marker in k and "sign-in-" in k]:
                    storage.clear(key)
                    cleared += 1
        except Exception:  # Redis unreachable: its counters expire by themselves
            continue
    return cleared


def retry_after_seconds():
    """Whole seconds until the breached limit's window resets (at least 1)."""
    breached = current_app.extensions["herd.limiter"].current_limit
    if breached is None:
        return 1
    try:
        reset_at = breached.window[0]
    except Exception:  # storage gone between the check and now: a full window is a safe answer
        return max(1, int(breached.limit.get_expiry()))
    return max(1, math.ceil(reset_at - time.time()))


def _describe(seconds):
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def render_rate_limited(err):
    """The 429 for this surface: a SCIM Error, an API JSON error or a dashboard page,
    each with ``Retry-After`` (whole seconds)."""
    if isinstance(err, BudgetSpent):
        seconds, item = err.breach.retry_after, err.breach.item
    else:  # Flask-Limiter's (sign-in)
        seconds, item = retry_after_seconds(), getattr(getattr(err, "limit", None), "limit", None)
    headers = {"Retry-After": str(seconds)}
    path = request.path
    surface = "scim" if path.startswith("/scim/") else "api" if path.startswith("/api/") else "dashboard"
    for hook in current_app.extensions.get(ON_RATE_LIMITED, ()):
        hook(surface)
    if surface in ("scim", "api"):
        if getattr(err, "per_address", False):
            # Calls without an accepted token, counted per source address: no company is
            # concerned, and raising a company's limit would not help.
            detail = (
                f"Too many requests from this address without an accepted token (limit {_limit_text(item)}). "
                f"Retry after {_describe(seconds)}."
            )
        elif surface == "scim":
            detail = (
                f"Too many requests for this company (limit {_limit_text(item)}). Retry after {_describe(seconds)}; "
                "the operator can raise the company's limit with './herd companies rate-limit'."
            )
        else:
            detail = f"Too many requests (limit {_limit_text(item)}). Retry after {_describe(seconds)}."
        # SCIM: a SCIM Error (recorded for the activity page like any failed call); API: JSON.
        return error_handlers.render(RateLimited(detail, headers=headers))
    message = f"Too many sign-in attempts. Wait {_describe(seconds)} before trying again."
    return (
        render_template("dashboard/error.html", title="Too many attempts", message=message),
        429,
        headers,
    )


def _limit_text(item):
    if item is None:
        return "reached"
    unit = item.GRANULARITY.name
    per = f"{item.multiples} {unit}s" if item.multiples != 1 else unit
    return f"{item.amount} per {per}"
