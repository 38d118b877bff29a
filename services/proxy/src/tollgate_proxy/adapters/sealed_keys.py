"""Provider keys from keyvault, sealed to this replica's X25519 key, kept in memory per credential version.

The key pair is made at start and never leaves the process, so no plaintext
key crosses the bus. Concurrent requests for the same missing key share one
`keyvault.seal.v1` round trip. A newer CredentialState drops the cached key.
"""

from __future__ import annotations

import asyncio
import logging

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from pydantic import ValidationError

from tollgate_contracts import CredentialState, ErrorCode, SealReply, SealRequest
from tollgate_contracts.b64 import b64url_encode
from tollgate_contracts.sealedbox import SealError, public_bytes, unseal
from tollgate_proxy.adapters.bus import Bus
from tollgate_proxy.domain.errors import Unavailable

logger = logging.getLogger(__name__)


def _unavailable(message: str, code: ErrorCode = ErrorCode.PROVIDER_KEY_UNAVAILABLE) -> Unavailable:
    return Unavailable(code, message)


class SealedKeys:
    """Gets and caches provider keys by (credential id, state version)."""

    def __init__(self, bus: Bus, *, requester: str, timeout: float) -> None:
        self._bus = bus
        self._requester = requester
        self._timeout = timeout
        self._private = X25519PrivateKey.generate()
        self._public = b64url_encode(public_bytes(self._private.public_key()))
        self._keys: dict[str, tuple[int, str]] = {}
        self._fetching: dict[tuple[str, int], asyncio.Future[str]] = {}

    @property
    def public_key(self) -> str:
        """This replica's X25519 public key, base64url."""
        return self._public

    def on_credential_change(self, state: CredentialState) -> None:
        """Forget the key of a credential that changed (rotated, disabled, deleted)."""
        held = self._keys.get(state.credential_id)
        if held is not None and held[0] < state.state_version:
            del self._keys[state.credential_id]

    async def key_for(self, credential: CredentialState) -> str:
        """The plaintext provider key for `credential`, from memory or from keyvault; Unavailable if not."""
        held = self._keys.get(credential.credential_id)
        if held is not None and held[0] >= credential.state_version:
            return held[1]
        wanted = (credential.credential_id, credential.state_version)
        pending = self._fetching.get(wanted)
        if pending is None:
            pending = asyncio.get_running_loop().create_future()
            self._fetching[wanted] = pending
            try:
                key = await self._fetch(credential)
            except BaseException as exc:
                failure = exc if isinstance(exc, Unavailable) else _unavailable("fetching the provider key failed")
                pending.set_exception(failure)
                pending.exception()  # retrieved here, so a fetch nobody else awaited logs nothing
                raise
            finally:
                del self._fetching[wanted]
            pending.set_result(key)
            return key
        return await asyncio.shield(pending)

    async def _fetch(self, credential: CredentialState) -> str:
        nc = self._bus.nc
        if nc is None or not nc.is_connected:
            raise _unavailable("keyvault cannot be reached: the bus is down")
        request = SealRequest(
            credential_id=credential.credential_id, recipient_public_key=self._public, requester=self._requester
        )
        try:
            msg = await nc.request(SealRequest.subject, request.model_dump_json().encode(), timeout=self._timeout)
        except NoRespondersError:
            raise _unavailable("keyvault is not running") from None
        except (TimeoutError, NatsError):
            raise _unavailable("keyvault did not answer in time") from None
        try:
            reply = SealReply.model_validate_json(msg.data)
        except ValidationError:
            logger.error("malformed seal reply for credential %s", credential.credential_id)
            raise _unavailable("keyvault sent a malformed reply") from None
        if not reply.ok or reply.ephemeral_public_key is None or reply.nonce is None or reply.ciphertext is None:
            code = reply.error or ErrorCode.PROVIDER_KEY_UNAVAILABLE
            logger.warning("keyvault refused credential %s: %s", credential.credential_id, code.value)
            raise _unavailable(f"keyvault refused the provider key ({code.value})", code)
        try:
            key = unseal(
                self._private,
                ephemeral_public_key=reply.ephemeral_public_key,
                nonce=reply.nonce,
                ciphertext=reply.ciphertext,
                credential_id=credential.credential_id,
            )
        except SealError:
            logger.error("sealed key for credential %s does not open", credential.credential_id)
            raise _unavailable("keyvault sent a key this proxy cannot open") from None
        version = reply.state_version if reply.state_version is not None else credential.state_version
        current = self._keys.get(credential.credential_id)
        if current is None or current[0] <= version:
            self._keys[credential.credential_id] = (version, key)
        return key
