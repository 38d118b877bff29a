"""Auth as an OAuth 2.0 authorization server, on Authlib's server components.

Authlib's grants and endpoints for the standard parts (RFC 6749 authorization code, RFC 7636 PKCE, RFC 7591
registration, RFC 8414 metadata, RFC 9068 JWT access tokens, RFC 9207 `iss`); our own code only where Authlib
has none, written as Authlib extensions: RFC 8707 resource indicators (`grants.ResourceIndicator`), RFC 9126
pushed requests (`par`), RFC 9396 `authorization_details` (parsed by the domain, returned by `CodeGrant`).

The sync/async bridge (`bridge.Bridge`). Authlib's server is synchronous: it calls `query_client`,
`save_authorization_code`, `query_authorization_code`… and expects answers at once, while auth's storage
(SQLModel on aiosqlite/asyncpg) and the bus are async. We run each Authlib entry point in a worker thread
(`anyio.to_thread.run_sync`) and its hooks hand their coroutines back to the event loop with
`asyncio.run_coroutine_threadsafe(...).result()`, blocking only that worker thread. Chosen over "prefetch what
Authlib will ask for, apply its writes afterwards" because:
- Authlib decides what to read as it goes (the client, then the code for that client, then the grant behind
  the code); prefetching would re-implement its control flow outside it and drift from it on upgrades;
- single use must be decided by the database at the moment Authlib asks (a code is *taken* by a conditional
  UPDATE in `query_authorization_code`), not read early and written late, or two concurrent exchanges of one
  code could both pass;
- every hook stays an ordinary call into the same async store and service the rest of auth uses (one engine,
  one outbox, PubAck before answering), with no second, synchronous database driver.
The cost is one thread per in-flight OAuth request (anyio's pool, 40 by default) and a bounded wait per hook
(`bridge.HOOK_TIMEOUT_SECONDS`). Everything async that is not a hook (reading the body, the session, the consent
decision, creating the grant) happens on the loop before or after the thread runs.
"""
