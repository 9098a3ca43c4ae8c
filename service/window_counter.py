"""Fixed-window request counters: every limit of a bucket in ONE Redis round trip.

The per-company budget (``service.ratelimit``) has two limits, a per-second burst and a
per-minute budget. Counting them costs one ``EVALSHA`` of a small Lua script, not one round
trip per limit. Windows are aligned on the epoch and the window number is part of the key,
so the seconds until the breached window resets (``Retry-After``) need no second call.
The window number comes from this host's clock: web processes on hosts whose clocks
disagree by a fraction of a second may count a few calls in the neighbouring window.

If Redis does not answer (0.5 s socket timeouts: a dead Redis must never hold a request),
the counters fail open to per-process memory (the ``limits`` library's fixed window) and
Redis is not tried again for ``BACKOFF_SECONDS``. Never raises for Redis trouble.
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

# KEYS: one counter per limit, in the caller's order; ARGV: amount and window seconds of each.
# Counts the limits in turn and stops at the first one over its amount, as Flask-Limiter
# did: a call refused by the burst does not also spend the minute's budget. Returns 0 when
# every limit holds, else the (1-based) number of the limit breached. The expiry is set
# only on a new key (one window long: the key names its window, so it is dead by then).
_HIT = """
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[2 * i]) end
  if count > tonumber(ARGV[2 * i - 1]) then return i end
end
return 0
"""


class Breach(NamedTuple):
    """The limit a call went over, and the whole seconds until its window resets (>= 1)."""

    item: RateLimitItem
    retry_after: int


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
        self._script = self._redis.register_script(_HIT)
        self._memory = FixedWindowRateLimiter(MemoryStorage())
        self._retry_redis_at = 0.0  # time.monotonic(): Redis is not tried before this
        self._lock = threading.Lock()

    @property
    def redis_down(self):
        """True while the counters are in memory because Redis did not answer."""
        return time.monotonic() < self._retry_redis_at

    def hit(self, bucket, items):
        """Count one call in ``bucket`` against ``items`` (shortest window first); the
        ``Breach`` when it is over a limit, else None."""
        if not items or not self.enabled:
            return None
        if not self.redis_down:
            now = time.time()
            keys, args = [], []
            for item in items:
                seconds = item.get_expiry()
                keys.append(f"{self.prefix}:{bucket}:{seconds}:{int(now // seconds)}")
                args += (item.amount, seconds)
            try:
                breached = self._script(keys=keys, args=args)
            except redis.RedisError as exc:
                self._fell_back(exc)
            else:
                if not breached:
                    return None
                item = items[breached - 1]
                seconds = item.get_expiry()
                return Breach(item, max(1, math.ceil((now // seconds + 1) * seconds - now)))
        return self._hit_in_memory(bucket, items)

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
