"""Redaction, clipping, the clock and id fakes, `eventually()`, secret files: pure, no server."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tollgate_servicekit.clock import RandomIds, SystemClock
from tollgate_servicekit.redaction import clip, redact_text, redact_url
from tollgate_servicekit.secretfiles import SecretMissing, ensure_private_dir, resolve_secret
from tollgate_servicekit.testing import FixedClock, SequentialIds, eventually

PASSWORD = "s3cr3t-p@ss/w:rd"


@pytest.mark.parametrize(
    "url",
    [
        f"nats://svc:{PASSWORD}@127.0.0.1:4222",
        f"nats://svc:{PASSWORD}@a:4222,nats://svc:{PASSWORD}@b:4222",
        f"postgresql+asyncpg://tollgate:{PASSWORD}@db:5432/tollgate",
        f"svc:{PASSWORD}@host:4222",
        f"nats://{PASSWORD}@host",
    ],
)
def test_redacted_url_never_shows_the_password_or_a_part_of_it(url: str) -> None:
    redacted = redact_url(url)
    assert "***@" in redacted
    for part in PASSWORD.replace("@", " ").replace("/", " ").replace(":", " ").split():
        assert part not in redacted, redacted


def test_redaction_keeps_what_is_not_secret() -> None:
    assert redact_url("nats://svc:pw@127.0.0.1:4222") == "nats://***@127.0.0.1:4222"
    assert redact_url("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222"
    text = f"cannot connect to nats://svc:{PASSWORD}@10.0.0.1:4222 (refused)"
    assert redact_text(text) == "cannot connect to nats://***@10.0.0.1:4222 (refused)"


# RFC 3986 lets a password hold sub-delims unencoded: `,` and `'` must not end the redaction early.
SUB_DELIMS_PASSWORD = "pa,ss'wo;rd!x"


@pytest.mark.parametrize(
    "text",
    [
        f"cannot connect to postgresql://svc:{SUB_DELIMS_PASSWORD}@db:5432/tollgate (refused)",
        f"servers nats://svc:{SUB_DELIMS_PASSWORD}@a:4222,nats://svc:{SUB_DELIMS_PASSWORD}@b:4222 down",
        f"{{'url': 'nats://svc:{SUB_DELIMS_PASSWORD}@a:4222'}}",
    ],
)
def test_redaction_removes_a_password_holding_commas_and_quotes(text: str) -> None:
    redacted = redact_text(text)
    assert "***@" in redacted
    for part in SUB_DELIMS_PASSWORD.replace(",", " ").replace("'", " ").split():
        assert part not in redacted, redacted
    assert redact_url(f"nats://svc:{SUB_DELIMS_PASSWORD}@a:4222") == "nats://***@a:4222"
    assert redact_url("nats://u:p@a:4222,nats://b:4222") == "nats://***@a:4222,nats://b:4222"


def test_clip_shortens_long_values_and_neutralises_control_characters() -> None:
    assert clip("grt_1") == "grt_1"
    long = "x" * 60_000
    assert clip(long) == "x" * 64 + "…"
    assert len(clip(long, 10)) == 11
    assert clip("a\nfake log line\x1b[31m") == "a?fake log line?[31m"


def test_fixed_clock_and_sequential_ids() -> None:
    clock = FixedClock(datetime(2026, 5, 1, tzinfo=UTC))
    assert clock.now() == datetime(2026, 5, 1, tzinfo=UTC)
    assert clock.advance(1.5) == datetime(2026, 5, 1, tzinfo=UTC) + timedelta(seconds=1.5)
    with pytest.raises(ValueError, match="aware"):
        FixedClock(datetime(2026, 5, 1))  # noqa: DTZ001 - the naive datetime is what is refused
    ids = SequentialIds()
    first, second = ids.new_id("grt"), ids.new_id("grt")
    assert first < second and first.startswith("grt_") and len(first) == len(RandomIds().new_id("grt"))
    assert ids.new_secret() != ids.new_secret()


def test_system_clock_is_aware_utc_and_random_ids_are_prefixed() -> None:
    assert SystemClock().now().tzinfo is UTC
    ids = RandomIds()
    assert ids.new_id("req").startswith("req_")
    assert len(ids.new_secret()) >= 43


async def test_eventually_accepts_sync_and_async_predicates_and_returns_the_value() -> None:
    calls = 0

    def sync_check() -> int:
        nonlocal calls
        calls += 1
        return calls if calls >= 3 else 0

    assert await eventually(sync_check, interval=0) == 3

    async def async_check() -> str:
        await asyncio.sleep(0)
        return "yes"

    assert await eventually(async_check) == "yes"


async def test_eventually_says_what_it_waited_for() -> None:
    with pytest.raises(AssertionError, match=r"waiting for the grant to appear; last value \[\]"):
        await eventually(list, timeout=0.05, what="the grant to appear")


async def test_eventually_treats_ignored_errors_as_not_yet() -> None:
    attempts = 0

    def flaky() -> bool:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ConnectionError("still starting")
        return True

    assert await eventually(flaky, ignore=(ConnectionError,), interval=0)
    with pytest.raises(AssertionError, match="last error ConnectionError: nope"):
        await eventually(lambda: (_ for _ in ()).throw(ConnectionError("nope")), ignore=(ConnectionError,), timeout=0)
    with pytest.raises(ZeroDivisionError):
        await eventually(lambda: 1 / 0, ignore=(ConnectionError,))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secret_from_value_wins_and_is_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = resolve_secret("  the-admin-key-0123456789  ", tmp_path / "key", generate=lambda: "unused")
    assert secret.get_secret_value() == "the-admin-key-0123456789"
    assert not (tmp_path / "key").exists()
    assert "the-admin-key" not in caplog.text


def test_secret_is_generated_into_a_new_0600_file_in_0700_directories(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    path = tmp_path / "state" / "deeper" / "admin.key"
    secret = resolve_secret(None, path, generate=lambda: "tga_generated-secret-value", name="admin key")
    assert secret.get_secret_value() == "tga_generated-secret-value"
    assert path.read_text() == "tga_generated-secret-value\n"
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700 and _mode(path.parent.parent) == 0o700
    assert "tga_generated" not in caplog.text
    # The next start reads the same file rather than generating again.
    again = resolve_secret(None, path, generate=lambda: "tga_another-one-entirely")
    assert again.get_secret_value() == "tga_generated-secret-value"


def test_secret_file_readable_by_others_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "admin.key"
    path.write_text("tga_from-an-open-file-1234\n")
    path.chmod(0o644)
    assert resolve_secret(None, path).get_secret_value() == "tga_from-an-open-file-1234"
    assert "readable by group or others" in caplog.text
    assert "tga_from" not in caplog.text


def test_missing_or_empty_secret_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SecretMissing, match=r"no admin key configured \(.*missing.key does not exist\)"):
        resolve_secret(None, tmp_path / "missing.key", name="admin key")
    with pytest.raises(SecretMissing, match="TOLLGATE_X_KEY is empty"):
        resolve_secret("   ", None, name="TOLLGATE_X_KEY")
    (tmp_path / "empty.key").write_text("\n")
    with pytest.raises(SecretMissing, match="empty"):
        resolve_secret(None, tmp_path / "empty.key")


def test_generated_secret_without_a_file_is_kept_in_memory_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    assert resolve_secret(None, None, generate=lambda: "x" * 20).get_secret_value() == "x" * 20
    assert "stored nowhere" in caplog.text


def test_private_dir_leaves_existing_directories_alone(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    ensure_private_dir(tmp_path / "a" / "b")
    assert _mode(tmp_path) == 0o755
    assert _mode(tmp_path / "a") == 0o700


def test_a_secret_file_never_shows_empty_to_a_process_starting_at_the_same_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two processes start together: the second looks while the first is still writing its generated secret.
    path = tmp_path / "state" / "admin.key"
    seen: list[str] = []
    looked: list[bool] = []
    real_fdopen = os.fdopen

    def second_process_looks(fd: int, *args: Any, **kwargs: Any) -> Any:
        if not looked:  # the first process has opened its file and not yet written to it
            looked.append(True)
            seen.append(resolve_secret(None, path, generate=lambda: "tga_second-process-secret").get_secret_value())
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", second_process_looks)
    first = resolve_secret(None, path, generate=lambda: "tga_first-process-secret").get_secret_value()
    assert seen == [first]  # both use one secret, and neither saw an empty file
    assert path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["admin.key"]  # no temporary file left behind


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+asyncpg://tollgate@db:5432/tollgate?password=s3cret&sslmode=require",
            "postgresql+asyncpg://***@db:5432/tollgate?password=***&sslmode=require",
        ),
        ("postgresql://db/tollgate?user=t&PASSWORD=s3cret", "postgresql://db/tollgate?user=t&PASSWORD=***"),
        ("postgresql://db/tollgate?sslpassword=s3cret", "postgresql://db/tollgate?sslpassword=***"),
    ],
)
def test_a_password_in_a_urls_query_is_redacted_too(url: str, shown: str) -> None:
    # libpq and asyncpg take `?password=` as well as the user-info; SQLAlchemy URLs pass it through.
    assert redact_url(url) == shown
    assert redact_text(f"cannot connect to {url} (refused)") == f"cannot connect to {shown} (refused)"
