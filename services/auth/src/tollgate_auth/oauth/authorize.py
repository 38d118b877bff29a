"""The authorization endpoint (RFC 6749 §4.1.1, with RFC 9126 pushed requests) and the owner's decision.

GET `/oauth/authorize`: Authlib validates the request (client, exact redirect URI, PKCE S256, `resource`);
`authorization_details` is parsed by the domain; no session → the sign-in page, which comes back here; else
the request is stored as pending and the consent page is shown. POST `/oauth/authorize` (the consent form,
CSRF-checked): deny → `error=access_denied`; approve → the owner's choice narrows the ask, the grant is created
(answered only once its state is acknowledged by the bus; `approval.approve`, which reopens the request when it
cannot be: a 503 page) and the client gets `code`, `state` and `iss`. A read-only owner sees the page without
Approve, and an approval they post anyway is refused (403) with nothing recorded.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc9101.errors import InvalidRequestUriError
from fastapi import APIRouter, Request
from fastapi.responses import Response

from tollgate_auth.adapters.oauth_store import PENDING, StoredRequest
from tollgate_auth.domain.consent import (
    AccessDetails,
    ConsentView,
    Decision,
    Template,
    grant_request_from,
    narrow,
    needs_provider_and_models,
    with_template,
)
from tollgate_auth.domain.errors import InvalidRequest, Unavailable
from tollgate_auth.oauth.approval import READ_ONLY, UNAVAILABLE, approve
from tollgate_auth.oauth.details import asked_details, granted_details
from tollgate_auth.oauth.documents import verified_domain
from tollgate_auth.oauth.errors import ExpiredRequestError
from tollgate_auth.oauth.forms import CONSENT_FORM
from tollgate_auth.oauth.layer import OAuthLayer, to_response
from tollgate_auth.oauth.metadata import AUTHORIZE
from tollgate_auth.oauth.models import GrantUser
from tollgate_auth.oauth.par import REQUEST_URI_PREFIX
from tollgate_auth.oauth.requests import CapturedRequest, capture, rebuilt
from tollgate_auth.web.forms import parse_consent_form
from tollgate_auth.web.pages import consent_page, render
from tollgate_auth.web.session import Owner, check_csrf, current_owner, signin_redirect

router = APIRouter(tags=["oauth"])

APPROVED, DENIED, EXPIRED = "approved", "denied", "expired"


def layer_of(request: Request) -> OAuthLayer:
    layer: OAuthLayer = request.app.state.oauth
    return layer


def error_page(request: Request, message: str, status: int = 400) -> Response:
    """An error that must not be redirected (unknown client, unverified redirect URI): shown to the person."""
    return render(request, "error.html", status_code=status, title="This request cannot go on", detail=message)


def answer_error(request: Request, layer: OAuthLayer, error: OAuth2Error, state: str | None) -> Response:
    answer = layer.error(error, state)
    if answer.location:
        return to_response(answer)
    description = error.description or error.error
    return error_page(request, f"{error.error}: {description}", error.status_code or 400)


async def _pushed(layer: OAuthLayer, captured: CapturedRequest) -> CapturedRequest:
    """The pushed request a `request_uri` names (once), or the request as it came; PAR required → refused."""
    data = captured.payload.data
    request_uri = data.get("request_uri")
    client_id = data.get("client_id") or ""
    if request_uri is None:
        client = await layer.ctx.store().get_client(client_id) if client_id else None
        if layer.ctx.settings.require_par or (client and client.metadata.get("require_pushed_authorization_requests")):
            raise InvalidRequestError("this server requires pushed authorization requests (RFC 9126)")
        return captured
    if not request_uri.startswith(REQUEST_URI_PREFIX):
        raise InvalidRequestUriError("request_uri: not one this server issued")
    params = await layer.ctx.store().take_pushed(
        request_uri.removeprefix(REQUEST_URI_PREFIX), client_id, layer.ctx.clock.now()
    )
    if params is None:
        # RFC 9101 §7 (which RFC 9126 builds on): the request_uri leads to nothing valid.
        raise InvalidRequestUriError("request_uri: unknown, used or expired")
    return rebuilt(layer.ctx.settings.public_url, AUTHORIZE, params)


@router.get(AUTHORIZE)
async def authorize(request: Request) -> Response:
    """RFC 6749 §4.1.1 authorization request (or a RFC 9126 `request_uri`): the consent page (HTML) for a
    signed-in owner, a 303 to the sign-in page otherwise; errors go to the verified redirect URI (with `state`
    and `iss`, RFC 9207) or are shown when the client or redirect URI cannot be trusted."""
    layer = layer_of(request)
    captured = await capture(request, layer.ctx.settings.public_url)
    state = captured.payload.state
    owner = await current_owner(request)
    if owner is None and captured.payload.data.get("request_uri"):
        # A request_uri is used once: sign in before spending it.
        return signin_redirect(request)
    try:
        captured = await _pushed(layer, captured)
        state = captured.payload.state
        grant = await layer.run(layer.server.get_consent_grant, captured)
    except OAuth2Error as error:
        return answer_error(request, layer, error, state)
    try:
        asked = asked_details(captured.payload.data)
    except OAuth2Error as error:
        error.redirect_uri = grant.redirect_uri
        return answer_error(request, layer, error, state)
    if owner is None:
        return signin_redirect(request)
    now = layer.ctx.clock.now()
    stored = StoredRequest(
        id=layer.ctx.ids.new_id("req"),
        client_id=grant.client.get_client_id(),
        params=dict(captured.payload.data),
        owner_id=owner.user_id,
        tenant_id=owner.tenant_id,
        status=PENDING,
        grant_id=None,
        created_at=now,
        expires_at=now + timedelta(seconds=layer.ctx.settings.pending_request_ttl_seconds),
    )
    await layer.ctx.store().add_request(stored)
    view = _view(stored, grant.client.name, asked, await _template(layer, owner))
    return consent_page(request, view, redirect_uri=grant.redirect_uri)


async def _template(layer: OAuthLayer, owner: Owner) -> Template:
    """The owner's tenant's consent template: what the page proposes and what the narrowing starts from."""
    return await layer.ctx.service().tenants.consent_template(owner.tenant_id)


def _view(stored: StoredRequest, client_name: str, asked: AccessDetails, template: Template) -> ConsentView:
    return ConsentView(
        request_id=stored.id,
        action=AUTHORIZE,
        client_name=client_name,
        verified_domain=verified_domain(stored.client_id),
        asked=with_template(asked, template),
        needs_provider_and_models=needs_provider_and_models(asked),
    )


@router.post(AUTHORIZE, openapi_extra=CONSENT_FORM)
async def decide(request: Request) -> Response:
    """The consent form's answer (CSRF-checked): a 303 to the client with `code`, `state` and `iss` on
    approval (the grant is created and published first), `error=access_denied` on denial."""
    layer = layer_of(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form)
    owner = await current_owner(request)
    if owner is None:
        return error_page(request, "Your session ended: start again from the app.", 401)
    stored = await layer.ctx.store().get_request(form.get("request_id", ""))
    if stored is None or stored.owner_id != owner.user_id:
        return error_page(request, "This authorization request is unknown.", 404)
    if stored.status != PENDING:
        return error_page(request, f"This authorization request was already {stored.status}.", 409)
    captured = rebuilt(layer.ctx.settings.public_url, AUTHORIZE, stored.params)
    state = captured.payload.state
    try:
        grant = await layer.run(layer.server.get_consent_grant, captured)
    except OAuth2Error as error:
        return answer_error(request, layer, error, state)
    if layer.ctx.clock.now() >= stored.expires_at:
        await layer.ctx.store().decide_request(stored.id, EXPIRED, None, layer.ctx.clock.now())
        expired = ExpiredRequestError("the authorization request expired before it was answered")
        expired.redirect_uri = grant.redirect_uri
        return answer_error(request, layer, expired, state)
    return await _answer(request, layer, owner, stored, form, captured, grant)


async def _answer(
    request: Request,
    layer: OAuthLayer,
    owner: Owner,
    stored: StoredRequest,
    form: dict[str, str],
    captured: CapturedRequest,
    grant: Any,
) -> Response:
    asked = asked_details(stored.params)
    template = await _template(layer, owner)
    try:
        decision, choice = parse_consent_form(form)
        if decision is Decision.APPROVE and not owner.may_consent:
            # Refused before anything is recorded: the request stays pending for an owner who may approve.
            return error_page(request, READ_ONLY, 403)
        granted = narrow(asked, choice, template=template) if decision is Decision.APPROVE else None
        grant_request = None if granted is None else grant_request_from(granted, app_name=grant.client.name)
    except InvalidRequest as exc:
        view = _view(stored, grant.client.name, asked, template)
        return consent_page(request, view, redirect_uri=grant.redirect_uri, message=exc.message, status_code=422)
    store, now = layer.ctx.store(), layer.ctx.clock.now()
    user = None
    if grant_request is None:
        if not await store.decide_request(stored.id, DENIED, None, now):
            return error_page(request, "This authorization request was already answered.", 409)
    else:
        try:
            created = await approve(
                store, layer.ctx.service(), stored, grant_request, tenant_id=owner.tenant_id, now=now
            )
        except Unavailable:
            # The request is pending again: the same form, to try again once the bus is back.
            view = _view(stored, grant.client.name, asked, template)
            return consent_page(request, view, redirect_uri=grant.redirect_uri, message=UNAVAILABLE, status_code=503)
        if created is None:
            return error_page(request, "This authorization request was already answered.", 409)
        user = GrantUser(
            created.id, created.tenant_id, [granted_details(created, layer.ctx.clock.now())], created.expires_at
        )
    answer = await layer.run(layer.server.create_authorization_response, captured, user, grant)
    return to_response(answer)
