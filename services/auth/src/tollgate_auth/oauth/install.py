"""`install_oauth(app, runtime)`: the OAuth layer's state and routes on auth's FastAPI app."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from tollgate_auth.adapters.oauth_devices import SqlDeviceStore
from tollgate_auth.oauth import authorize, device_pages, par, routes
from tollgate_auth.oauth.bridge import Bridge
from tollgate_auth.oauth.context import OAuthContext
from tollgate_auth.oauth.documents import MetadataDocuments
from tollgate_auth.oauth.layer import OAuthLayer
from tollgate_auth.runtime import Runtime

AUTHLIB_LOG_LEVEL = logging.INFO
"""Authlib logs only at DEBUG, and those lines quote issued access and refresh tokens and client metadata: they
stay off whatever the root level is (no secret in any log line, DEBUG included)."""


def install_oauth(app: FastAPI, runtime: Runtime) -> OAuthLayer:
    logging.getLogger("authlib").setLevel(AUTHLIB_LOG_LEVEL)
    ctx = OAuthContext(
        settings=runtime.settings,
        bridge=Bridge(),
        clock=runtime.clock,
        ids=runtime.ids,
        store=lambda: runtime.oauth_store,
        service=lambda: runtime.service,
        admin_key=lambda: runtime.admin_key,
        devices=lambda: SqlDeviceStore(runtime.oauth_store.database),
        documents=MetadataDocuments(runtime.clock, loopback=runtime.settings.client_metadata_loopback),
        budgets=lambda: runtime.budgets,
    )
    layer = OAuthLayer(ctx)
    app.state.oauth = layer
    app.include_router(routes.router)
    app.include_router(authorize.router)
    app.include_router(par.router)
    app.include_router(device_pages.router)
    return layer
