"""The company budget's counters on a real Redis: epoch-aligned windows, the limit that was
breached and its Retry-After, and a call refused by the burst spending nothing of the minute.

The counter's clock is pinned (``service.window_counter.time``), so the windows are known.
"""

import uuid

import pytest
import redis
from limits import RateLimitItemPerMinute, RateLimitItemPerSecond

from service import window_counter
from service.window_counter import Breach, WindowCounter

pytestmark = pytest.mark.e2e

BURST = RateLimitItemPerSecond(2)
MINUTE = RateLimitItemPerMinute(5)


class PinnedClock:
    """Stands in for the ``time`` module inside service.window_counter."""

    def __init__(self, now):
        self.now = now

    def time(self):
        return self.now

    def monotonic(self):
        return self.now


@pytest.fixture()
def counter(e2e_redis_url, monkeypatch):
    clock = PinnedClock(1000.25)  # in the minute window 960-1020 (epoch-aligned)
    monkeypatch.setattr(window_counter, "time", clock)
    prefix = f"herd:rate:test-{uuid.uuid4().hex[:8]}"
    found_down = []
    counter = WindowCounter(e2e_redis_url, prefix=prefix, on_down=lambda: found_down.append(1))
    counter.clock, counter.found_down = clock, found_down
    yield counter
    client = redis.Redis.from_url(e2e_redis_url)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


def test_a_refused_burst_spends_nothing_of_the_minute_and_retry_after_is_the_windows_end(counter):
    hits = [counter.hit("company:1", (BURST, MINUTE)) for _ in range(4)]
    assert hits == [None, None, Breach(BURST, 1), Breach(BURST, 1)]
    counter.clock.now += 1
    assert [counter.hit("company:1", (BURST, MINUTE)) for _ in range(2)] == [None, None]
    counter.clock.now += 1  # 1002.25: 4 of the minute's 5 spent (the 2 refused calls did not count)
    assert counter.hit("company:1", (BURST, MINUTE)) is None
    # The sixth call of the minute: refused until the window ends at 1020, 17.75 s away.
    assert counter.hit("company:1", (BURST, MINUTE)) == Breach(MINUTE, 18)
    assert counter.hit("company:2", (BURST, MINUTE)) is None  # another bucket is untouched
    counter.clock.now = 1020.0  # a new minute
    assert counter.hit("company:1", (BURST, MINUTE)) is None
    assert not counter.redis_down and counter.found_down == []


def test_the_counters_live_in_redis_shared_by_every_process(counter, e2e_redis_url):
    other_process = WindowCounter(e2e_redis_url, prefix=counter.prefix)
    assert [counter.hit("company:1", (MINUTE,)) for _ in range(3)] == [None] * 3
    assert [other_process.hit("company:1", (MINUTE,)) for _ in range(3)] == [None, None, Breach(MINUTE, 20)]


def test_no_limits_cost_nothing(counter, e2e_redis_url):
    assert all(counter.hit("company:1", ()) is None for _ in range(50))
    assert list(redis.Redis.from_url(e2e_redis_url).scan_iter(match=f"{counter.prefix}:*")) == []


def test_redis_down_counts_in_memory_tells_once_and_retries_after_the_back_off(counter, e2e_redis_url):
    down = WindowCounter("redis://127.0.0.1:1/0", prefix=counter.prefix, on_down=lambda: counter.found_down.append(1))
    assert [down.hit("company:1", (BURST,)) for _ in range(2)] == [None, None]
    assert down.redis_down and counter.found_down == [1]  # told once, not once per call
    counter.clock.now += window_counter.BACKOFF_SECONDS
    assert not down.redis_down  # the next call tries Redis again
    down.hit("company:1", (BURST,))
    assert down.redis_down and counter.found_down == [1, 1]
