"""Credentials out of URLs and messages before they reach a log line, an error body or `/readyz`."""

from __future__ import annotations

import re

# A URL runs to the next whitespace: a password may hold `,` `'` `;` `!` unencoded (RFC 3986 sub-delims), so
# stopping at any of them would leave the rest of the password in the text. Too much goes rather than too little.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://\S+")
# A server list's entries start with a scheme; a comma not followed by one may be inside a password.
_ENTRY_SEPARATOR = re.compile(r",(?=[A-Za-z][A-Za-z0-9+.\-]*://)")
_SCHEME = "://"
# libpq and asyncpg also take a password as a query parameter (`?password=…`, `&sslpassword=…`).
_SECRET_PARAMETER = re.compile(r"(?i)([?&;](?:ssl)?(?:password|passwd|pwd|pass)=)[^&#\s]*")


def redact_url(url: str) -> str:
    """`url` with any user and password replaced by `***` (`nats://***@host:4222`); a comma-separated server list
    is redacted entry by entry. Everything up to the LAST `@` of an entry goes, so a password holding `@`, `/`
    or `:` never leaks in part. A `password` (`sslpassword`, `pwd`…) query parameter's value goes too."""
    entries = _ENTRY_SEPARATOR.split(url) if _SCHEME in url else url.split(",")
    return ",".join(_redact_one(part) for part in entries)


def _redact_one(url: str) -> str:
    url = _SECRET_PARAMETER.sub(r"\1***", url)
    scheme, sep, rest = url.partition(_SCHEME)
    if not sep:
        # No scheme: treat the text before the last `@` as credentials all the same (`user:pass@host`).
        scheme, rest = "", url
    _userinfo, at, host = rest.rpartition("@")
    if not at:
        return url
    return f"{scheme}{sep}***@{host}"


def redact_text(text: str) -> str:
    """`text` with credentials removed from every URL in it (for a driver's or library's error message)."""
    return _URL.sub(lambda match: redact_url(match.group(0)), text)


def clip(value: object, limit: int = 64) -> str:
    """`value` as text fit to echo in a message: at most `limit` characters (then `…`), control characters
    replaced by `?` (so a submitted value can neither flood an error body nor forge a log line)."""
    text = str(value)
    short = text if len(text) <= limit else text[:limit] + "…"
    return "".join(ch if ch.isprintable() else "?" for ch in short)
