"""The company budget's counters on a real Redis: epoch-aligned windows, the limit that was
breached and its Retry-After, and a call refused by the burst spending nothing of the minute.

The counter's clock is pinned (``service.ratelimit.window_counter.time``), so the windows are known.
"""

import uuid

import pytest
import redis
from limits import RateLimitItemPerMinute, RateLimitItemPerSecond

from service.ratelimit import window_counter
from service.ratelimit.window_counter import Breach, WindowCounter

pytestmark = pytest.mark.e2e

BURST = RateLimitItemPerSecond(2)
MINUTE = RateLimitItemPerMinute(5)


class PinnedClock:
    """Stands in for the ``time`` module inside service.ratelimit.window_counter."""

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


BIG_BURST = RateLimitItemPerSecond(200)
BIG_MINUTE = RateLimitItemPerMinute(6000)


def _count(counter, e2e_redis_url, item):
    window = int(counter.clock.now // item.get_expiry())
    key = f"{counter.prefix}:company:1:{item.get_expiry()}:{window}"
    return int(redis.Redis.from_url(e2e_redis_url).get(key) or 0)


def test_a_lease_is_a_twentieth_of_the_smallest_limit_at_most_fifty_calls():
    assert window_counter.lease_size((BIG_BURST, BIG_MINUTE)) == 10
    assert window_counter.lease_size((RateLimitItemPerSecond(1000), BIG_MINUTE)) == 50
    assert window_counter.lease_size((RateLimitItemPerSecond(100_000), RateLimitItemPerMinute(6_000_000))) == 50
    assert window_counter.lease_size((RateLimitItemPerSecond(100), BIG_MINUTE)) == 5
    assert window_counter.lease_size((RateLimitItemPerSecond(39),)) == 1
    assert window_counter.lease_size((BURST, MINUTE)) == 1  # small budgets: call by call


def test_a_busy_bucket_takes_its_calls_from_redis_ten_at_a_time(counter, e2e_redis_url, monkeypatch):
    round_trips = []
    script = counter._script
    monkeypatch.setattr(counter, "_script", lambda **kw: round_trips.append(1) or script(**kw))
    assert all(counter.hit("company:1", (BIG_BURST, BIG_MINUTE)) is None for _ in range(25))
    assert len(round_trips) == 3
    # Redis counts what was granted: 3 leases of 10, in both windows.
    assert _count(counter, e2e_redis_url, BIG_BURST) == _count(counter, e2e_redis_url, BIG_MINUTE) == 30


def test_a_leases_unused_calls_go_back_to_the_minute_when_its_second_ends(counter, e2e_redis_url):
    assert counter.hit("company:1", (BIG_BURST, BIG_MINUTE)) is None  # a lease of 10, 9 unused
    assert _count(counter, e2e_redis_url, BIG_MINUTE) == 10
    counter.clock.now += 1  # the next second: the 9 go back, a new lease of 10 is taken
    assert counter.hit("company:1", (BIG_BURST, BIG_MINUTE)) is None
    assert _count(counter, e2e_redis_url, BIG_MINUTE) == 11
    assert _count(counter, e2e_redis_url, BIG_BURST) == 10


def test_processes_sharing_a_budget_in_leases_never_exceed_it(counter, e2e_redis_url):
    burst = RateLimitItemPerSecond(102)  # leases of 5, and 2 for the last one
    processes = [counter, WindowCounter(e2e_redis_url, prefix=counter.prefix)]
    admitted = refused = 0
    for n in range(300):
        if processes[n % 2].hit("company:1", (burst,)) is None:
            admitted += 1
        else:
            refused += 1
    # Never more than the budget; fewer by at most what the other process's lease held unused.
    assert 102 - (5 - 1) <= admitted <= 102
    assert refused == 300 - admitted


def test_two_leases_taken_at_once_by_one_process_are_both_used(counter, monkeypatch):
    script = counter._script
    round_trips = []

    def another_call_meanwhile(**kw):
        round_trips.append(1)
        if len(round_trips) == 1:  # a second request of this process takes a lease meanwhile
            assert counter.hit("company:1", (BIG_BURST, BIG_MINUTE)) is None
        return script(**kw)

    monkeypatch.setattr(counter, "_script", another_call_meanwhile)
    assert counter.hit("company:1", (BIG_BURST, BIG_MINUTE)) is None
    assert len(round_trips) == 2
    # 9 + 9 calls left from the two leases: none of the next 18 needs Redis.
    assert all(counter.hit("company:1", (BIG_BURST, BIG_MINUTE)) is None for _ in range(18))
    assert len(round_trips) == 2
    counter.hit("company:1", (BIG_BURST, BIG_MINUTE))
    assert len(round_trips) == 3


def test_a_refunded_call_can_be_made_again(counter, e2e_redis_url):
    """The rate limiter counts a call on the caller's address before authentication and
    gives it back once the call proves to be a company's: the address may call again."""
    receipts = [counter.charge("address:1", (MINUTE,)) for _ in range(5)]
    assert [breach for breach, _ in receipts] == [None] * 5
    assert counter.hit("address:1", (MINUTE,)) == Breach(MINUTE, 20)
    counter.refund(receipts[0][1])
    assert counter.hit("address:1", (MINUTE,)) is None
    assert counter.hit("address:1", (MINUTE,)) == Breach(MINUTE, 20)


def test_a_refund_goes_back_to_a_running_lease_without_a_round_trip(counter, e2e_redis_url, monkeypatch):
    breach, receipt = counter.charge("company:1", (BIG_BURST, BIG_MINUTE))  # a lease of 10, 9 left
    assert breach is None
    round_trips = []
    for name in ("_script", "_refund_script"):
        script = getattr(counter, name)
        monkeypatch.setattr(counter, name, lambda script=script, **kw: round_trips.append(1) or script(**kw))
    counter.refund(receipt)
    assert all(counter.hit("company:1", (BIG_BURST, BIG_MINUTE)) is None for _ in range(10))
    assert round_trips == []  # 9 + the refunded one, all from the lease
    assert _count(counter, e2e_redis_url, BIG_MINUTE) == 10


def test_a_refund_never_creates_a_counter_nor_goes_below_zero(counter, e2e_redis_url):
    _, receipt = counter.charge("address:1", (MINUTE,))
    client = redis.Redis.from_url(e2e_redis_url)
    for key in client.scan_iter(match=f"{counter.prefix}:*"):
        client.delete(key)  # its window ended meanwhile
    counter.refund(receipt)
    counter.refund(receipt)
    assert list(client.scan_iter(match=f"{counter.prefix}:*")) == []


def test_with_redis_down_a_refund_goes_back_to_memory(counter):
    down = WindowCounter("redis://127.0.0.1:1/0", prefix=counter.prefix)
    receipts = [down.charge("address:1", (BURST,)) for _ in range(2)]
    assert down.hit("address:1", (BURST,)) is not None
    down.refund(receipts[0][1])
    down.refund(receipts[1][1])
    assert down.hit("address:1", (BURST,)) is None
