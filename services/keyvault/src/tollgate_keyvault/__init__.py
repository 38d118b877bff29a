"""Tollgate keyvault: provider credentials encrypted at rest (envelope AES-256-GCM), sealed to proxies on request.

Run it with `tollgate-keyvault` (settings from `TOLLGATE_KEYVAULT_*`); build it in code with
`tollgate_keyvault.app.create_app(Settings(...))`.
"""
