"""The limiter's arithmetic on a clock the test moves: properties of the token buckets and the
login window, with no real time involved."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from indivisible.auth.throttle import Buckets, LoginLimits, LoginThrottle, Throttle, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


gaps = st.lists(st.floats(min_value=0.0, max_value=2.0, allow_nan=False), max_size=300)


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(min_value=0.5, max_value=50.0),
    burst=st.integers(min_value=1, max_value=30),
    steps=gaps,
)
def test_no_window_lets_through_more_than_the_burst_and_the_rate(
    rate: float, burst: int, steps: list[float]
) -> None:
    clock = Clock()
    buckets = Buckets(rate, burst, clock=clock)
    allowed: list[float] = []
    for gap in steps:
        clock.now += gap
        if buckets.take("k") == 0.0:
            allowed.append(clock.now)
    for i, start in enumerate(allowed):
        for j in range(i, len(allowed)):
            # Requests let through in [start, allowed[j]]: never more than a full bucket plus
            # what refilled meanwhile (a hair of slack for float rounding).
            assert j - i + 1 <= burst + (allowed[j] - start) * rate + 1e-6


@settings(max_examples=200, deadline=None)
@given(rate=st.floats(min_value=0.5, max_value=50.0), burst=st.integers(min_value=1, max_value=30))
def test_a_refused_client_that_waits_as_told_gets_through(rate: float, burst: int) -> None:
    clock = Clock()
    buckets = Buckets(rate, burst, clock=clock)
    for _ in range(burst):
        assert buckets.take("k") == 0.0
    wait = buckets.take("k")
    assert wait > 0
    clock.now += wait
    assert buckets.take("k") == 0.0
    # Other keys have buckets of their own.
    assert buckets.take("other") == 0.0


def test_full_buckets_are_forgotten_when_room_is_needed() -> None:
    clock = Clock()
    buckets = Buckets(1.0, 2, clock=clock, max_keys=3)
    for key in "abc":
        buckets.take(key)
    clock.now += 10  # every bucket has filled up again
    assert buckets.take("d") == 0.0
    assert set(buckets._buckets) == {"d"}


@settings(max_examples=100, deadline=None)
@given(limit=st.integers(min_value=1, max_value=10), extra=st.integers(min_value=0, max_value=5))
def test_a_key_with_its_failures_waits_until_the_oldest_leaves_the_window(
    limit: int, extra: int
) -> None:
    clock = Clock()
    throttle = LoginThrottle(900.0, clock=clock)
    first = clock.now
    for _ in range(limit - 1):
        throttle.failed(["k"])
        clock.now += 1
    assert throttle.wait([("k", limit)]) == 0.0
    throttle.failed(["k"])
    assert throttle.wait([("k", limit)]) == first + 900.0 - clock.now
    # A zero limit switches the check off.
    assert throttle.wait([("k", 0)]) == 0.0
    clock.now = first + 900.0 + extra
    assert throttle.wait([("k", limit)]) == 0.0


def test_a_success_forgets_only_its_own_account_at_its_own_address() -> None:
    clock = Clock()
    throttle = Throttle(
        None,
        None,
        LoginLimits(per_account_and_address=3, per_address=5, per_account=100),
        900.0,
        clock=clock,
    )
    for _ in range(3):
        throttle.login_failed("kaz-liaison", "10.0.0.1")
    assert throttle.login_wait("kaz-liaison", "10.0.0.1") > 0
    # The owner, elsewhere, is not locked out by a stranger's guesses.
    assert throttle.login_wait("kaz-liaison", "10.0.0.2") == 0.0
    # The address has two failures left over all accounts.
    for _ in range(2):
        throttle.login_failed("rus-liaison", "10.0.0.1")
    assert throttle.login_wait("tjk-liaison", "10.0.0.1") > 0
    throttle.login_succeeded("kaz-liaison", "10.0.0.2")
    assert throttle.login_wait("tjk-liaison", "10.0.0.1") > 0
    # Usernames are compared as the login compares them.
    assert throttle.login_wait(" KAZ-Liaison ", "10.0.0.1") > 0


def test_requests_wait_for_the_tighter_of_token_and_address() -> None:
    clock = Clock()
    throttle = Throttle((1.0, 2), (1.0, 3), LoginLimits(5, 20, 50), 900.0, clock=clock)
    assert [throttle.request_wait("a", "t1") for _ in range(2)] == [0.0, 0.0]
    assert throttle.request_wait("a", "t1") > 0  # the token's bucket is empty
    # The refused request still took the address's last: hammering while refused stays refused.
    assert throttle.request_wait("a", "t2") > 0
    assert throttle.request_wait("a", None) > 0
    clock.now += 1.0
    assert throttle.request_wait("a", "t2") == 0.0  # another token, the address refilled by one
    assert throttle.request_wait("b", None) == 0.0
    off = Throttle(None, None, LoginLimits(5, 20, 50), 900.0, clock=clock)
    assert all(off.request_wait("a", "t") == 0.0 for _ in range(1000))


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    assert [retry_after(s) for s in (0.0, 0.2, 1.0, 1.01, 59.5)] == ["1", "1", "1", "2", "60"]
