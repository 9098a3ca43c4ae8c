"""Fixed-window request counters: every limit of a bucket in ONE Redis round trip, and most
calls of a busy bucket in none.

The per-company budget (``service.ratelimit.limiter``) has two limits, a per-second burst and a
per-minute budget. Counting them costs one ``EVALSHA`` of a small Lua script, not one round
trip per limit. Windows are aligned on the epoch and the window number is part of the key,
so the seconds until the breached window resets (``Retry-After``) need no second call.
The window number comes from this host's clock: web processes on hosts whose clocks
disagree by a fraction of a second may count a few calls in the neighbouring window.

Leases: that round trip cost a SCIM call more CPU than anything but authentication, so a
process takes calls from Redis a few at a time. The script grants up to ``lease_size``
calls of the bucket's current windows at once (never more than every limit has left) and
the process counts the next ones in memory until the lease is used up or a window ends;
what a lease had left when its short window ended goes back to the long windows with the
next round trip. A budget is thus never exceeded, across any number of processes. The
price: while other processes hold unused calls of a lease, a call may be refused with up
to ``(processes - 1) * (lease - 1)`` calls of the window still unspent. A lease is at most
a twentieth of the smallest limit, so small budgets are counted call by call, exactly.

If Redis does not answer (0.5 s socket timeouts: a dead Redis must never hold a request),
the counters fail open to per-process memory (the ``limits`` library's fixed window) and
Redis is not tried again for ``BACKOFF_SECONDS``. Never raises for Redis trouble.

Refunds: ``charge`` also returns a ``Receipt``; ``refund(receipt)`` gives that call back to
the windows it was counted in (to the process's lease when it still runs, else in Redis or
memory, where it was counted). The rate limiter counts a call in one bucket before it knows
whose it is (the caller's address, before any query) and moves it once authentication has
decided (to the company).
"""

import logging
import math
import threading
import time
from typing import NamedTuple

import redis
from limits import RateLimitItem
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)

# After Redis failed, count in memory for this long before trying it again: one timeout per
# few seconds of outage, not one per request.
BACKOFF_SECONDS = 5.0
SOCKET_TIMEOUT = 0.5

# A lease is at most this many calls, and at most this share of the smallest limit: a
# budget of the default 200 calls a second is taken 10 at a time, one of 1,000 or more 50
# at a time (a round trip per 50 calls; the share bounds what other processes may hold).
LEASE_MAX = 50
LEASE_SHARE = 20

# KEYS: one counter per limit, in the caller's order. ARGV: for each limit its amount, its
# window in seconds and the calls to give back to it first (an ended lease's unused ones);
# then the lease wanted. Grants the most calls, up to the lease, that every limit has left,
# and counts them in every window. Returns {granted, 0}, or {0, i} when limit i (1-based,
# the first in order) has nothing left: a refused call counts nowhere, so a call refused
# by the burst does not spend the minute's budget. The expiry is set only on a new key
# (one window long: the key names its window, so it is dead by then).
_LEASE = """
local grant = tonumber(ARGV[#ARGV])
for i, key in ipairs(KEYS) do
  local back = tonumber(ARGV[3 * i])
  local count = tonumber(redis.call('GET', key) or '0')
  if back > 0 and count > 0 then count = redis.call('DECRBY', key, math.min(back, count)) end
  local left = tonumber(ARGV[3 * i - 2]) - count
  if left < 1 then return {0, i} end
  if left < grant then grant = left end
end
for i, key in ipairs(KEYS) do
  if redis.call('INCRBY', key, grant) == grant then redis.call('EXPIRE', key, ARGV[3 * i - 1]) end
end
return {grant, 0}
"""


class Breach(NamedTuple):
    """The limit a call went over, and the whole seconds until its window resets (>= 1)."""

    item: RateLimitItem
    retry_after: int


# KEYS: the counters a refunded call was counted in. A counter already gone (its window
# ended) or at zero stays as it is: a refund never creates a key or goes below zero.
_REFUND = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 0
"""


class Receipt(NamedTuple):
    """Where one granted call was counted: its bucket, its limits and (in Redis) their window
    numbers, None when it was counted in this process's memory."""

    bucket: str
    items: tuple
    windows: tuple | None


class _Lease(NamedTuple):
    """Calls granted to this process for one bucket: its limits, their window numbers, how many are left."""

    items: tuple
    windows: tuple
    left: int


_EXPIRIES = {}  # id(items) -> (items, each limit's window in seconds)


def _expiries(items):
    """Each limit's window in seconds (``get_expiry()`` works it out on every call). Looked up
    by identity: a bucket's limits are one long-lived tuple (``limiter._company_items``), and
    hashing its items by value costs more than computing the windows."""
    hit = _EXPIRIES.get(id(items))
    if hit is None or hit[0] is not items:
        if len(_EXPIRIES) >= 1024:
            _EXPIRIES.clear()
        hit = _EXPIRIES[id(items)] = (items, tuple(item.get_expiry() for item in items))
    return hit[1]


def lease_size(items):
    """The calls one round trip takes for a bucket with these limits (1: counted call by call)."""
    return max(1, min(LEASE_MAX, min(item.amount for item in items) // LEASE_SHARE))


class WindowCounter:
    """Counts calls per bucket against fixed-window limits, in Redis or (when it is down) in memory."""

    def __init__(self, redis_url, prefix="herd:rate", on_down=None):
        self.prefix = prefix
        # Called (no arguments) when a call finds Redis unreachable: another client of the
        # same Redis (the enqueuer) can then skip its own wait.
        self.on_down = on_down
        self.enabled = True
        self._redis = redis.Redis.from_url(
            redis_url, socket_connect_timeout=SOCKET_TIMEOUT, socket_timeout=SOCKET_TIMEOUT
        )
        self._script = self._redis.register_script(_LEASE)
        self._refund_script = self._redis.register_script(_REFUND)
        self._memory = FixedWindowRateLimiter(MemoryStorage())
        self._retry_redis_at = 0.0  # time.monotonic(): Redis is not tried before this
        self._lock = threading.Lock()
        self._leases = {}  # bucket -> _Lease

    @property
    def redis_down(self):
        """True while the counters are in memory because Redis did not answer."""
        return time.monotonic() < self._retry_redis_at

    def hit(self, bucket, items):
        """Count one call in ``bucket`` against ``items`` (shortest window first); the
        ``Breach`` when it is over a limit, else None."""
        return self.charge(bucket, items)[0]

    def charge(self, bucket, items):
        """Like ``hit``, and say where the call was counted: ``(breach, receipt)``; the
        receipt (None when nothing was counted) is what ``refund`` gives back."""
        if not items or not self.enabled:
            return None, None
        if time.monotonic() >= self._retry_redis_at:  # not redis_down: inlined, it runs on every call
            now = time.time()
            windows = tuple(int(now // seconds) for seconds in _expiries(items))
            with self._lock:
                lease = self._leases.get(bucket)
                if lease is not None and lease.items == items and lease.windows == windows and lease.left:
                    self._leases[bucket] = _Lease(items, windows, lease.left - 1)
                    return None, Receipt(bucket, items, windows)
                # The lease (if any) is used up or past a window: its unused calls go back to
                # the windows that have not ended.
                self._leases.pop(bucket, None)
            keys, args = [], []
            for i, item in enumerate(items):
                back = (
                    lease.left if lease is not None and lease.items == items and lease.windows[i] == windows[i] else 0
                )
                keys.append(f"{self.prefix}:{bucket}:{item.get_expiry()}:{windows[i]}")
                args += (item.amount, item.get_expiry(), back)
            args.append(lease_size(items))
            try:
                granted, breached = self._script(keys=keys, args=args)
            except redis.RedisError as exc:
                self._fell_back(exc)
            else:
                if granted:
                    self._keep(bucket, _Lease(items, windows, granted - 1))
                    return None, Receipt(bucket, items, windows)
                item = items[breached - 1]
                seconds = item.get_expiry()
                return Breach(item, max(1, math.ceil((now // seconds + 1) * seconds - now))), None
        breach = self._hit_in_memory(bucket, items)
        return breach, None if breach is not None else Receipt(bucket, items, None)

    def refund(self, receipt):
        """Give back the call ``receipt`` counted (None: nothing to give back). Never raises
        for Redis trouble: a refund Redis did not take leaves the call counted (the safe side)."""
        if receipt is None:
            return
        bucket, items, windows = receipt
        if windows is None:
            for item in items:
                self._memory.storage.decr(item.key_for(self.prefix, bucket))
            return
        with self._lock:
            lease = self._leases.get(bucket)
            if lease is not None and lease.items == items and lease.windows == windows:
                # The lease still runs: the call goes back to it, no round trip.
                self._leases[bucket] = lease._replace(left=lease.left + 1)
                return
        keys = [
            f"{self.prefix}:{bucket}:{item.get_expiry()}:{window}" for item, window in zip(items, windows, strict=True)
        ]
        try:
            self._refund_script(keys=keys, args=[])
        except redis.RedisError as exc:
            self._fell_back(exc)

    def _keep(self, bucket, lease):
        if not lease.left:
            return
        with self._lock:
            held = self._leases.get(bucket)
            if held is not None and held.items == lease.items and held.windows == lease.windows:
                # Two calls of this process took a lease at once: keep both leases' calls.
                lease = lease._replace(left=lease.left + held.left)
            self._leases[bucket] = lease

    def _fell_back(self, exc):
        with self._lock:
            first = not self.redis_down
            self._retry_redis_at = time.monotonic() + BACKOFF_SECONDS
        if first:
            log.warning("rate limit counters unreachable (%s), counting in memory", type(exc).__name__)
            if self.on_down is not None:
                self.on_down()

    def _hit_in_memory(self, bucket, items):
        for item in items:
            if not self._memory.hit(item, self.prefix, bucket):
                reset_at = self._memory.get_window_stats(item, self.prefix, bucket).reset_time
                return Breach(item, max(1, math.ceil(reset_at - time.time())))
        return None
