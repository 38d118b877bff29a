"""The routes the proxy serves: path, method, the capability a grant needs, the dialect errors come in."""

from __future__ import annotations

from dataclasses import dataclass

from tollgate_contracts import Capability
from tollgate_proxy.domain.dialects import Dialect


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    """Also the path appended to the credential's base URL upstream."""
    capability: Capability | None
    """None: any active grant may call it (model listing)."""
    dialect: Dialect
    """The shape of errors and of usage in responses."""


ROUTES: dict[str, Route] = {
    route.path: route
    for route in (
        Route("POST", "/v1/chat/completions", Capability.CHAT, Dialect.OPENAI),
        Route("POST", "/v1/embeddings", Capability.EMBEDDINGS, Dialect.OPENAI),
        Route("POST", "/v1/messages", Capability.MESSAGES, Dialect.ANTHROPIC),
        Route("GET", "/v1/models", None, Dialect.OPENAI),
    )
}
