"""`--expires-in` and `--ttl` values."""

from __future__ import annotations

import pytest

from tollgate_cli.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 2_592_000), ("12h", 43_200), ("15m", 900), ("90s", 90), ("90", 90), (" 2H ", 7200)],
)
def test_durations_with_each_unit_are_seconds(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "d", "1w", "1.5h", "-3m", "15 m", "0s", "1d2h"])
def test_anything_else_is_refused_saying_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"30d|positive"):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [(86_400, "1d"), (900, "15m"), (7200, "2h"), (90, "90s"), (61, "61s")])
def test_durations_are_shown_in_the_largest_whole_unit(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds
