"""Keyvault's use cases: store, list and delete credentials, seal a key to a proxy, republish, re-wrap.

Every change is stored first, then published as the credential's full state
(awaiting the JetStream acknowledgement), then audited. The provider key is in
clear only inside `create` (to encrypt it) and `seal` (to seal it again). A
credential is stored only for a tenant auth has published as active, and a
base URL the caller supplies passes the egress guard before anything is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from tollgate_contracts import (
    AuditEvent,
    CredentialState,
    CredentialStatus,
    ErrorCode,
    SealReply,
    SealRequest,
    TenantStatus,
)
from tollgate_contracts.owners import published_by_owner
from tollgate_contracts.sealedbox import InvalidRecipientKey, recipient_key, seal
from tollgate_keyvault.domain import envelope
from tollgate_keyvault.domain.credential import Credential, Status, new_credential
from tollgate_keyvault.domain.errors import (
    BaseUrlRefused,
    CredentialNotFound,
    KeyUnavailable,
    TenantDisabled,
    TenantNotFound,
)
from tollgate_keyvault.ports import Clock, CredentialStore, Ids, Publisher, Tenants, UrlGuard
from tollgate_servicekit.egress import EgressGuard, EgressRefused
from tollgate_servicekit.errors import BusUnavailable

logger = logging.getLogger(__name__)

SERVICE = "keyvault"
ID_PREFIX = "crd"


def to_state(credential: Credential, producer: str = SERVICE) -> CredentialState:
    """The wire state of a credential (never the key)."""
    return CredentialState(
        producer=producer,
        occurred_at=credential.updated_at,
        state_version=credential.version,
        credential_id=credential.id,
        tenant_id=credential.tenant_id,
        provider=credential.provider,
        api_style=credential.api_style.value,
        base_url=credential.base_url,
        last4=credential.last4,
        status=CredentialStatus(credential.status.value),
    )


@dataclass(frozen=True)
class Sealing:
    """The answer to a seal request, and the audit event to publish once it has been sent."""

    reply: SealReply
    audit: AuditEvent | None = None


class KeyvaultService:
    """The use cases, over a store, a publisher, a keyring, a clock, ids, the tenants auth published and the
    egress guard.

    Without `egress`, base URLs are checked with no allow-list (every non-public address refused).
    """

    def __init__(
        self,
        store: CredentialStore,
        publisher: Publisher,
        keyring: envelope.Keyring,
        clock: Clock,
        ids: Ids,
        producer: str = SERVICE,
        *,
        tenants: Tenants,
        egress: UrlGuard | None = None,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._keyring = keyring
        self._clock = clock
        self._ids = ids
        self._producer = producer
        self._tenants = tenants
        self._egress: UrlGuard = egress if egress is not None else EgressGuard()

    async def create(
        self,
        tenant_id: str,
        provider: str,
        api_key: str,
        base_url: str | None = None,
        api_style: str | None = None,
        actor: str = "admin",
    ) -> Credential:
        """Encrypt and store a provider key, publish the credential's state; InvalidInput for bad fields.

        The tenant must be one auth has published as active (TenantNotFound, TenantDisabled; `BusUnavailable`
        when that cannot be checked). A caller-supplied `base_url` must pass the egress guard (BaseUrlRefused);
        the built-in provider roots are ours, not the caller's, and are not resolved here.
        """
        request = new_credential(tenant_id, provider, api_key, base_url, api_style)
        await self._check_tenant(request.tenant_id)
        if base_url is not None:
            await self._check_base_url(request.base_url)
        credential_id = self._ids.new_id(ID_PREFIX)
        now = self._clock.now()
        credential = Credential(
            id=credential_id,
            tenant_id=request.tenant_id,
            provider=request.provider,
            api_style=request.api_style,
            base_url=request.base_url,
            last4=request.last4,
            status=Status.ACTIVE,
            version=1,
            created_at=now,
            updated_at=now,
            envelope=envelope.encrypt(request.api_key.encode(), credential_id, self._keyring),
        )
        await self._store.add(credential)
        await self._publisher.publish_state(to_state(credential, self._producer))
        await self._audit("credential.created", actor, credential, {"provider": credential.provider})
        logger.info(
            "credential %s created for tenant %s (%s)", credential.id, credential.tenant_id, credential.provider
        )
        return credential

    async def list(self, tenant_id: str | None = None) -> Sequence[Credential]:
        return await self._store.list(tenant_id)

    async def get(self, credential_id: str) -> Credential:
        return await self._store.get(credential_id)

    async def delete(self, credential_id: str, actor: str = "admin") -> Credential:
        """Mark the credential deleted and erase its key material; deleting twice changes nothing more."""
        current = await self._store.get(credential_id)
        if current.status is Status.DELETED:
            return current
        credential = current.deleted(self._clock.now())
        await self._store.replace(credential, expected_version=current.version)
        await self._publisher.publish_state(to_state(credential, self._producer))
        await self._audit("credential.deleted", actor, credential, {})
        logger.info("credential %s deleted", credential.id)
        return credential

    async def seal(self, request: SealRequest) -> Sealing:
        """The credential's key sealed to the requester, or a reply saying why not (never raises for bad input).

        The audit event is returned, not published, so the caller can answer first and audit afterwards (`record`).
        """
        try:
            recipient_key(request.recipient_public_key)
        except InvalidRecipientKey as exc:
            return self._refuse(request, ErrorCode.INVALID_REQUEST, str(exc))
        try:
            credential = await self._store.get(request.credential_id)
        except CredentialNotFound:
            return self._refuse(request, ErrorCode.CREDENTIAL_NOT_FOUND, "no such credential")
        if credential.status is Status.DELETED:
            return self._refuse(request, ErrorCode.CREDENTIAL_NOT_FOUND, "credential was deleted")
        if credential.status is not Status.ACTIVE:
            return self._refuse(request, ErrorCode.PROVIDER_KEY_UNAVAILABLE, f"credential is {credential.status}")
        try:
            secret = envelope.decrypt(credential.envelope, credential.id, self._keyring)
            box = seal(secret, request.recipient_public_key, credential.id)
        except KeyUnavailable as exc:
            logger.error("credential %s cannot be opened: %s", credential.id, exc)
            return self._refuse(request, ErrorCode.PROVIDER_KEY_UNAVAILABLE, "stored key cannot be opened")
        except InvalidRecipientKey as exc:
            # Well-formed but unusable (a low-order point): only the exchange itself can tell.
            return self._refuse(request, ErrorCode.INVALID_REQUEST, str(exc))
        reply = SealReply(
            ok=True,
            credential_id=credential.id,
            state_version=credential.version,
            ephemeral_public_key=box.ephemeral_public_key,
            nonce=box.nonce,
            ciphertext=box.ciphertext,
        )
        details: dict[str, object] = {"requester": request.requester, "state_version": credential.version}
        return Sealing(reply, self._audit_event("credential.sealed", request.requester, credential, details))

    async def record(self, sealing: Sealing) -> None:
        """Publish the audit event of a seal that was answered."""
        if sealing.audit is not None:
            await self._publish_audit(sealing.audit)

    async def _check_tenant(self, tenant_id: str) -> None:
        state = await self._tenants.tenant(tenant_id)
        if state is not None and not published_by_owner(state):
            logger.warning("ignoring tenant state for %s from producer %r", tenant_id, state.producer[:32])
            state = None
        if state is None:
            raise TenantNotFound(tenant_id)
        if state.status is not TenantStatus.ACTIVE:
            raise TenantDisabled(tenant_id)

    async def _check_base_url(self, url: str) -> None:
        try:
            await self._egress.check_url(url)
        except EgressRefused as exc:
            logger.info("base URL refused: %s", exc.reason)
            raise BaseUrlRefused(exc.reason) from None

    def _refuse(self, request: SealRequest, code: ErrorCode, message: str) -> Sealing:
        logger.info("seal of %s for %s refused: %s", request.credential_id, request.requester, code.value)
        return Sealing(SealReply(ok=False, credential_id=request.credential_id, error=code, message=message))

    async def republish_all(self) -> int:
        """Publish the current state of every credential (consumers keep the highest version); the count."""
        credentials = await self._store.list()
        for credential in credentials:
            await self._publisher.publish_state(to_state(credential, self._producer))
        return len(credentials)

    async def rewrap_all(self) -> int:
        """Re-wrap every data key held under an older KEK with the current one; the number re-wrapped.

        The version does not change: the credential's visible state is the same, only its storage moved.
        A record whose KEK is missing is logged and left as it is (it can still be re-wrapped later).
        """
        count = 0
        current_kek = self._keyring.current.id
        for credential in await self._store.list():
            if credential.status is Status.DELETED or credential.envelope.kek_id == current_kek:
                continue
            try:
                moved = envelope.rewrap(credential.envelope, credential.id, self._keyring)
            except KeyUnavailable as exc:
                logger.error("credential %s not re-wrapped: %s", credential.id, exc)
                continue
            updated = replace(credential, envelope=moved)
            await self._store.replace(updated, expected_version=credential.version)
            count += 1
        if count:
            logger.info("re-wrapped %d credential(s) under KEK %s", count, current_kek)
        return count

    async def _audit(self, action: str, actor: str, credential: Credential, details: dict[str, object]) -> None:
        await self._publish_audit(self._audit_event(action, actor, credential, details))

    def _audit_event(self, action: str, actor: str, credential: Credential, details: dict[str, object]) -> AuditEvent:
        return AuditEvent(
            producer=self._producer,
            service=SERVICE,
            action=action,
            actor=actor,
            target_id=credential.id,
            tenant_id=credential.tenant_id,
            details=details,
        )

    async def _publish_audit(self, event: AuditEvent) -> None:
        try:
            await self._publisher.publish_audit(event)
        except BusUnavailable as exc:
            # The change itself is stored and its state published; a missing audit line must not undo it.
            logger.error("audit event %s for %s not published: %s", event.action, event.target_id, exc)
