"""The token endpoint's DPoP replay cache and nonces, without I/O."""

from __future__ import annotations

import pytest

from tollgate_auth.oauth.dpop_binding import BusyError, Nonces, ReplayCache


def test_a_jti_is_refused_again_until_its_proof_is_too_old_anyway() -> None:
    cache = ReplayCache()
    assert cache.first_use("k:1", until=160.0, now=100.0)
    assert not cache.first_use("k:1", until=170.0, now=110.0)
    # Past its window it is forgotten (a proof that old is refused for its iat).
    assert cache.first_use("k:1", until=230.0, now=161.0)


def test_a_full_cache_refuses_new_proofs_instead_of_forgetting_live_ones() -> None:
    cache = ReplayCache(max_entries=2)
    assert cache.first_use("a", until=200.0, now=100.0)
    assert cache.first_use("b", until=200.0, now=100.0)
    with pytest.raises(BusyError):
        cache.first_use("c", until=200.0, now=100.0)
    assert not cache.first_use("a", until=200.0, now=100.0)
    assert cache.first_use("c", until=300.0, now=201.0)


def test_nonces_live_one_to_two_windows_and_depend_on_the_secret() -> None:
    nonces = Nonces(b"s" * 32, period=300.0)
    issued = nonces.current(1000.0)
    assert issued in nonces.accepted(1299.0)
    assert issued not in nonces.accepted(1500.0)
    assert Nonces(b"t" * 32, period=300.0).current(1000.0) != issued
