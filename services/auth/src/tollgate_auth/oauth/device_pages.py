"""The device verification page (RFC 8628 §3.3): the owner types (or follows a link with) the user code, sees
the request on the consent form, and approves (narrowing) or denies; the polling device then hears of it."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tollgate_auth.adapters.oauth_store import PENDING, StoredRequest
from tollgate_auth.domain.consent import (
    ConsentView,
    Decision,
    Template,
    grant_request_from,
    narrow,
    needs_provider_and_models,
    with_template,
)
from tollgate_auth.domain.errors import InvalidRequest, Unavailable
from tollgate_auth.domain.grant_requests import normalize_user_code
from tollgate_auth.domain.users import SignInLimit, recent_failures, retry_after
from tollgate_auth.oauth.approval import READ_ONLY, UNAVAILABLE, approve
from tollgate_auth.oauth.details import asked_details
from tollgate_auth.oauth.forms import CONSENT_FORM
from tollgate_auth.oauth.layer import OAuthLayer
from tollgate_auth.oauth.metadata import DEVICE_VERIFY
from tollgate_auth.web.forms import parse_consent_form
from tollgate_auth.web.pages import device_page
from tollgate_auth.web.session import Owner, check_csrf, current_owner, signin_redirect

router = APIRouter(tags=["oauth"])

UNKNOWN = "That code is unknown or no longer valid; check the code your device shows."
TOO_MANY = "Too many wrong codes. Wait a few minutes, then type the code your device shows."
CODE_GUESSES = SignInLimit(failures=10, window_seconds=600)
"""RFC 8628 §5.1: wrong user codes one owner may type in a window before the page looks none up (per replica)."""
MAX_TRACKED_OWNERS = 10_000
DECIDED = "This request was already answered."


async def _template(layer: OAuthLayer, owner: Owner) -> Template:
    """The verifying owner's tenant's consent template (the grant is created in that tenant)."""
    return await layer.ctx.service().tenants.consent_template(owner.tenant_id)


def _view(stored: StoredRequest, template: Template) -> ConsentView:
    asked = asked_details(stored.params)
    return ConsentView(
        request_id=stored.id,
        action=DEVICE_VERIFY,
        client_name=stored.params.get("client_name", stored.client_id),
        verified_domain=None,
        asked=with_template(asked, template),
        needs_provider_and_models=needs_provider_and_models(asked),
    )


def _misses(request: Request) -> dict[str, tuple[datetime, ...]]:
    """Each owner's recent wrong user codes, kept on the app (in memory, per replica)."""
    misses: dict[str, tuple[datetime, ...]] | None = getattr(request.app.state, "device_code_misses", None)
    if misses is None:
        misses = request.app.state.device_code_misses = {}
    return misses


async def _pending(layer: OAuthLayer, user_code: str | None) -> StoredRequest | None:
    code = normalize_user_code(user_code or "")
    stored = None if code is None else await layer.ctx.devices().by_user_code(code)
    if stored is None or stored.status != PENDING or layer.ctx.clock.now() >= stored.expires_at:
        return None
    return stored


@router.get(DEVICE_VERIFY)
async def verification_page(request: Request, user_code: str | None = None) -> Response:
    """RFC 8628 §3.3 verification page (HTML): asks for the user code, or, with `user_code`, shows the device's
    request on the consent form. Sign-in first."""
    owner = await current_owner(request)
    if owner is None:
        return signin_redirect(request)
    if not user_code:
        return device_page(request, user_code=None, view=None, message=None)
    layer: OAuthLayer = request.app.state.oauth
    misses = _misses(request)
    now = layer.ctx.clock.now()
    wait = retry_after(misses.get(owner.user_id, ()), now, CODE_GUESSES)
    if wait is not None:
        refused = device_page(request, user_code=None, view=None, message=TOO_MANY, status_code=429)
        refused.headers["Retry-After"] = str(wait)
        return refused
    stored = await _pending(layer, user_code)
    if stored is None:
        misses[owner.user_id] = (*recent_failures(misses.pop(owner.user_id, ()), now, CODE_GUESSES), now)
        while len(misses) > MAX_TRACKED_OWNERS:
            del misses[next(iter(misses))]
        return device_page(request, user_code=user_code, view=None, message=UNKNOWN, status_code=404)
    view = _view(stored, await _template(layer, owner))
    return device_page(request, user_code=normalize_user_code(user_code), view=view, message=None)


@router.post(DEVICE_VERIFY, openapi_extra=CONSENT_FORM)
async def verification_answer(request: Request) -> Response:
    """The owner's answer to a device request (CSRF-checked form): approve (narrowing) or deny."""
    layer: OAuthLayer = request.app.state.oauth
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form)
    owner = await current_owner(request)
    if owner is None:
        return signin_redirect(request)
    stored = await layer.ctx.store().get_request(form.get("request_id", ""))
    live = stored is not None and stored.status == PENDING and layer.ctx.clock.now() < stored.expires_at
    if stored is None or not live:
        return device_page(request, user_code=None, view=None, message=UNKNOWN, status_code=404)
    asked = asked_details(stored.params)
    template = await _template(layer, owner)
    try:
        decision, choice = parse_consent_form(form)
        if decision is Decision.APPROVE and not owner.may_consent:
            # Refused before anything is recorded: the request stays pending for an owner who may approve.
            return device_page(request, user_code=None, view=None, message=READ_ONLY, status_code=403)
        granted = narrow(asked, choice, template=template) if decision is Decision.APPROVE else None
        client_name = stored.params.get("client_name")
        grant_request = None if granted is None else grant_request_from(granted, app_name=client_name)
    except InvalidRequest as exc:
        return device_page(request, user_code=None, view=_view(stored, template), message=exc.message, status_code=422)
    store, now = layer.ctx.store(), layer.ctx.clock.now()
    if grant_request is None:
        if not await store.decide_request(stored.id, "denied", None, now):
            return device_page(request, user_code=None, view=None, message=DECIDED)
        return device_page(request, user_code=None, view=None, message="Denied. The device gets no access.")
    try:
        created = await approve(store, layer.ctx.service(), stored, grant_request, tenant_id=owner.tenant_id, now=now)
    except Unavailable:
        # The request is pending again: the same form, to try again once the bus is back.
        return device_page(request, user_code=None, view=_view(stored, template), message=UNAVAILABLE, status_code=503)
    if created is None:
        return device_page(request, user_code=None, view=None, message=DECIDED)
    return device_page(request, user_code=None, view=None, message="Approved. You can return to your device.")
