"""Authlib's DEBUG lines quote the tokens it issues: auth keeps them out of the log at every root level."""

from __future__ import annotations

import base64
import logging
import secrets
from pathlib import Path

import pytest

from tollgate_auth.app import create_app
from tollgate_auth.settings import Settings


def test_authlib_debug_lines_are_off_even_when_the_root_logger_is_at_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    kek = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    create_app(
        Settings(
            admin_key=secrets.token_urlsafe(32), signing_kek=kek, database_url=f"sqlite+aiosqlite:///{tmp_path}/a.db"
        )
    )
    # The logger of the line that printed every issued token in the embedded stack's auth.log.
    grant_log = logging.getLogger("authlib.oauth2.rfc6749.grants.authorization_code")
    grant_log.debug("Issue token %r", {"access_token": "eyJ-not-for-the-log"})
    assert not grant_log.isEnabledFor(logging.DEBUG)
    assert "eyJ-not-for-the-log" not in caplog.text
