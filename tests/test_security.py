"""The rate limiter under the sign-in, LRS and certificate limits, on a clock the test moves."""

from __future__ import annotations

from engine.security import RateLimiter, SignInLimits, address_key, device_cookie, device_nonce


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_asking_about_a_key_remembers_nothing() -> None:
    """A script that asks about made-up emails must not grow the service's memory."""
    limiter = RateLimiter(5, clock=Clock())
    for n in range(1000):
        assert not limiter.blocked(f"email:made-up-{n}@example.gov.uk", f"ip:198.51.100.{n % 250}")
    assert len(limiter) == 0


def test_a_lock_lasts_a_window_from_the_failure_that_locked_it_and_is_told_once() -> None:
    clock = Clock()
    limiter = RateLimiter(3, window_seconds=900, clock=clock)
    assert [limiter.fail("k"), limiter.fail("k")] == [[], []]
    assert not limiter.blocked("k")
    clock.now += 100
    assert limiter.fail("k", "other") == ["k"]  # the third failure locks it, and says so once
    assert limiter.blocked("k") and not limiter.blocked("other")
    assert limiter.fail("k") == []  # one that raced the lock: nothing more to tell, and the lock is not longer
    clock.now += 899
    assert limiter.blocked("k")
    clock.now += 1
    assert not limiter.blocked("k")
    assert [limiter.fail("k"), limiter.fail("k"), limiter.fail("k")] == [[], [], ["k"]]  # afresh


def test_failures_older_than_the_window_do_not_count() -> None:
    clock = Clock()
    limiter = RateLimiter(3, window_seconds=900, clock=clock)
    limiter.fail("k")
    clock.now += 600
    limiter.fail("k")
    clock.now += 301  # the first is now out of the window
    assert limiter.fail("k") == []
    assert not limiter.blocked("k")
    assert limiter.fail("k") == ["k"]


def test_keys_are_forgotten_a_window_after_their_last_failure() -> None:
    clock = Clock()
    limiter = RateLimiter(2, window_seconds=900, clock=clock)
    for n in range(50):
        limiter.fail(f"email:{n}@example.gov.uk")
    limiter.fail("locked", "locked")
    assert len(limiter) == 51
    clock.now += 900
    limiter.fail("email:late@example.gov.uk")
    assert len(limiter) == 1  # the locks have ended and the failures aged out: nothing is kept for them


def test_a_reset_forgets_the_key() -> None:
    limiter = RateLimiter(2, clock=Clock())
    limiter.fail("a", "b")
    limiter.reset("a")
    assert len(limiter) == 1


def test_a_full_limiter_forgets_the_key_whose_last_failure_is_oldest() -> None:
    clock = Clock()
    limiter = RateLimiter(3, max_keys=3, clock=clock)
    for key in ("a", "b", "c", "a"):  # "a" failed last: "b" is now the oldest
        limiter.fail(key)
        clock.now += 1
    limiter.fail("d")
    assert len(limiter) == 3
    assert limiter.fail("a") == ["a"]  # kept, with both its failures
    assert [limiter.fail("b"), limiter.fail("b")] == [[], []]  # forgotten: had it been kept, the second locks it


def test_an_ipv6_address_counts_by_its_64_and_an_ipv4_one_whole() -> None:
    assert address_key("2001:db8:1:2::1") == address_key("2001:DB8:1:2:ffff:ffff:ffff:ffff") == "ip:2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("fe80::1%eth0") == "ip:fe80::/64"
    assert address_key("203.0.113.5") != address_key("203.0.113.6")
    assert address_key("::ffff:203.0.113.5") == address_key("203.0.113.5") == "ip:203.0.113.5"
    assert address_key("testclient") == "ip:testclient" and address_key("") == "ip:?"
    assert len(address_key("h" * 10_000)) <= 103  # a key of bounded size, whatever a server names its client


def test_a_device_cookie_is_for_one_account_and_cannot_be_changed() -> None:
    value = device_cookie(b"s" * 32, "acc-1", "n0nce", password_hash="h")
    assert device_nonce(b"s" * 32, value, "acc-1", password_hash="h") == "n0nce"
    assert device_nonce(b"s" * 32, value, "acc-2", password_hash="h") is None
    # Another service's, or after the secret changed; changed; or made before the password last changed.
    assert device_nonce(b"t" * 32, value, "acc-1", password_hash="h") is None
    assert device_nonce(b"s" * 32, value.replace("n0nce", "other"), "acc-1", password_hash="h") is None
    assert device_nonce(b"s" * 32, value, "acc-1", password_hash="h2") is None
    assert device_nonce(b"s" * 32, "acc-1..", "acc-1", password_hash="h") is None
    assert device_nonce(b"s" * 32, None, "acc-1", password_hash="h") is None


def test_a_trusted_browser_is_trusted_again_after_a_window_or_a_success() -> None:
    clock = Clock()
    limits = SignInLimits(attempts=2, per_account=3, per_address=100, clock=clock)
    assert limits.trusted("nonce") and not limits.trusted(None)
    assert limits.failed("ip:a", "ada", "nonce") == []
    assert limits.failed("ip:a", "ada", "nonce") == [("device", 2)]
    assert not limits.trusted("nonce") and not limits.blocked("ip:a", "ada")  # its failures counted nowhere else
    clock.now += 900
    assert limits.trusted("nonce")
    limits.failed("ip:a", "ada", "nonce")
    limits.failed("ip:a", "ada", "nonce")
    limits.succeeded("ip:a", "ada", "nonce", trusted=False)  # signed in as a browser not trusted
    assert limits.trusted("nonce")


def test_a_browser_that_is_not_trusted_is_counted_per_address_and_account_per_account_and_per_address() -> None:
    limits = SignInLimits(attempts=2, per_account=3, per_address=4, clock=Clock())
    assert limits.failed("ip:a", "ada", None) == []
    assert limits.failed("ip:a", "ada", None) == [("pair", 2)]
    assert limits.blocked("ip:a", "ada") and not limits.blocked("ip:b", "ada")
    assert limits.failed("ip:b", "ada", None) == [("account", 3)]
    assert limits.blocked("ip:c", "ada") and not limits.blocked("ip:c", "bob")
    assert limits.failed("ip:a", "bob", None) == []
    assert limits.failed("ip:a", "eve", None) == [("address", 4)]
    assert limits.blocked("ip:a", "zed") and not limits.blocked("ip:b", "zed")


def test_a_success_in_a_trusted_browser_forgives_only_that_browser() -> None:
    limits = SignInLimits(attempts=2, per_account=9, per_address=9, clock=Clock())
    limits.failed("ip:a", "ada", None)
    limits.failed("ip:a", "ada", None)  # someone else, at Ada's address
    limits.failed("ip:a", "ada", "nonce")
    limits.succeeded("ip:a", "ada", "nonce", trusted=True)
    assert limits.blocked("ip:a", "ada")  # the other's failures stand
    assert limits.failed("ip:a", "ada", "nonce") == []  # Ada's own were forgiven
    limits.succeeded("ip:a", "ada", None, trusted=False)
    assert not limits.blocked("ip:a", "ada")


def test_a_device_cookie_past_ascii_is_no_cookie_not_an_error() -> None:
    public_id, nonce, mac = device_cookie(b"s" * 32, "pid", "n0nce", password_hash="h").split(".")
    assert device_nonce(b"s" * 32, f"{public_id}.{nonce}.\u00e9", "pid", password_hash="h") is None
    assert device_nonce(b"s" * 32, f"{public_id}.\u00e9.{mac}", "pid", password_hash="h") is None
