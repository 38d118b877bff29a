"""RFC 8628 §5.1: the verification page limits how many wrong user codes one owner may try (brute force)."""

from __future__ import annotations

from .test_auth_oauth_device import device_client, start
from .test_auth_oauth_errors import clock, http

__all__ = ["clock", "http"]


async def test_guessing_user_codes_is_throttled_per_owner(http, clock) -> None:
    started = await start(http, await device_client(http))
    for _ in range(10):
        assert (await http.get("/device", params={"user_code": "BCDF-GHJK"})).status_code == 404
    refused = await http.get("/device", params={"user_code": started["user_code"]})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Build bot" not in refused.text
    clock.advance(11 * 60)
    started = await start(http, await device_client(http))
    assert (await http.get("/device", params={"user_code": started["user_code"]})).status_code == 200
