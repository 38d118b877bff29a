"""DPoP's replay cache and server nonces, pure (the clock passed in)."""

from __future__ import annotations

import pytest

from tollgate_servicekit.dpop_replay import Nonces, ReplayCache, ReplayCacheFull


class Busy(Exception):
    pass


class ServiceCache(ReplayCache):
    def full(self) -> Exception:
        return Busy("retry shortly")


def test_a_key_is_refused_again_until_its_time_then_forgotten() -> None:
    cache = ReplayCache()
    assert cache.first_use("k:1", until=160.0, now=100.0)
    assert not cache.first_use("k:1", until=170.0, now=110.0)
    assert cache.first_use("k:1", until=230.0, now=161.0)
    assert len(cache) == 1


def test_a_full_cache_refuses_new_keys_with_the_services_error_and_keeps_the_live_ones() -> None:
    for cache, error in ((ReplayCache(max_entries=2), ReplayCacheFull), (ServiceCache(max_entries=2), Busy)):
        assert cache.first_use("a", until=200.0, now=100.0)
        assert cache.first_use("b", until=200.0, now=100.0)
        with pytest.raises(error):
            cache.first_use("c", until=200.0, now=100.0)
        assert not cache.first_use("a", until=200.0, now=100.0)
        assert cache.first_use("c", until=300.0, now=201.0)  # "a" and "b" expired and made room


def test_nonces_live_their_window_and_the_next_and_depend_on_the_secret() -> None:
    nonces = Nonces(b"s" * 32, period=300.0)
    issued = nonces.current(1000.0)
    assert issued in nonces.accepted(1299.0) and issued in nonces.accepted(1499.0)
    assert issued not in nonces.accepted(1500.0)
    assert Nonces(b"t" * 32, period=300.0).current(1000.0) != issued


def test_one_holder_cannot_fill_the_cache_for_everyone() -> None:
    # One client's key flooding fresh proofs must not make every other client's proofs wait (a cross-tenant 503).
    cache = ServiceCache(max_entries=10, max_per_holder=2)
    assert cache.first_use("a:1", until=200.0, now=100.0, holder="a")
    assert cache.first_use("a:2", until=200.0, now=100.0, holder="a")
    with pytest.raises(Busy):
        cache.first_use("a:3", until=200.0, now=100.0, holder="a")
    assert cache.first_use("b:1", until=200.0, now=100.0, holder="b")
    assert not cache.first_use("a:1", until=200.0, now=100.0, holder="a")  # still remembered
    assert cache.first_use("a:3", until=300.0, now=201.0, holder="a")  # its old proofs expired and made room
    assert len(cache) == 1
