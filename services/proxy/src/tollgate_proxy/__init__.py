"""Tollgate proxy: the streaming data plane.

OpenAI- and Anthropic-shaped HTTP in, provider HTTP out. Every decision is made
from an in-memory policy cache hydrated from the bus; the provider key is
fetched sealed from keyvault and injected at the last moment; usage is read
from the provider's own fields and published without delaying the answer.
A grant's `rpm` and `tpm` are enforced per replica for now (`domain.ratelimit`):
N replicas let a grant through up to N times its limits, until the windows
are shared through metering's leases.
Build the ASGI app with `tollgate_proxy.app.create_app(settings)`.
"""
