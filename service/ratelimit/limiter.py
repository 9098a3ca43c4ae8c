"""Rate limits, counters in the same Redis as the broker.

- SCIM and /api/v1: one budget per company for both surfaces, a per-second burst and a
  per-minute budget (the company's own setting, else the installation's default). The
  company is the one the bearer token belongs to, looked up here by the token's hash (and,
  under /scim/v2/{company_id}, only when it is the company in the URL): a stranger who
  knows a tenant URL cannot spend that company's budget. Calls without a valid token are
  limited per source address instead. Counted by ``service.ratelimit.window_counter``: both limits
  in one Redis round trip (this is the hot path of every SCIM call).
- Dashboard sign-in (Flask-Limiter, rare calls): every attempt per source address; failed
  attempts per source address and account (5 in 15 minutes: the "lock" holds only where
  the failures come from) and per account from all sources (a throttle, not a lock: a
  stranger cannot keep an admin out for longer than the window).

Over a limit the answer is 429 with an integer ``Retry-After``, rendered per surface by
``render_rate_limited``. If Redis is unreachable the limits fail open to per-process
in-memory counters and never turn into a 5xx; the enqueuer is told (``mark_down``), so the
same request does not wait for the dead Redis a second time.
"""

import contextlib
import functools
import hashlib
import math
import threading
import time

from flask import current_app, render_template, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from limits import RateLimitItemPerMinute, RateLimitItemPerSecond, parse_many
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from models import AccessToken, Company, hash_token, utcnow
from service import current, db
from service.auth import bearer_secret
from service.edge import error_handlers
from service.errors import RateLimited
from service.ratelimit.window_counter import WindowCounter

# Callers without a valid token (a wrong tenant URL, a revoked token, a scanner), per address.
ANONYMOUS_LIMITS = "20/second;300/minute"
_ANONYMOUS_ITEMS = tuple(sorted(parse_many(ANONYMOUS_LIMITS), key=lambda item: item.get_expiry()))
SIGN_IN_PER_ADDRESS = "20/minute;200/hour"
SIGN_IN_FAILURES_PER_SOURCE = "5 per 15 minutes"
SIGN_IN_FAILURES_PER_ACCOUNT = "10/minute"
# token hash -> company lookups kept at most this many per process (only hits are cached).
CACHE_SIZE = 10_000
# ... and for this long: a new per-company limit applies within these seconds.
CACHE_SECONDS = 5.0
# Callables ``hook(surface)`` in ``app.extensions[ON_RATE_LIMITED]`` run for every 429
# ("scim", "api" or "dashboard"): the place for a metrics counter.
ON_RATE_LIMITED = "herd.on_rate_limited"


class _TokenCompanies:
    """Token hash -> (company id, per-second, per-minute setting), cached briefly per process."""

    def __init__(self, ttl):
        self.ttl = ttl
        self._entries = {}
        self._lock = threading.Lock()

    def lookup(self, token_hash):
        now = time.monotonic()
        hit = self._entries.get(token_hash)
        if hit is not None and hit[0] > now:
            return hit[1]
        # On a connection of its own, returned at once: through the request's session it
        # held a pooled connection for the whole request, and authentication's last_used_at
        # write, which takes another, then waited for a pool that such requests had emptied.
        with db.read_engine().connect() as connection:
            row = connection.execute(
                select(
                    AccessToken.company_id,
                    AccessToken.revoked_at,
                    AccessToken.expires_at,
                    Company.rate_limit_per_second,
                    Company.rate_limit_per_minute,
                )
                .join(Company, Company.id == AccessToken.company_id)
                .where(AccessToken.token_hash == token_hash)
            ).first()
        if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= utcnow()):
            return None
        value = (row.company_id, row.rate_limit_per_second, row.rate_limit_per_minute)
        with self._lock:
            if len(self._entries) >= CACHE_SIZE:
                self._entries.clear()
            self._entries[token_hash] = (now + self.ttl, value)
        return value

    def clear(self):
        with self._lock:
            self._entries.clear()


def _address():
    return request.remote_addr or "unknown"


def _caller_company():
    """(company id, per-second, per-minute) of this request's token, or None."""
    found = None
    # The same reading of the header as authentication: a bare token counts too (Okta).
    secret = bearer_secret()
    if secret is not None:
        # Database trouble: count the call by address; authentication will answer it.
        with contextlib.suppress(SQLAlchemyError):
            found = current_app.extensions["herd.rate_limit_tokens"].lookup(hash_token(secret))
    url_company = (request.view_args or {}).get("company_id")
    if found is not None and url_company is not None and found[0] != url_company:
        return None
    return found


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
    """A SCIM or API call over its company's (or its address's) budget: rendered as a 429."""

    def __init__(self, breach):
        super().__init__(breach.item)
        self.breach = breach


def _check_company_budget():
    """before_request: count a SCIM or API call in its bucket; over a limit, BudgetSpent."""
    if not _in_company_blueprint():
        return
    found = _caller_company()
    if found:
        settings = current.settings()
        bucket = f"company:{found[0]}"
        items = _company_items(
            settings.rate_limit_per_second if found[1] is None else found[1],
            settings.rate_limit_per_minute if found[2] is None else found[2],
        )
    else:
        bucket = f"address:{_address()}"
        items = _ANONYMOUS_ITEMS
    breach = current_app.extensions["herd.company_budget"].hit(bucket, items)
    if breach is not None:
        raise BudgetSpent(breach)


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
    app.extensions["herd.limiter"] = limiter
    app.extensions["herd.company_budget"] = WindowCounter(settings.broker_url, on_down=_tell_enqueuer)
    app.extensions["herd.company_blueprints"] = set()  # filled by limit_company_blueprints
    app.extensions["herd.rate_limit_tokens"] = _TokenCompanies(CACHE_SECONDS)
    # Registered here, before the later app hooks: a flood of hostile calls is throttled first.
    app.before_request(_check_company_budget)
    app.register_error_handler(RateLimitExceeded, render_rate_limited)
    app.register_error_handler(BudgetSpent, render_rate_limited)
    return limiter


def limit_company_blueprints(app, *blueprints):
    """One shared per-company budget over the given blueprints (SCIM and /api/v1)."""
    app.extensions["herd.company_blueprints"].update(bp.name for bp in blueprints)


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
    current = current_app.extensions["herd.limiter"].current_limit
    if current is None:
        return 1
    try:
        reset_at = current.window[0]
    except Exception:  # storage gone between the check and now: a full window is a safe answer
        return max(1, int(current.limit.get_expiry()))
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
        if surface == "scim":
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
