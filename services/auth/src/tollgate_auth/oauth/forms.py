"""OpenAPI descriptions of the form-encoded OAuth requests (the routes read the form themselves, for Authlib)."""

from __future__ import annotations

from typing import Any


def form_body(required: list[str], optional: list[str]) -> dict[str, Any]:
    """`openapi_extra` for a route taking `application/x-www-form-urlencoded` fields (all strings)."""
    properties = {name: {"type": "string"} for name in required + optional}
    schema = {"type": "object", "properties": properties, "required": required}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


CLIENT = ["client_id", "client_secret"]
TOKEN_FORM = form_body(
    ["grant_type"],
    ["code", "redirect_uri", "code_verifier", "refresh_token", "device_code", "resource", "scope", *CLIENT],
)
PAR_FORM = form_body(
    ["response_type", "client_id", "redirect_uri", "code_challenge", "code_challenge_method"],
    ["state", "scope", "authorization_details", "resource", "client_secret"],
)
TOKEN_ONLY_FORM = form_body(["token"], ["token_type_hint", *CLIENT])
DEVICE_FORM = form_body(["client_id"], ["scope", "authorization_details", "client_secret"])
CONSENT_FORM = form_body(
    ["csrf", "request_id", "decision"], ["provider", "models", "budget_usd", "max_requests", "expires_in"]
)
REGISTER_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "RFC 7591 client metadata.",
                    "properties": {
                        "client_name": {"type": "string"},
                        "redirect_uris": {"type": "array", "items": {"type": "string"}},
                        "grant_types": {"type": "array", "items": {"type": "string"}},
                        "token_endpoint_auth_method": {
                            "type": "string",
                            "enum": ["none", "client_secret_basic", "client_secret_post"],
                        },
                    },
                }
            }
        },
    }
}
