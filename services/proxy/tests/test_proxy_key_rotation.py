"""Signing-key rotation as the proxy follows it: a retiring key verifies until `not_after`, a retired one never.

Auth publishes a new key (active) before it signs anything, then the old key as `retired` with `not_after` = the
moment its last token expires, and once that has passed one final `retired` state. These are the states as auth
publishes them (`tollgate_auth.domain.signing_keys`), applied to the real cache and authenticator.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tollgate_contracts import TOKEN_AUDIENCE, TOKEN_ISSUER, ErrorCode, SigningKeyStatus
from tollgate_proxy.authenticator import Authenticator
from tollgate_proxy.domain.errors import CredentialRejected, UnknownSigningKey
from tollgate_proxy.policy_cache import PolicyCache


def test_a_rotation_keeps_old_tokens_until_not_after_and_refuses_them_after(signer: Any, new_signer: Any) -> None:
    cache = PolicyCache()
    auth = Authenticator(cache, issuer=TOKEN_ISSUER, audience=TOKEN_AUDIENCE)
    cache.apply(signer.state(version=1))
    old_token = signer.token(ttl=60)
    now = time.time()
    assert auth.authenticate(old_token, now).grant_id == "grt_1"

    # The rotation: the new key first (published while pending, then active), then the old one retiring.
    rotated_at = datetime.fromtimestamp(now, UTC)
    not_after = rotated_at + timedelta(seconds=60 + 60)
    fresh = new_signer(kid="k-new")
    cache.apply(fresh.state(version=1))
    cache.apply(fresh.state(version=2))
    cache.apply(signer.state(version=2, status=SigningKeyStatus.RETIRED, not_after=not_after, occurred_at=rotated_at))
    assert set(cache.verification_keys) == {signer.kid, "k-new"}
    # Both verify during the overlap: the old token by its kid, new tokens by theirs.
    assert auth.authenticate(old_token, now + 30).grant_id == "grt_1"
    assert auth.authenticate(fresh.token(), now + 30).grant_id == "grt_1"

    # Past not_after, the old key verifies nothing, even a token (signed with its stolen private half) that has
    # not expired; the refusal is immediate (no wait for a key that might still arrive).
    late = now + 121
    forged = signer.token(ttl=3600)
    for token in (old_token, forged):
        with pytest.raises(CredentialRejected) as caught:
            auth.authenticate(token, late)
        assert not isinstance(caught.value, UnknownSigningKey)
        assert caught.value.code in (ErrorCode.INVALID_CREDENTIAL, ErrorCode.TOKEN_EXPIRED)
    with pytest.raises(CredentialRejected, match="retired key"):
        auth.authenticate(forged, late)

    # The final state (stamped after not_after) changes nothing for the worse; the new key carries on.
    final_at = not_after + timedelta(seconds=1)
    cache.apply(signer.state(version=3, status=SigningKeyStatus.RETIRED, not_after=not_after, occurred_at=final_at))
    with pytest.raises(CredentialRejected, match="retired key"):
        auth.authenticate(forged, late)
    assert auth.authenticate(fresh.token(), late).grant_id == "grt_1"


def test_a_replayed_retiring_state_does_not_bring_a_retired_key_back(signer: Any) -> None:
    cache = PolicyCache()
    auth = Authenticator(cache, issuer=TOKEN_ISSUER, audience=TOKEN_AUDIENCE)
    now = time.time()
    not_after = datetime.fromtimestamp(now - 1, UTC)
    cache.apply(signer.state(version=3, status=SigningKeyStatus.RETIRED, not_after=not_after))
    # Older versions (a redelivery, an out-of-order republish) are ignored.
    assert not cache.apply(signer.state(version=1))
    assert not cache.apply(signer.state(version=2, status=SigningKeyStatus.RETIRED, not_after=None))
    with pytest.raises(CredentialRejected, match="retired key"):
        auth.authenticate(signer.token(), now)
