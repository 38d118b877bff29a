"""Server-rendered pages (Jinja2, autoescaped) and the headers every one of them carries.

The CSP allows no script and no inline style; forms may post to this server only, plus — on the consent page —
the origin of the client's redirect URI: Chromium applies `form-action` to the redirect that follows a form post
too, so approving or denying (a 303 to the app with `code` or `error`) would otherwise be blocked.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from tollgate_auth.domain.consent import ConsentView
from tollgate_auth.web.forms import (
    CAPABILITY_FIELD_PREFIX,
    MODEL_FIELD_PREFIX,
    InvalidChoice,
    format_duration,
    parse_consent_form,
)
from tollgate_auth.web.session import CSRF_FIELD, csrf_token, known_owner, send_new_session_id
from tollgate_contracts import micro_to_usd

__all__ = ["InvalidChoice", "consent_page", "device_page", "form_source", "parse_consent_form", "render"]

STYLESHEET = "/static/tollgate.css"
PERIOD_TEXT = {"total": "in total", "day": "per day", "month": "per month"}
NARROWER_PERIODS = {"day": ("day", "month", "total"), "month": ("month", "total"), "total": ("total",)}
"""For one amount, a budget renewed daily allows most and one for the grant's whole life least: the periods the
owner may choose instead of the one asked."""


@cache
def environment() -> Environment:
    """Built on first use (nothing happens at import); the templates ship inside the package."""
    env = Environment(
        loader=PackageLoader("tollgate_auth.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["usd"] = lambda micro: None if micro is None else micro_to_usd(int(micro)).rstrip("0").rstrip(".")
    env.filters["duration"] = lambda seconds: None if seconds is None else format_duration(int(seconds))
    return env


def form_source(url: str) -> str | None:
    """The CSP source that lets a form's redirect reach `url`: its origin for http(s), its scheme for a native
    app's private-use scheme (RFC 8252 §7.1); None for anything that cannot be written safely into the header."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme in {"http", "https"}:
        host = parts.hostname or ""
        if not host or not all(c.isalnum() or c in ".-:[]" for c in host):
            return None
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}" + (f":{port}" if port is not None else "")
    if scheme and all(c.isalnum() or c in "+-." for c in scheme):
        return f"{scheme}:"
    return None


def security_headers(form_targets: Iterable[str] = ()) -> dict[str, str]:
    sources = " ".join(dict.fromkeys(s for url in form_targets if (s := form_source(url)) is not None))
    form_action = f"form-action 'self' {sources}".rstrip()
    csp = (
        f"default-src 'none'; style-src 'self'; img-src 'self'; {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
    }


def render(
    request: Request, template: str, *, status_code: int = 200, form_targets: Iterable[str] = (), **context: object
) -> HTMLResponse:
    """`template` with `context`, the CSRF token (`csrf`, field name `csrf_field`) and the stylesheet URL, and the
    security headers; sets the browser's session cookie when this request created it. `form_targets`: URLs a
    form's post may be redirected to (added to `form-action`)."""
    values: dict[str, Any] = {
        "csrf": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "stylesheet": request.scope.get("root_path", "") + STYLESHEET,
        "owner": known_owner(request),
        "message": None,
        **context,
    }
    html = environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code, headers=security_headers(form_targets))
    send_new_session_id(request, response)
    return response


def _consent_context(view: ConsentView) -> dict[str, object]:
    asked = view.asked
    capabilities = asked.capabilities or ()
    return {
        "view": view,
        "asked": asked,
        "capabilities": [c.value for c in capabilities],
        "period_text": PERIOD_TEXT.get(asked.budget_period.value, asked.budget_period.value),
        "model_fields": [(f"{MODEL_FIELD_PREFIX}{i}", m) for i, m in enumerate(asked.models or ())],
        "capability_fields": [(f"{CAPABILITY_FIELD_PREFIX}{i}", c.value) for i, c in enumerate(capabilities)],
        "periods": [(p, PERIOD_TEXT[p]) for p in NARROWER_PERIODS.get(asked.budget_period.value, ())],
    }


def consent_page(
    request: Request,
    view: ConsentView,
    *,
    redirect_uri: str | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The consent page for `view`. Pass the client's `redirect_uri` (or set `view.redirect_uri`): the approval's
    redirect to it must be allowed by `form-action`. `message`: why the previous answer was not accepted."""
    target = redirect_uri or getattr(view, "redirect_uri", None)
    return render(
        request,
        "consent.html",
        status_code=status_code,
        form_targets=[target] if isinstance(target, str) else [],
        message=message,
        **_consent_context(view),
    )


def device_page(
    request: Request,
    *,
    user_code: str | None,
    view: ConsentView | None,
    message: str | None,
    status_code: int = 200,
) -> HTMLResponse:
    """The device verification page: without a `view`, a form asking for the code the device shows (a GET to this
    page, as `verification_uri_complete` is); with one, the same consent form as `consent_page`."""
    context: dict[str, Any] = {"user_code": user_code, "message": message, "here": request.url.path}
    if view is not None:
        context.update(_consent_context(view))
    return render(request, "device.html", status_code=status_code, **context)
