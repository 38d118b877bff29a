"""`/signin`, `/signout` and the stylesheet; `install_web(app)` adds them and the 403 page for a CSRF-less post."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from tollgate_auth.accounts import SignInThrottled
from tollgate_auth.runtime import Runtime
from tollgate_auth.web.pages import STYLESHEET, render
from tollgate_auth.web.session import (
    SIGNIN_PATH,
    CsrfRejected,
    check_csrf,
    cookie_name,
    current_owner,
    end_session,
    local_path,
    start_session,
)

router = APIRouter(tags=["pages"], include_in_schema=False)

WRONG = "Wrong email or password."
"""One message for an unknown email and a wrong password alike."""
MAX_FIELD = 2048


@cache
def stylesheet() -> bytes:
    return files("tollgate_auth.web").joinpath("static/tollgate.css").read_bytes()


@router.get(STYLESHEET)
async def css() -> Response:
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return Response(stylesheet(), media_type="text/css", headers=headers)


def _form_text(form: object, name: str) -> str:
    value = form.get(name) if hasattr(form, "get") else None
    return value[:MAX_FIELD] if isinstance(value, str) else ""


@router.get(SIGNIN_PATH)
async def signin_page(request: Request, next: str | None = None) -> Response:
    owner = await current_owner(request)
    target = local_path(next)
    if owner is not None and target is not None:
        # Already signed in (another tab did it): straight on.
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    return render(request, "signin.html", owner=owner, next=target, email=None)


@router.post(SIGNIN_PATH)
async def signin(request: Request) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    check_csrf(request, fields)
    target = local_path(fields.get("next"))
    email, password = _form_text(fields, "email"), _form_text(fields, "password")
    runtime: Runtime = request.app.state.runtime
    accounts = runtime.service.accounts
    try:
        user = await accounts.authenticate(email, password) if email and password else None
    except SignInThrottled as exc:
        minutes = -(-exc.retry_after // 60)
        message = f"Too many failed sign-ins for this email. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        page = render(request, "signin.html", status_code=429, next=target, email=email, message=message)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    if user is None:
        return render(request, "signin.html", status_code=401, next=target, email=email, message=WRONG)
    previous = request.cookies.get(cookie_name(request))
    if previous:
        # Whatever session this browser had ends: signing in always starts a fresh id.
        await accounts.close_session(previous)
    response = RedirectResponse(target or SIGNIN_PATH, status_code=303)
    start_session(request, response, await accounts.open_session(user))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, {k: v for k, v in form.items() if isinstance(v, str)})
    current = request.cookies.get(cookie_name(request))
    if current:
        runtime: Runtime = request.app.state.runtime
        await runtime.service.accounts.close_session(current)
    response = RedirectResponse(SIGNIN_PATH, status_code=303)
    end_session(request, response)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    detail = "This form has expired or did not come from this site. Go back, reload the page and try again."
    return render(request, "error.html", status_code=403, title="Form refused", detail=detail)


def install_web(app: FastAPI) -> None:
    """The pages' routes, and the 403 page for a form post without this session's CSRF token."""
    app.include_router(router)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
