"""Tollgate auth: tenants, grants, delegated tokens (EdDSA JWTs), API keys and the JWKS.

Every change is published as full state on JetStream (`grant.state.v1.<id>`, `apikey.state.v1.<hash>`,
`jwks.state.v1.<kid>`) with an audit event on `audit.auth.v1`. Build the app with
`tollgate_auth.app.create_app(settings)`; run it with `tollgate-auth`.
"""
