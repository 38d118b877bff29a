"""Read-your-writes: a request whose token verified waits briefly for a grant or signing key still on its way."""

from __future__ import annotations

import asyncio
import time

from tollgate_contracts import ErrorCode
from tollgate_proxy.arrivals import Arrivals
from tollgate_proxy.policy_cache import MAX_KEY_WAITERS
from tollgate_proxy.testing import Answer, Harness, Signer, make_api_key, make_credential, make_grant
from tollgate_proxy.testing.provider import completion
from tollgate_servicekit.testing import eventually

CHAT = "/v1/chat/completions"
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def arriving_later(harness: Harness, *states: object, after: float = 0.05) -> None:
    """The bus delivers these states a moment after the request came in."""
    for state in states:
        asyncio.get_running_loop().call_later(after, harness.policy.apply, state)


async def test_a_grant_that_arrives_while_its_first_request_waits_lets_it_through() -> None:
    signer = Signer()
    harness = Harness.build([signer.state(), make_credential()], signer=signer, fresh_state_wait=2.0)
    harness.upstream.reply(Answer.json(completion()))
    arriving_later(harness, make_grant())
    started = time.monotonic()
    answer = await harness.post(CHAT, BODY)
    assert answer.status == 200, answer.body
    assert time.monotonic() - started < 1.5
    assert len(harness.usage.records) == 1


async def test_a_grant_that_never_arrives_is_refused_once_the_wait_is_over() -> None:
    signer = Signer()
    harness = Harness.build([signer.state(), make_credential()], signer=signer, fresh_state_wait=0.1)
    started = time.monotonic()
    answer = await harness.post(CHAT, BODY)
    assert time.monotonic() - started >= 0.1
    assert answer.status == 403
    assert answer.json()["error"]["code"] == ErrorCode.GRANT_NOT_FOUND.value
    assert "is not known to this proxy" in answer.json()["error"]["message"]
    assert len(harness.policy._grant_arrivals) == 0  # nothing left behind


async def test_a_token_signed_by_a_key_still_on_its_way_waits_for_it() -> None:
    signer = Signer(kid="k-new")
    harness = Harness.build([make_grant(), make_credential()], signer=signer, fresh_state_wait=2.0)
    harness.upstream.reply(Answer.json(completion()))
    arriving_later(harness, signer.state())
    assert (await harness.post(CHAT, BODY)).status == 200


async def test_an_unknown_key_that_never_arrives_is_refused_as_an_unknown_key() -> None:
    signer = Signer(kid="k-never")
    harness = Harness.build([make_grant(), make_credential()], signer=signer, fresh_state_wait=0.1)
    answer = await harness.post(CHAT, BODY)
    assert answer.status == 401 and answer.json()["error"]["message"] == "token was signed by an unknown key"


async def test_a_token_whose_claims_could_never_pass_is_not_worth_waiting_for() -> None:
    harness = Harness.build([make_grant(), make_credential()], fresh_state_wait=30.0)
    elsewhere = Signer(kid="k-other", audience="someone-else").token()
    expired = Signer(kid="k-other").token(iat=1, nbf=1, exp=2)
    async with asyncio.timeout(5):  # would wait 30 s if it waited at all
        for token in (elsewhere, expired, "not-a-token"):
            assert (await harness.post(CHAT, BODY, credential=token)).status == 401


async def test_a_known_api_key_waits_for_its_grant_but_an_unknown_one_does_not() -> None:
    key = "tg_" + "c3" * 20
    harness = Harness.build([make_api_key(key, grant_id="grt_k"), make_credential()], fresh_state_wait=2.0)
    harness.upstream.reply(Answer.json(completion()))
    arriving_later(harness, make_grant(grant_id="grt_k"))
    assert (await harness.post(CHAT, BODY, credential=key)).status == 200
    async with asyncio.timeout(1):
        assert (await harness.post(CHAT, BODY, credential="tg_" + "d4" * 20)).status == 401


async def test_a_grant_of_another_tenant_is_refused_even_after_waiting() -> None:
    signer = Signer()
    harness = Harness.build([signer.state(), make_credential()], signer=signer, fresh_state_wait=2.0)
    arriving_later(harness, make_grant(tenant_id="tnt_other"))
    answer = await harness.post(CHAT, BODY)
    assert answer.status == 403 and answer.json()["error"]["code"] == ErrorCode.GRANT_NOT_FOUND.value


async def test_waiters_for_one_id_share_an_event_and_the_number_of_awaited_ids_is_capped() -> None:
    arrivals = Arrivals(max_awaited=2)
    first = asyncio.ensure_future(arrivals.wait("a", 2.0))
    second = asyncio.ensure_future(arrivals.wait("a", 2.0))
    other = asyncio.ensure_future(arrivals.wait("b", 2.0))
    await asyncio.sleep(0)  # let the three register: a scheduling point, not a wait for a condition
    assert len(arrivals) == 2
    assert await arrivals.wait("c", 2.0) is False  # full: refused at once
    arrivals.arrived("a")
    assert await first and await second
    arrivals.arrived("nobody-waits")
    other.cancel()
    await asyncio.gather(other, return_exceptions=True)
    assert len(arrivals) == 0


async def test_the_waiters_of_one_id_are_capped_too() -> None:
    arrivals = Arrivals(max_awaited=10, max_waiters=2)
    held = [asyncio.ensure_future(arrivals.wait("a", 2.0)) for _ in range(2)]
    await asyncio.sleep(0)  # let the two register: a scheduling point, not a wait for a condition
    assert await arrivals.wait("a", 2.0) is False  # a third waiter, even for the same id, is refused at once
    assert await arrivals.wait("b", 2.0) is False
    arrivals.arrived("a")
    assert all(await asyncio.gather(*held))
    assert len(arrivals) == 0


async def test_forged_tokens_naming_unknown_keys_cannot_hold_many_requests() -> None:
    # Anyone can sign a token with a key of their own and a made-up kid: its signature cannot be checked until
    # the key arrives, so these waits are the attacker's to fill. Only a few may be held; the rest answer at once.
    harness = Harness.build([make_grant(), make_credential()], fresh_state_wait=30.0)
    forged = [Signer(kid=f"k-forged-{i % 50}").token() for i in range(300)]
    requests = [asyncio.ensure_future(harness.post(CHAT, BODY, credential=token)) for token in forged]
    try:
        answered = await eventually(
            lambda: sum(r.done() for r in requests) >= len(requests) - MAX_KEY_WAITERS and requests,
            timeout=5,
            what="forged requests refused at once",
        )
        assert all(r.result().status == 401 for r in answered if r.done())
        assert len(harness.policy._key_arrivals) <= MAX_KEY_WAITERS
    finally:
        for request in requests:
            request.cancel()
        await asyncio.gather(*requests, return_exceptions=True)
